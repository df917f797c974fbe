"""Extraction from the Stripe sandbox through the SDK: complete, minimal, fault tolerant."""
from __future__ import annotations

import math
from typing import Any

import pytest
import stripe

from connectors.stripe import STRIPE_API_VERSION, TARGETS, Extractor, RequestBudget, StripeApi
from connectors.stripe.extract import Page
from tests.support.truth import recent_window

OBJECT_OF = {"customers": "customer", "charges": "charge", "balance_transactions":
             "balance_transaction", "refunds": "refund", "payouts": "payout",
             "invoices": "invoice", "subscriptions": "subscription", "disputes": "dispute",
             "products": "product", "prices": "price"}


def collect(api: StripeApi, targets: list[str], gte: int, lt: int, **kw: Any) -> dict[str, list]:
    got: dict[str, list] = {t: [] for t in targets}

    def sink(page: Page) -> None:
        got[page.target.name].extend(page.objects)
    Extractor(api, **kw).run([TARGETS[t] for t in targets], gte, lt, sink)
    return got


def test_pinned_api_version_is_the_sdks() -> None:
    assert STRIPE_API_VERSION == stripe.api_version


def test_window_matches_ground_truth_with_minimal_requests(stripe_sb) -> None:
    gte, lt = recent_window(stripe_sb.control("GET", "health")["clock"], days=7)
    truth = stripe_sb.control("GET", "ground_truth", created_gte=gte, created_lt=lt)["objects"]
    api = StripeApi(stripe_sb.api_key, stripe_sb.base_url, rate_limit=1000)
    got = collect(api, list(OBJECT_OF), gte, lt)
    for target, obj in OBJECT_OF.items():
        assert sorted(o["id"] for o in got[target]) == truth[obj]["ids"], target
    # One request per 100 objects (and one for an empty list): nothing else.
    expected = sum(max(1, math.ceil(truth[o]["count"] / 100)) for o in OBJECT_OF.values())
    assert api.requests == expected


def test_split_windows_return_each_object_exactly_once(stripe_sb) -> None:
    gte, lt = recent_window(stripe_sb.control("GET", "health")["clock"], days=20)
    truth = stripe_sb.control("GET", "ground_truth", created_gte=gte, created_lt=lt)["objects"]
    api = StripeApi(stripe_sb.api_key, stripe_sb.base_url, rate_limit=1000)
    extractor = Extractor(api, workers=8, split_min_objects=100)
    got: list[dict] = []
    stats = extractor.run([TARGETS["charges"], TARGETS["balance_transactions"]], gte, lt,
                          lambda page: got.extend(page.objects))
    ids = [o["id"] for o in got]
    assert len(ids) == len(set(ids))
    assert sorted(i for i in ids if i.startswith("ch_")) == truth["charge"]["ids"]
    assert sorted(i for i in ids if i.startswith("txn_")) == truth["balance_transaction"]["ids"]
    assert stats.targets["charges"].windows > 1  # it did split


def test_faults_429_and_5xx_do_not_change_the_result(stripe_sb) -> None:
    gte, lt = recent_window(stripe_sb.control("GET", "health")["clock"], days=7)
    truth = stripe_sb.control("GET", "ground_truth", created_gte=gte, created_lt=lt)["objects"]
    stripe_sb.reset_stats()       # the shared sandbox counts faults other tests injected too
    stripe_sb.fault(kind="429", rate=0.15)
    stripe_sb.fault(kind="503", rate=0.1)
    stripe_sb.fault(kind="429", rate=0.05, should_retry=False)  # bare 429: our own retry
    stripe_sb.fault(kind="drop", count=2)
    api = StripeApi(stripe_sb.api_key, stripe_sb.base_url, rate_limit=1000)
    got = collect(api, ["charges", "balance_transactions", "customers"], gte, lt)
    injected = stripe_sb.stats()["faults_injected"]
    assert injected > 0 and api.counters.retried >= injected
    for target in got:
        assert sorted(o["id"] for o in got[target]) == truth[OBJECT_OF[target]]["ids"]


def test_budget_keeps_the_client_under_the_accounts_limit(stripe_sb) -> None:
    """With the sandbox limiting to 20 req/s, a budget of 95% of it never draws a 429."""
    stripe_sb.configure(rate_limit=20)
    try:
        stripe_sb.reset_stats()
        gte, lt = recent_window(stripe_sb.control("GET", "health")["clock"], days=28)
        api = StripeApi(stripe_sb.api_key, stripe_sb.base_url, rate_limit=20)
        collect(api, ["charges", "balance_transactions", "customers", "refunds"], gte, lt,
                workers=8, split_min_objects=100)
        stats = stripe_sb.stats()
        assert api.requests >= 30
        assert stats["rate_limited"] == 0
    finally:
        stripe_sb.configure(rate_limit=0)


def test_budget_accounts_every_token() -> None:
    budget = RequestBudget(rate=1000, burst=5)
    for _ in range(20):
        budget.acquire()
    assert budget.waited > 0  # beyond the burst it had to wait for refills


class FakeApi:
    """Serves one truncated invoice and its remaining lines, counting calls."""

    def __init__(self, n_lines: int) -> None:
        self.lines = [{"id": f"il_{i:03d}", "object": "line_item"} for i in range(n_lines)]
        self.calls: list[tuple[str, dict]] = []

    def get(self, path: str, params: dict) -> dict:
        self.calls.append((path, dict(params)))
        if path == "/v1/invoices":
            return {"object": "list", "has_more": False, "data": [{
                "id": "in_1", "object": "invoice", "created": 1,
                "lines": {"object": "list", "has_more": True, "data": self.lines[:10]}}]}
        assert path == "/v1/invoices/in_1/lines"
        start = next(i for i, line in enumerate(self.lines)
                     if line["id"] == params["starting_after"]) + 1
        chunk = self.lines[start:start + params["limit"]]
        return {"object": "list", "data": chunk, "has_more": start + len(chunk) < len(self.lines)}


def test_truncated_invoice_lines_are_fetched_completely() -> None:
    fake = FakeApi(n_lines=235)
    got: list[dict] = []
    Extractor(fake).run([TARGETS["invoices"]], 0, 10, lambda p: got.extend(p.objects))
    [invoice] = got
    assert [line["id"] for line in invoice["lines"]["data"]] == [x["id"] for x in fake.lines]
    assert invoice["lines"]["has_more"] is False
    assert len(fake.calls) == 1 + 3  # the list page, then 100 + 100 + 25 lines


@pytest.mark.parametrize("key", ["sk_test_wrongkey1234567890"])
def test_bad_key_error_is_typed_and_masks_the_key(stripe_sb, key: str) -> None:
    api = StripeApi(key, stripe_sb.base_url)
    with pytest.raises(stripe.AuthenticationError) as err:
        api.get("/v1/charges", {"limit": 1})
    assert key not in str(err.value)
