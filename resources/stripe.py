"""The Stripe resource: API key and base URL from the environment, never logged.

``STRIPE_API_BASE`` unset means real Stripe (``https://api.stripe.com``); the
sandbox's env file sets it to the local server.  ``STRIPE_RATE_LIMIT`` is the
account's limit in requests per second (default: 100 for live keys, 25 for
test keys); extraction stays at 95% of it.
"""
from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from connectors.stripe import StripeApi
from warehouse.event_retry import RetryPolicy


class StripeResource(ConfigurableResource):
    """The product's Stripe account (key and settings from environment variables)."""

    api_key: str = Field(description="Secret or restricted key (STRIPE_API_KEY).")
    api_base: str = Field(default="", description="API base URL; empty means real Stripe.")
    rate_limit: int = Field(default=0, ge=0,
                              description="Account limit, requests/s; 0 picks 100 live, 25 test.")
    rate_utilization: float = Field(default=0.95, gt=0, le=1,
                                    description="Share of the limit extraction may use.")
    extract_workers: int = Field(default=16, ge=1, description="Concurrent list requests.")
    split_min_objects: int = Field(default=10_000, ge=100,
                                   description="Objects a window must hold before it is split.")
    max_network_retries: int = Field(default=4, ge=0)
    event_max_attempts: int = Field(
        default=5, ge=1, description="Tries of an event whose object Stripe refuses (404) before "
                                     "it is marked failed (STRIPE_EVENT_MAX_ATTEMPTS).")
    event_retry_seconds: int = Field(
        default=60, ge=0, description="First retry delay of such an event, doubled per attempt "
                                      "up to an hour; also the wait after a 5xx "
                                      "(STRIPE_EVENT_RETRY_SECONDS).")

    _api: StripeApi | None = PrivateAttr(default=None)

    def api(self) -> StripeApi:
        """One client per run: every thread and retry shares its request budget."""
        if self._api is None:
            self._api = StripeApi(self.api_key, self.api_base or None,
                                  rate_limit=self.rate_limit or None,
                                  utilization=self.rate_utilization,
                                  max_network_retries=self.max_network_retries)
        return self._api

    def event_retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.event_max_attempts,
                           base_seconds=self.event_retry_seconds)

    def __repr__(self) -> str:  # never show the key, even by accident
        return f"StripeResource(api_base={self.api_base or 'https://api.stripe.com'!r})"
