"""Engine-level behaviour of the Stripe sandbox (no HTTP).

Each test builds a private in-memory engine with a fixed clock, drives it
through the same entry points the HTTP layer uses and asserts Stripe's
rules: shapes, billing, events, retention and lifecycle.  Money rules
(payments, refunds, disputes, payouts): ``test_stripe_engine_money.py``.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from sandbox.stripe import Engine, Store
from sandbox.stripe.clock import DAY, midnight
from sandbox.stripe.render import API_VERSION, OMITTED
from tests.sandbox.engine_support import T0, customer, error, load, new_engine, pay


@pytest.fixture
def engine() -> Engine:
    return new_engine()


# --------------------------------------------------------------------------- shapes

SDK_MODELS = {
    "customer": ("_customer", "Customer"),
    "product": ("_product", "Product"),
    "price": ("_price", "Price"),
    "payment_intent": ("_payment_intent", "PaymentIntent"),
    "charge": ("_charge", "Charge"),
    "refund": ("_refund", "Refund"),
    "dispute": ("_dispute", "Dispute"),
    "payout": ("_payout", "Payout"),
    "balance_transaction": ("_balance_transaction", "BalanceTransaction"),
    "subscription": ("_subscription", "Subscription"),
    "subscription_item": ("_subscription_item", "SubscriptionItem"),
    "invoice": ("_invoice", "Invoice"),
    "line_item": ("_invoice_line_item", "InvoiceLineItem"),
    "invoice_payment": ("_invoice_payment", "InvoicePayment"),
    "event": ("_event", "Event"),
    "webhook_endpoint": ("_webhook_endpoint", "WebhookEndpoint"),
    "balance": ("_balance", "Balance"),
}


def sdk_fields(object: str) -> set[str]:
    module, cls = SDK_MODELS[object]
    model = getattr(importlib.import_module(f"stripe.{module}"), cls)
    return set(model.__annotations__) - {"OBJECT_NAME"} - OMITTED.get(object, frozenset())


def test_rendered_key_sets_match_sdk_models(engine: Engine) -> None:
    e = engine
    e.create("webhook_endpoints", {"url": "https://example.com/hook", "enabled_events": ["*"]})
    cus = customer(e)
    prod = load(e.create("products", {"name": "Gold", "metadata": {"sku": "G-1"}}))
    price = load(
        e.create(
            "prices",
            {
                "product": prod["id"],
                "currency": "usd",
                "unit_amount": "2000",
                "recurring": {"interval": "month"},
            },
        )
    )
    e.create("subscriptions", {"customer": cus["id"], "items": [{"price": price["id"]}]})
    pi = pay(e, 5000, pm="pm_card_createDispute")
    e.create("refunds", {"charge": pay(e, 1000)["latest_charge"], "amount": "100"})
    e.advance_clock(midnight(T0) + 2 * DAY + 600 - T0)  # funds available, before the payout run
    e.create("payouts", {"amount": "100", "currency": "usd"})
    e.advance_clock(DAY)
    assert pi["status"] == "succeeded"
    seen = set()
    for object in SDK_MODELS:
        if object == "balance":
            rows = [e.balance()]
        else:
            rows, _ = e.store.list(object, limit=100)
        assert rows, f"no {object} rendered"
        for row in rows:
            assert set(load(row)) == sdk_fields(object), object
        seen.add(object)
    assert seen == set(SDK_MODELS)


# --------------------------------------------------------------------------- billing


def test_subscription_renewal_invoices_cover_service_periods(engine: Engine) -> None:
    cus = customer(engine)
    prod = load(engine.create("products", {"name": "Pro"}))
    price = load(
        engine.create(
            "prices",
            {
                "product": prod["id"],
                "currency": "eur",
                "unit_amount": "2900",
                "recurring": {"interval": "month"},
            },
        )
    )
    sub = load(
        engine.create(
            "subscriptions",
            {"customer": cus["id"], "items": [{"price": price["id"], "quantity": "2"}]},
        )
    )
    assert sub["status"] == "active"
    item = sub["items"]["data"][0]
    assert (item["current_period_start"], item["current_period_end"]) == (T0, T0 + 31 * DAY)
    engine.advance_clock(31 * DAY + 7200)
    invoices = [
        load(r) for r in engine.store.list("invoice", filters={"subscription": sub["id"]})[0]
    ]
    assert [i["billing_reason"] for i in invoices] == ["subscription_cycle", "subscription_create"]
    cycle = invoices[0]
    assert (cycle["status"], cycle["total"], cycle["amount_paid"]) == ("paid", 5800, 5800)
    line = cycle["lines"]["data"][0]
    assert line["period"] == {"start": T0 + 31 * DAY, "end": T0 + 59 * DAY}  # Feb 1 -> Mar 1
    assert line["pricing"]["price_details"] == {"price": price["id"], "product": prod["id"]}
    assert cycle["parent"]["subscription_details"]["subscription"] == sub["id"]
    [ip] = [
        load(r) for r in engine.store.list("invoice_payment", filters={"invoice": cycle["id"]})[0]
    ]
    pi = load(engine.store.get(ip["payment"]["payment_intent"]))
    assert ip["status"] == "paid" and pi["status"] == "succeeded" and pi["amount"] == 5800
    sub = load(engine.delete("subscriptions", sub["id"]))
    assert sub["status"] == "canceled"
    assert engine.store.list("subscription")[0] == []
    assert len(engine.store.list("subscription", filters={"status": "all"})[0]) == 1


def test_subscription_requires_payment_method(engine: Engine) -> None:
    cus = load(engine.create("customers", {"email": "x@example.com"}))
    prod = load(engine.create("products", {"name": "Pro"}))
    price = load(
        engine.create(
            "prices",
            {
                "product": prod["id"],
                "currency": "usd",
                "unit_amount": "900",
                "recurring": {"interval": "month"},
            },
        )
    )
    err = error(
        engine.create, "subscriptions", {"customer": cus["id"], "items": [{"price": price["id"]}]}
    )
    assert err.status == 400 and "no attached payment source" in err.message


# --------------------------------------------------------------------------- events & lists


def test_events_shape_and_retention(engine: Engine) -> None:
    cus = customer(engine)
    engine.update(
        "customers", cus["id"], {"name": "Joanna"}, request_id="req_123", idempotency_key="key-1"
    )
    rows, _ = engine.store.list("event", filters={"types": ["customer.updated"]})
    [event] = [load(r) for r in rows]
    assert event["api_version"] == API_VERSION
    assert event["data"]["previous_attributes"] == {"name": "Jo"}
    assert event["data"]["object"]["name"] == "Joanna"
    assert event["request"] == {"id": "req_123", "idempotency_key": "key-1"}
    engine.advance_clock(30 * DAY + 1)
    assert engine.store.get(event["id"]) is None
    assert engine.store.list("event", filters={"type": "customer.*"})[0] == []


def test_list_order_and_cursors(engine: Engine) -> None:
    ids = [customer(engine)["id"] for _ in range(5)]
    page, more = engine.store.list("customer", limit=2)
    assert [load(r)["id"] for r in page] == ids[::-1][:2] and more
    page, more = engine.store.list("customer", limit=10, starting_after=ids[3])
    assert [load(r)["id"] for r in page] == ids[:3][::-1] and not more
    page, _ = engine.store.list("customer", limit=2, ending_before=ids[1])
    assert [load(r)["id"] for r in page] == [ids[3], ids[2]]
    err = error(lambda: engine.store.list("customer", starting_after="cus_missing"))
    assert (err.code, err.param) == ("resource_missing", "starting_after")


def test_delete_customer(engine: Engine) -> None:
    cus = customer(engine)
    assert load(engine.delete("customers", cus["id"])) == {
        "id": cus["id"],
        "object": "customer",
        "deleted": True,
    }
    assert engine.store.list("customer")[0] == []
    assert (
        error(
            engine.create,
            "payment_intents",
            {"amount": "100", "currency": "usd", "customer": cus["id"]},
        ).status
        == 404
    )


def test_ground_truth_is_exact(engine: Engine) -> None:
    pis = [pay(engine, amount) for amount in (1000, 2000)]
    engine.create("refunds", {"charge": pis[0]["latest_charge"], "amount": "250"})
    truth = engine.ground_truth()["objects"]
    assert truth["charge"]["count"] == 2 and truth["charge"]["amount"] == 3000
    assert truth["charge"]["amount_refunded"] == 250
    assert truth["refund"] == {"count": 1, "amount": 250, "ids": truth["refund"]["ids"]}
    assert truth["balance_transaction"]["net"] == 941 + 1912 - 250
    assert truth["balance_transaction"]["fee"] == 59 + 88
    assert engine.ground_truth(created_gte=T0 + 10)["objects"]["charge"]["count"] == 0


# --------------------------------------------------------------------------- lifecycle


def test_live_ticks_create_activity_and_events(engine: Engine) -> None:
    seen: list[str] = []
    engine.subscribe(lambda data, event: seen.append(event["type"]))
    assert engine.tick_live(40) == 40
    truth = engine.ground_truth()["objects"]
    assert truth["charge"]["count"] > 20 and truth["balance_transaction"]["count"] > 20
    assert "charge.succeeded" in seen and "payment_intent.created" in seen
    assert len(seen) == engine.store.query("SELECT COUNT(*) FROM events")[0][0]


def test_state_survives_reopening_the_store(tmp_path: Any) -> None:
    path = str(tmp_path / "sandbox.db")
    first = Engine(Store(path), seed=3, start_time=T0)
    first.payout_failure_rate = 0.0
    first.create("webhook_endpoints", {"url": "https://example.com/h", "enabled_events": ["*"]})
    pay(first, 5000)
    before = load(first.balance())
    first.store.conn.close()
    again = Engine(Store(path), seed=3)
    again.payout_failure_rate = 0.0
    assert load(again.balance()) == before
    assert [ep[0] for ep in again.webhook_endpoint_secrets()] == [
        ep[0] for ep in first.webhook_endpoint_secrets()
    ]
    again.advance_clock(3 * DAY)
    [po] = [load(r) for r in again.store.list("payout")[0]]
    assert po["amount"] == 5000 - 175  # swept by the restored daily job
    customer(again)
    ids = [id for (id,) in again.store.query("SELECT id FROM objects")]
    assert len(ids) == len(set(ids))  # reseeded id streams do not collide


def test_reopened_store_never_reissues_an_event_id(tmp_path: Any) -> None:
    """Restarts that store only events (updates of existing objects) still draw new ids."""
    path = str(tmp_path / "sandbox.db")
    cus = customer(Engine(Store(path), seed=3, start_time=T0))
    for name in ("Jo A", "Jo B", "Jo C"):  # one restart per update
        engine = Engine(Store(path), seed=3)
        engine.update("customers", cus["id"], {"name": name})
        engine.flush()
        engine.store.conn.close()
    ids = [id for (id,) in Store(path).query("SELECT id FROM events")]
    assert len(ids) == len(set(ids)) and len(ids) > 3
