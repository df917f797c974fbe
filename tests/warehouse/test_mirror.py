"""Upserts into the mirror: idempotent, never older over newer, nothing half-written."""
from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from warehouse.db import make_engine
from warehouse.migrate import upgrade
from warehouse.stripe_rows import BadStripeObject
from warehouse.stripe_sync import land_objects


def charge(cid: str, amount_refunded: int = 0, **extra) -> dict:
    return {"id": cid, "object": "charge", "created": 1767225600, "livemode": False,
            "amount": 2500, "amount_captured": 2500, "amount_refunded": amount_refunded,
            "currency": "usd", "customer": "cus_1", "payment_intent": "pi_1",
            "balance_transaction": {"id": "txn_1", "object": "balance_transaction"},
            "status": "succeeded", "paid": True, "captured": True,
            "refunded": amount_refunded == 2500, "disputed": False,
            "payment_method_details": {"type": "card", "card": {"brand": "visa"}},
            "metadata": {}, **extra}


@pytest.fixture
def engine(warehouse_url: str) -> sa.Engine:
    eng = make_engine(warehouse_url)
    upgrade(eng)
    return eng


def rows(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT id, amount_refunded, balance_transaction_id, payment_method_type, _version, "
            "_hash FROM stripe_charges ORDER BY id"))]


def test_insert_then_identical_copy_changes_nothing(engine: sa.Engine) -> None:
    counts = land_objects(engine, "charges", [charge("ch_1"), charge("ch_2")], version=100)
    assert counts["stripe_charges"].inserted == 2
    before = rows(engine)
    assert before[0][2] == "txn_1" and before[0][3] == "card"  # expanded ref -> id
    counts = land_objects(engine, "charges", [charge("ch_1"), charge("ch_2")], version=200)
    assert counts["stripe_charges"].as_dict() == {"inserted": 0, "updated": 0, "unchanged": 2,
                                                  "stale": 0}
    assert rows(engine) == before  # not even the version moved


def test_newer_copy_wins_and_older_copy_never_overwrites(engine: sa.Engine) -> None:
    land_objects(engine, "charges", [charge("ch_1")], version=100)
    counts = land_objects(engine, "charges", [charge("ch_1", amount_refunded=500)], version=300)
    assert counts["stripe_charges"].updated == 1
    counts = land_objects(engine, "charges", [charge("ch_1", amount_refunded=0)], version=200)
    assert counts["stripe_charges"].stale == 1
    [(cid, refunded, *_rest, version, _h)] = rows(engine)
    assert (cid, refunded, version) == ("ch_1", 500, 300)


def test_same_id_twice_in_one_batch_keeps_the_newest(engine: sa.Engine) -> None:
    objs = [charge("ch_1", amount_refunded=100), charge("ch_1", amount_refunded=700)]
    land_objects(engine, "charges", objs, version=100)
    assert rows(engine)[0][1] == 700


def test_bad_object_names_object_and_field_and_writes_nothing(engine: sa.Engine) -> None:
    bad = charge("ch_bad")
    del bad["amount"]
    with pytest.raises(BadStripeObject, match=r"charge ch_bad: field 'amount' is missing"):
        land_objects(engine, "charges", [charge("ch_ok"), bad], version=100)
    assert rows(engine) == []
    wrong = charge("ch_str", amount="25.00")
    with pytest.raises(BadStripeObject, match=r"ch_str: field 'amount' must be an integer"):
        land_objects(engine, "charges", [wrong], version=100)


def test_raw_json_is_queryable_and_round_trips(engine: sa.Engine) -> None:
    obj = charge("ch_1", metadata={"sku": "SKU-1"})
    land_objects(engine, "charges", [copy.deepcopy(obj)], version=1)
    with engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT raw FROM stripe_charges")).scalar()
    raw = raw if isinstance(raw, dict) else __import__("orjson").loads(raw)
    assert raw == obj


def test_invoice_lines_and_subscription_items_land_with_their_parent(engine: sa.Engine) -> None:
    inv = {"id": "in_1", "object": "invoice", "created": 1767225600, "livemode": False,
           "customer": "cus_1", "currency": "eur", "total": 3000, "subtotal": 3000,
           "amount_due": 3000, "amount_paid": 3000, "amount_remaining": 0, "status": "paid",
           "number": "A-1", "period_start": 1767225600, "period_end": 1769904000,
           "parent": {"type": "subscription_details",
                      "subscription_details": {"subscription": "sub_1"}},
           "lines": {"object": "list", "has_more": False, "data": [
               {"id": f"il_{i}", "object": "line_item", "amount": 1000, "currency": "eur",
                "quantity": 1, "period": {"start": 1767225600, "end": 1769904000},
                "pricing": {"type": "price_details", "price_details": {"price": "price_1"}},
                "parent": {"subscription_item_details": {"subscription": "sub_1"}}}
               for i in range(3)]}}
    counts = land_objects(engine, "invoices", [inv], version=1)
    assert counts["stripe_invoices"].inserted == 1
    assert counts["stripe_invoice_lines"].inserted == 3
    with engine.connect() as conn:
        got = conn.execute(sa.text("SELECT invoice_id, price_id, subscription_id, amount "
                                   "FROM stripe_invoice_lines ORDER BY id")).all()
        sub = conn.execute(sa.text("SELECT subscription_id FROM stripe_invoices")).scalar()
    assert [tuple(r) for r in got] == [("in_1", "price_1", "sub_1", 1000)] * 3
    assert sub == "sub_1"
