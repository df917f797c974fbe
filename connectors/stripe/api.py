"""The Stripe HTTP exchange, through the official SDK.

The SDK does what it is good at: authentication, the pinned ``Stripe-Version``,
idempotency keys on POST, retries with backoff that honour
``Stripe-Should-Retry`` (and 409/5xx), and mapping error bodies to its typed
exceptions.  List pages are then parsed as plain JSON with orjson: building
the SDK's typed ``StripeObject``s costs ~45x more CPU than the HTTP exchange
itself, which would cap extraction far below Stripe's rate limit.

Every HTTP attempt, SDK retries included, takes a token from the shared
:class:`RequestBudget` and is counted.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import stripe
from tenacity import (retry, retry_if_exception, stop_after_attempt,
                      wait_exponential_jitter)

from .budget import RequestBudget

# The API version this product speaks: the one stripe 16.1.0 pins.  Objects in
# the warehouse and the field names in warehouse/stripe_rows.py follow it.
STRIPE_API_VERSION = "2026-10-28.endive"

LIVE_RATE_LIMIT = 100.0  # requests/s per account, live mode
TEST_RATE_LIMIT = 25.0   # requests/s per account, test mode and sandboxes


def default_rate_limit(api_key: str) -> float:
    return LIVE_RATE_LIMIT if "_live_" in api_key else TEST_RATE_LIMIT


@dataclass
class Counters:
    requests: int = 0      # HTTP attempts, retries included
    retried: int = 0       # attempts answered with 429/409/5xx or a dropped connection

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def count(self, retried: bool) -> None:
        with self._lock:
            self.requests += 1
            self.retried += retried


class _BudgetedHttpClient(stripe.RequestsClient):
    """The SDK's own requests-based client, drawing every attempt from the budget."""

    def __init__(self, budget: RequestBudget, counters: Counters, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._budget, self._counters = budget, counters

    def request(self, method, url, headers, post_data=None):  # noqa: ANN001, ANN201 - SDK API
        self._budget.acquire()
        try:
            content, status, rheaders = super().request(method, url, headers, post_data)
        except stripe.APIConnectionError:
            self._counters.count(retried=True)
            raise
        self._counters.count(retried=status in (409, 429) or status >= 500)
        return content, status, rheaders


def _transient(exc: BaseException) -> bool:
    """Worth another try after the SDK's own retries gave up."""
    if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError)):
        return True
    return isinstance(exc, stripe.APIError) and (exc.http_status or 500) >= 500


class StripeApi:
    """GET pages as plain JSON; POST through the same SDK machinery."""

    def __init__(self, api_key: str, api_base: str | None = None, *,
                 rate_limit: float | None = None, utilization: float = 0.95,
                 max_network_retries: int = 4, timeout: float = 80,
                 outer_attempts: int = 6) -> None:
        if not api_key:
            raise ValueError("STRIPE_API_KEY is not set")
        limit = rate_limit or default_rate_limit(api_key)
        self.budget = RequestBudget(limit * utilization)
        self.counters = Counters()
        self._http = _BudgetedHttpClient(self.budget, self.counters, timeout)
        self.client = stripe.StripeClient(
            api_key, stripe_version=STRIPE_API_VERSION, http_client=self._http,
            max_network_retries=max_network_retries,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None)
        self._get = retry(retry=retry_if_exception(_transient),
                          wait=wait_exponential_jitter(multiplier=1, max=20),
                          stop=stop_after_attempt(outer_attempts), reraise=True)(self._get_once)

    def _get_once(self, path: str, params: dict[str, Any] | None) -> dict[str, Any]:
        requestor = self.client._requestor  # the SDK's exchange, minus typed objects
        body, code, headers = requestor.request_raw(
            "get", path, params=params or {}, options={}, base_address="api", api_mode="V1",
            usage=["stripe_erp_extract"])
        if not 200 <= code < 300:
            requestor._interpret_response(body, code, headers, "V1")  # raises the typed error
        return orjson.loads(body)

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """``GET path`` and return the decoded JSON (retrying transient failures)."""
        return self._get(path, params)

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every page of a list endpoint, 100 objects a page, following ``starting_after``."""
        params = {"limit": 100, **(params or {})}
        while True:
            page = self.get(path, params)
            yield page
            if not page.get("has_more") or not page["data"]:
                return
            params["starting_after"] = page["data"][-1]["id"]

    @property
    def requests(self) -> int:
        return self.counters.requests
