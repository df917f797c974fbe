"""Wire-level behaviour of the Stripe sandbox, checked with a plain HTTP client.

Lists, cursors, filters and expansion; error shapes and headers; auth;
idempotency; rate limiting.  Expected values come from Stripe's documented
behaviour (see the reference README §0, §2, §4), not from the implementation.
"""
from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.sandbox.fixtures import Sandbox

PINNED = "2026-10-28.endive"


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, timeout=30,
                      headers={"Authorization": f"Bearer {sandbox.api_key}"}) as client:
        yield client


def walk(api: httpx.Client, path: str, limit: int, **params) -> list[dict]:
    """Follow ``starting_after`` cursors the way stripe-python does."""
    out: list[dict] = []
    query = {"limit": limit, **params}
    while True:
        page = api.get(path, params=query).json()
        out.extend(page["data"])
        if not page["has_more"] or not page["data"]:
            return out
        query["starting_after"] = page["data"][-1]["id"]


def error(resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    return resp.json()["error"]


# ----------------------------------------------------------------------------- lists


def test_list_envelope_and_headers(api: httpx.Client) -> None:
    resp = api.get("/v1/charges", params={"limit": 3})
    assert resp.status_code == 200
    body = resp.json()
    assert list(body) == ["object", "data", "has_more", "url"]
    assert body["object"] == "list" and body["url"] == "/v1/charges"
    assert len(body["data"]) == 3 and body["has_more"] is True
    assert all(c["object"] == "charge" for c in body["data"])
    assert resp.headers["request-id"].startswith("req_")
    assert resp.headers["stripe-version"] == PINNED
    assert resp.headers["content-type"] == "application/json"


def test_stripe_version_header_is_echoed(api: httpx.Client) -> None:
    resp = api.get("/v1/customers", params={"limit": 1},
                   headers={"Stripe-Version": "2025-03-31.basil"})
    assert resp.headers["stripe-version"] == "2025-03-31.basil"


def test_invalid_stripe_version(api: httpx.Client) -> None:
    err = error(api.get("/v1/customers", headers={"Stripe-Version": "latest"}), 400)
    assert err["message"] == "Invalid Stripe API version: latest"


def test_default_limit_is_ten(api: httpx.Client) -> None:
    assert len(api.get("/v1/balance_transactions").json()["data"]) == 10


@pytest.mark.parametrize("limit,message", [
    ("0", "greater than or equal to 1"), ("101", "less than or equal to 100"),
    ("abc", "Invalid integer: abc")])
def test_limit_bounds(api: httpx.Client, limit: str, message: str) -> None:
    err = error(api.get("/v1/charges", params={"limit": limit}), 400)
    assert err["type"] == "invalid_request_error"
    assert err["param"] == "limit" and message in err["message"]


def test_limit_extremes_accepted(api: httpx.Client) -> None:
    assert len(api.get("/v1/charges", params={"limit": 1}).json()["data"]) == 1
    assert len(api.get("/v1/charges", params={"limit": 100}).json()["data"]) == 100


def test_cursor_walk_is_newest_first_without_gaps(api: httpx.Client) -> None:
    small = walk(api, "/v1/charges", 7, **{"created[gte]": 0})
    big = walk(api, "/v1/charges", 100, **{"created[gte]": 0})
    assert [c["id"] for c in small] == [c["id"] for c in big]
    assert len({c["id"] for c in big}) == len(big) > 100
    created = [c["created"] for c in big]
    assert created == sorted(created, reverse=True)


def test_ending_before_returns_previous_page(api: httpx.Client) -> None:
    first = api.get("/v1/charges", params={"limit": 5}).json()["data"]
    second = api.get("/v1/charges", params={"limit": 5,
                                            "starting_after": first[-1]["id"]}).json()
    back = api.get("/v1/charges", params={"limit": 5,
                                          "ending_before": second["data"][0]["id"]}).json()
    assert [c["id"] for c in back["data"]] == [c["id"] for c in first]
    assert back["has_more"] is False  # nothing newer than the first page


def test_cursors_are_mutually_exclusive(api: httpx.Client) -> None:
    ids = [c["id"] for c in api.get("/v1/charges", params={"limit": 2}).json()["data"]]
    err = error(api.get("/v1/charges", params={"starting_after": ids[0],
                                               "ending_before": ids[1]}), 400)
    assert err["code"] == "parameters_exclusive"


def test_unknown_cursor_is_resource_missing(api: httpx.Client) -> None:
    err = error(api.get("/v1/charges", params={"starting_after": "ch_doesnotexist"}), 400)
    assert err["code"] == "resource_missing" and "ch_doesnotexist" in err["message"]


def test_created_filters(api: httpx.Client) -> None:
    sample = api.get("/v1/charges", params={"limit": 30}).json()["data"]
    pivot = sample[15]["created"]
    exact = walk(api, "/v1/charges", 100, created=pivot)
    assert exact and all(c["created"] == pivot for c in exact)
    after = walk(api, "/v1/charges", 100, **{"created[gt]": pivot})
    assert after and all(c["created"] > pivot for c in after)
    window = walk(api, "/v1/charges", 100,
                  **{"created[gte]": pivot - 86_400, "created[lt]": pivot})
    assert all(pivot - 86_400 <= c["created"] < pivot for c in window)
    everything = {c["id"] for c in walk(api, "/v1/charges", 100)}
    lte = {c["id"] for c in walk(api, "/v1/charges", 100, **{"created[lte]": pivot})}
    assert lte | {c["id"] for c in after} == everything


@pytest.mark.parametrize("params,code", [
    ({"created[between]": "1"}, "parameter_unknown"),
    ({"created[gte]": "yesterday"}, "parameter_invalid_integer"),
    ({"colour": "blue"}, "parameter_unknown"),
])
def test_bad_list_params(api: httpx.Client, params: dict, code: str) -> None:
    assert error(api.get("/v1/charges", params=params), 400)["code"] == code


def test_array_must_start_at_index_zero(api: httpx.Client) -> None:
    err = error(api.get("/v1/charges", params={"expand[1]": "data.customer"}), 400)
    assert err["message"].startswith("Invalid array")


def test_brackets_without_index_are_accepted(api: httpx.Client) -> None:
    resp = api.get("/v1/charges", params={"limit": 1, "expand[]": "data.balance_transaction"})
    assert resp.json()["data"][0]["balance_transaction"]["object"] == "balance_transaction"


def test_equality_filters(api: httpx.Client) -> None:
    charges = api.get("/v1/charges", params={"limit": 50}).json()["data"]
    customer = next(c["customer"] for c in charges if c["customer"])
    mine = walk(api, "/v1/charges", 100, customer=customer)
    assert mine and all(c["customer"] == customer for c in mine)
    pi = next(c["payment_intent"] for c in charges if c["payment_intent"])
    assert [c["payment_intent"] for c in walk(api, "/v1/charges", 100, payment_intent=pi)] == [pi]
    bts = walk(api, "/v1/balance_transactions", 100, type="charge")
    assert bts and all(b["type"] == "charge" for b in bts)


def test_event_type_filters(api: httpx.Client) -> None:
    wildcard = api.get("/v1/events", params={"type": "charge.*", "limit": 100}).json()["data"]
    assert wildcard and all(e["type"].startswith("charge.") for e in wildcard)
    types = {"types[0]": "customer.created", "types[1]": "charge.succeeded", "limit": 100}
    listed = api.get("/v1/events", params=types).json()["data"]
    assert listed and {e["type"] for e in listed} <= {"customer.created", "charge.succeeded"}
    err = error(api.get("/v1/events", params={"type": "x", "types[0]": "y"}), 400)
    assert err["code"] == "parameters_exclusive"


def test_boolean_filter_validation(api: httpx.Client) -> None:
    err = error(api.get("/v1/prices", params={"active": "maybe"}), 400)
    assert err["param"] == "active" and "boolean" in err["message"]
    active = api.get("/v1/prices", params={"active": "true", "limit": 100}).json()["data"]
    assert all(p["active"] is True for p in active)


def test_expand_on_lists_and_nested_paths(api: httpx.Client) -> None:
    params = {"limit": 20, "expand[0]": "data.balance_transaction",
              "expand[1]": "data.payment_intent.customer"}
    charges = api.get("/v1/charges", params=params).json()["data"]
    captured = [c for c in charges if c["balance_transaction"]]
    assert captured and all(c["balance_transaction"]["object"] == "balance_transaction"
                            for c in captured)
    nested = [c for c in charges if c["payment_intent"] and c["payment_intent"]["customer"]]
    assert nested and all(c["payment_intent"]["customer"]["object"] == "customer" for c in nested)


def test_expand_limits_and_unexpandable(api: httpx.Client) -> None:
    too_deep = {"expand[0]": "data.payment_intent.customer.default_source.x"}
    assert "levels" in error(api.get("/v1/charges", params=too_deep), 400)["message"]
    assert "cannot be expanded" in error(
        api.get("/v1/charges", params={"expand[0]": "data.amount"}), 400)["message"]


def test_retrieve_with_expand(api: httpx.Client) -> None:
    charge = api.get("/v1/charges", params={"limit": 1}).json()["data"][0]
    got = api.get(f"/v1/charges/{charge['id']}",
                  params={"expand[0]": "balance_transaction.source"}).json()
    assert got["id"] == charge["id"]
    assert got["balance_transaction"]["source"]["id"] == charge["id"]


def test_legacy_balance_history_path(api: httpx.Client) -> None:
    legacy = api.get("/v1/balance/history", params={"limit": 5}).json()
    modern = api.get("/v1/balance_transactions", params={"limit": 5}).json()
    assert legacy["url"] == "/v1/balance/history"
    assert [b["id"] for b in legacy["data"]] == [b["id"] for b in modern["data"]]
    one = api.get(f"/v1/balance/history/{modern['data'][0]['id']}").json()
    assert one["object"] == "balance_transaction"


def test_balance(api: httpx.Client) -> None:
    balance = api.get("/v1/balance").json()
    assert balance["object"] == "balance" and "available" in balance and "pending" in balance


# ----------------------------------------------------------------------------- errors


def test_missing_object_error_shape(api: httpx.Client) -> None:
    err = error(api.get("/v1/charges/ch_nope"), 404)
    assert err == {"type": "invalid_request_error", "code": "resource_missing",
                   "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
                   "message": "No such charge: 'ch_nope'", "param": "id"}


def test_retrieve_checks_the_object_type(api: httpx.Client) -> None:
    customer = api.get("/v1/customers", params={"limit": 1}).json()["data"][0]
    err = error(api.get(f"/v1/charges/{customer['id']}"), 404)
    assert err["message"] == f"No such charge: '{customer['id']}'"


@pytest.mark.parametrize("method,path", [("GET", "/v1/nope"), ("POST", "/v1/events"),
                                         ("DELETE", "/v1/charges/ch_1"), ("GET", "/v2/x")])
def test_unrecognized_urls(api: httpx.Client, method: str, path: str) -> None:
    err = error(api.request(method, path), 404)
    assert err["type"] == "invalid_request_error"
    assert err["message"].startswith(f"Unrecognized request URL ({method}: {path})")


def test_card_error_is_402(api: httpx.Client) -> None:
    resp = api.post("/v1/payment_intents", data={
        "amount": "1500", "currency": "usd", "confirm": "true",
        "payment_method": "pm_card_chargeDeclined"})
    err = error(resp, 402)
    assert err["type"] == "card_error" and err["code"] == "card_declined"
    assert err["decline_code"] == "generic_decline"


# ----------------------------------------------------------------------------- auth


def test_missing_key(sandbox: Sandbox) -> None:
    err = error(httpx.get(f"{sandbox.base_url}/v1/charges"), 401)
    assert err["message"].startswith("You did not provide an API key.")
    assert set(err) == {"type", "message"}


def test_wrong_key_is_masked(sandbox: Sandbox) -> None:
    bad = "sk_test_" + "x" * 20 + "9876"
    resp = httpx.get(f"{sandbox.base_url}/v1/charges", headers={"Authorization": f"Bearer {bad}"})
    err = error(resp, 401)
    assert err == {"type": "invalid_request_error",
                   "message": "Invalid API Key provided: sk_test_" + "*" * 20 + "9876"}
    assert bad not in resp.text


def test_basic_auth_with_key_as_user(sandbox: Sandbox) -> None:
    token = base64.b64encode(f"{sandbox.api_key}:".encode()).decode()
    resp = httpx.get(f"{sandbox.base_url}/v1/customers",
                     headers={"Authorization": f"Basic {token}"}, params={"limit": 1})
    assert resp.status_code == 200


# ----------------------------------------------------------------------------- idempotency


def test_idempotent_replay(api: httpx.Client) -> None:
    key = str(uuid.uuid4())
    data = {"email": "idem@example.test", "metadata[n]": "1"}
    first = api.post("/v1/customers", data=data, headers={"Idempotency-Key": key})
    again = api.post("/v1/customers", data=data, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200
    assert first.headers["idempotency-key"] == again.headers["idempotency-key"] == key
    assert first.headers["original-request"] == first.headers["request-id"]
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["original-request"] == first.headers["request-id"]
    assert again.headers["request-id"] != first.headers["request-id"]
    assert again.content == first.content


def test_idempotency_key_with_other_params(api: httpx.Client) -> None:
    key = str(uuid.uuid4())
    api.post("/v1/customers", data={"email": "a@example.test"}, headers={"Idempotency-Key": key})
    err = error(api.post("/v1/customers", data={"email": "b@example.test"},
                         headers={"Idempotency-Key": key}), 400)
    assert err["type"] == "idempotency_error"
    assert err["message"] == (
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.")


def test_card_errors_are_replayed(api: httpx.Client) -> None:
    key = str(uuid.uuid4())
    data = {"amount": "700", "currency": "usd", "confirm": "true",
            "payment_method": "pm_card_chargeDeclined"}
    first = api.post("/v1/payment_intents", data=data, headers={"Idempotency-Key": key})
    again = api.post("/v1/payment_intents", data=data, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 402
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content


def test_validation_errors_are_not_stored(api: httpx.Client) -> None:
    key = str(uuid.uuid4())
    bad = api.post("/v1/payment_intents", data={"currency": "usd"},
                   headers={"Idempotency-Key": key})
    assert error(bad, 400)["code"] == "parameter_missing"
    good = api.post("/v1/payment_intents", data={"amount": "900", "currency": "usd"},
                    headers={"Idempotency-Key": key})
    assert good.status_code == 200 and "idempotent-replayed" not in good.headers
    key2 = str(uuid.uuid4())
    assert error(api.post("/v1/customers", data={"preferred_locales[1]": "en"},
                          headers={"Idempotency-Key": key2}), 400)
    assert api.post("/v1/customers", data={"email": "v@example.test"},
                    headers={"Idempotency-Key": key2}).status_code == 200


def test_concurrent_use_of_a_key_is_409(sandbox: Sandbox, api: httpx.Client) -> None:
    # The first request holds the key while it "executes" for 1.5 s (latency fault).
    sandbox.fault(kind="latency", latency_ms=1500, count=1, path_prefix="/v1/customers")
    key = str(uuid.uuid4())
    results: list[httpx.Response] = []
    holder = threading.Thread(target=lambda: results.append(
        api.post("/v1/customers", data={"email": "c@example.test"},
                 headers={"Idempotency-Key": key})))
    baseline = sandbox.stats()["idempotency_keys"]
    holder.start()
    while sandbox.stats()["idempotency_keys"] == baseline:
        pass  # poll state until the holder has reserved the key
    second = api.post("/v1/customers", data={"email": "c@example.test"},
                      headers={"Idempotency-Key": key})
    holder.join()
    err = error(second, 409)
    assert err["code"] == "idempotency_key_in_use" and key in err["message"]
    assert results[0].status_code == 200


# ----------------------------------------------------------------------------- rate limiting


def test_rate_limit_429(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.configure(rate_limit=3)
    responses = [api.get("/v1/customers", params={"limit": 1}) for _ in range(30)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited and responses[0].status_code == 200
    err = limited[0].json()["error"]
    assert err["code"] == "rate_limit" and err["type"] == "invalid_request_error"
    assert err["message"].startswith("Request rate limit exceeded")
    assert limited[0].headers["stripe-rate-limited-reason"] == "global-rate"
    assert limited[0].headers["stripe-should-retry"] == "true"
    assert sandbox.control("GET", "health")["status"] == "ok"  # control API is exempt


def test_rate_limited_posts_store_nothing(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.configure(rate_limit=0.5)  # the bucket starts with half a token: next call is 429
    key = str(uuid.uuid4())
    limited = api.post("/v1/customers", data={"email": "first@example.test"},
                       headers={"Idempotency-Key": key})
    assert error(limited, 429)["code"] == "rate_limit"
    sandbox.configure(rate_limit=0)
    resp = api.post("/v1/customers", data={"email": "other@example.test"},
                    headers={"Idempotency-Key": key})
    assert resp.status_code == 200 and "idempotent-replayed" not in resp.headers
    assert resp.json()["email"] == "other@example.test"


# ----------------------------------------------------------------------------- control API


def test_stats_count_api_requests(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.reset_stats()
    api.get("/v1/customers", params={"limit": 1})
    api.get("/v1/customers", params={"limit": 2})
    api.get("/v1/nope")
    sandbox.control("GET", "health")  # control calls are not counted
    stats = sandbox.stats()
    assert stats["requests"] == 3
    assert stats["by_path"] == {"GET /v1/customers": 2, "GET /v1/nope": 1}
    assert stats["by_status"] == {"200": 2, "404": 1}


def test_export_and_ground_truth(sandbox: Sandbox, api: httpx.Client) -> None:
    resp = httpx.get(f"{sandbox.base_url}/_sandbox/export", params={"object": "payout"})
    assert resp.headers["content-type"].startswith("application/x-ndjson")
    exported = [line for line in resp.text.splitlines() if line]
    listed = walk(api, "/v1/payouts", 100)
    assert len(exported) == len(listed) > 0
    truth = sandbox.control("GET", "ground_truth")
    assert isinstance(truth, dict) and truth


def test_live_rate_creates_activity(sandbox: Sandbox, api: httpx.Client) -> None:
    newest = api.get("/v1/events", params={"limit": 1}).json()["data"][0]["id"]
    sandbox.configure(live_rate=20)
    try:
        while not api.get("/v1/events", params={"ending_before": newest}).json()["data"]:
            pass  # poll state until the live ticker has produced an event
    finally:
        sandbox.configure(live_rate=0)


def test_fault_rate_and_path_prefix(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.fault(kind="503", rate=1.0, path_prefix="/v1/refunds")
    for _ in range(3):
        resp = api.get("/v1/refunds")
        assert error(resp, 503)["type"] == "api_error"
        assert resp.headers["stripe-should-retry"] == "true"
    assert api.get("/v1/charges", params={"limit": 1}).status_code == 200
    assert sandbox.control("GET", "faults")["injected"] >= 3
    sandbox.clear_faults()
    assert api.get("/v1/refunds").status_code == 200


def test_bad_fault_rule_is_rejected(sandbox: Sandbox) -> None:
    resp = httpx.post(f"{sandbox.base_url}/_sandbox/faults", json={"kind": "418", "count": 1})
    assert resp.status_code == 400


def test_drop_closes_the_connection(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.fault(kind="drop", count=1, path_prefix="/v1/customers")
    with pytest.raises(httpx.TransportError):
        api.get("/v1/customers")
    assert api.get("/v1/customers").status_code == 200


def test_reset_regenerates_history(fresh_sandbox: Sandbox) -> None:
    sb = fresh_sandbox
    with httpx.Client(base_url=sb.base_url,
                      headers={"Authorization": f"Bearer {sb.api_key}"}) as api:
        before = [c["id"] for c in walk(api, "/v1/customers", 100)]
        mine = api.post("/v1/customers", data={"email": "gone@example.test"}).json()
        assert sb.control("POST", "reset")["status"] == "ok"
        assert error(api.get(f"/v1/customers/{mine['id']}"), 404)["code"] == "resource_missing"
        assert [c["id"] for c in walk(api, "/v1/customers", 100)] == before
        sb.control("POST", "reset", {"regenerate": False})
        assert api.get("/v1/customers").json()["data"] == []
