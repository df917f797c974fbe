"""Accounting invariants over a generated 90-day history (small scale).

The generated history must satisfy what a reconciliation pipeline relies on:
payouts itemise to zero, nothing is paid out twice, failed payouts are paid
out again, fees add up, the balance matches the ledger, events respect the
30-day retention, and a seed reproduces the same data.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest

from sandbox.stripe import Engine, Store
from sandbox.stripe.generator import generate
from sandbox.stripe.store import EVENT_RETENTION

END = 1_767_261_600 + 45 * 86_400  # 2026-02-15 10:00 UTC
SCALE = 0.1


def build(seed: int = 3) -> Engine:
    e = Engine(Store(), seed=seed, start_time=END)
    generate(e, history_days=90, scale=SCALE, seed=seed, end=END)
    return e


@pytest.fixture(scope="module")
def engine() -> Engine:
    return build()


def objects(e: Engine, object: str) -> list[dict[str, Any]]:
    return [orjson.loads(row) for row in e.export(object)]


def payout_links(e: Engine) -> dict[str, str]:
    return dict(e.store.query("SELECT bt, payout FROM bt_payout"))


def test_history_has_every_kind_of_activity(engine: Engine) -> None:
    counts = {
        k: len(objects(engine, k))
        for k in ("charge", "refund", "dispute", "payout", "invoice", "subscription")
    }
    assert all(counts.values()), counts
    bts = objects(engine, "balance_transaction")
    assert 2500 < len(bts) < 3600  # ≈ 333 per day at scale 1
    statuses = Counter(d["status"] for d in objects(engine, "dispute"))
    assert {"won", "lost"} <= set(statuses) and statuses.keys() & {"needs_response", "under_review"}
    assert any(p["status"] == "failed" for p in objects(engine, "payout"))
    assert {c["currency"] for c in objects(engine, "charge")} >= {"usd", "eur", "gbp", "jpy", "kwd"}
    assert any(c["status"] == "failed" for c in objects(engine, "charge"))
    refunds = Counter(r["charge"] for r in objects(engine, "refund"))
    assert max(refunds.values()) >= 2  # partial refunds followed by the rest


def test_every_automatic_payout_itemises_to_zero(engine: Engine) -> None:
    bts = {b["id"]: b for b in objects(engine, "balance_transaction")}
    by_payout: dict[str, list[dict[str, Any]]] = {}
    for bt_id, po in payout_links(engine).items():
        by_payout.setdefault(po, []).append(bts[bt_id])
    payouts = [p for p in objects(engine, "payout") if p["automatic"]]
    assert payouts and set(by_payout) == {p["id"] for p in payouts}
    for po in payouts:
        items = by_payout[po["id"]]
        assert sum(b["net"] for b in items) == 0
        assert po["balance_transaction"] in {b["id"] for b in items}
        assert all(b["status"] == "available" and b["available_on"] <= po["created"] for b in items)
        listed, has_more = engine.store.list(
            "balance_transaction", filters={"payout": po["id"]}, limit=100
        )
        assert not has_more and {orjson.loads(r)["id"] for r in listed} == {b["id"] for b in items}


def test_no_bt_in_two_payouts_and_balance_matches_ledger(engine: Engine) -> None:
    links = engine.store.query("SELECT bt, COUNT(*) FROM bt_payout GROUP BY bt HAVING COUNT(*) > 1")
    assert links == []
    linked = payout_links(engine)
    bts = objects(engine, "balance_transaction")
    unpaid = [b for b in bts if b["id"] not in linked]
    balance = orjson.loads(engine.balance())
    total = balance["available"][0]["amount"] + balance["pending"][0]["amount"]
    assert total == sum(b["net"] for b in unpaid)
    assert balance["pending"][0]["amount"] == sum(b["net"] for b in bts if b["status"] == "pending")
    assert all(b["status"] == "pending" for b in bts if b["available_on"] > END)


def test_available_balance_is_the_available_nets_not_paid_out(engine: Engine) -> None:
    linked = payout_links(engine)
    bts = objects(engine, "balance_transaction")
    balance = orjson.loads(engine.balance())
    waiting = [b for b in bts if b["status"] == "available" and b["id"] not in linked]
    assert balance["available"][0]["amount"] == sum(b["net"] for b in waiting)
    assert all(b["status"] == "available" for b in bts if b["id"] in linked)
    # Σ over automatic payouts of what they paid equals Σ net of everything they swept.
    paid = sum(p["amount"] for p in objects(engine, "payout") if p["automatic"])
    assert paid == sum(b["net"] for b in bts if b["id"] in linked and b["type"] != "payout")


def test_failed_payout_funds_are_paid_out_later(engine: Engine) -> None:
    linked = payout_links(engine)
    payouts = {p["id"]: p for p in objects(engine, "payout")}
    failed = [p for p in payouts.values() if p["status"] == "failed"]
    assert failed
    for po in failed:
        failure = orjson.loads(engine.store.get(po["failure_balance_transaction"]) or b"{}")
        assert (failure["type"], failure["reporting_category"], failure["amount"]) == (
            "payout_failure",
            "payout_reversal",
            po["amount"],
        )
        later = linked.get(failure["id"])
        if later is None:  # failed after today's payout run: still waiting in the balance
            assert failure["created"] > END - 86_400
        else:
            assert payouts[later]["created"] > po["created"]


def test_charge_fees_and_nets(engine: Engine) -> None:
    bts = {b["id"]: b for b in objects(engine, "balance_transaction")}
    for bt in bts.values():
        assert bt["net"] == bt["amount"] - bt["fee"]
        assert bt["fee"] == sum(f["amount"] for f in bt["fee_details"])
    for ch in objects(engine, "charge"):
        if ch["status"] != "succeeded":
            assert ch["balance_transaction"] is None
            continue
        bt = bts[ch["balance_transaction"]]
        assert (bt["type"], bt["source"]) == ("charge", ch["id"])
        assert (bt["exchange_rate"] is None) == (ch["currency"] == "usd")
        if ch["currency"] == "usd":
            assert bt["amount"] == ch["amount"]


def test_refund_totals_match_charges(engine: Engine) -> None:
    refunded = Counter()
    for r in objects(engine, "refund"):
        refunded[r["charge"]] += r["amount"]
    for ch in objects(engine, "charge"):
        assert ch["amount_refunded"] == refunded.get(ch["id"], 0)
        assert ch["refunded"] == (ch["amount_refunded"] == ch["amount"])


def test_events_only_within_retention(engine: Engine) -> None:
    rows = engine.store.query("SELECT MIN(created), MAX(created), COUNT(*) FROM events")
    first, last, count = rows[0]
    assert count > 0 and first >= END - EVENT_RETENTION and last <= END
    page, _ = engine.store.list("event", limit=100)
    assert all(orjson.loads(r)["created"] >= END - EVENT_RETENTION for r in page)


def test_invoices_link_payments(engine: Engine) -> None:
    payments = {p["invoice"]: p for p in objects(engine, "invoice_payment")}
    for inv in objects(engine, "invoice"):
        assert inv["total"] == sum(line["amount"] for line in inv["lines"]["data"])
        if inv["status"] == "paid":
            pi = orjson.loads(
                engine.store.get(payments[inv["id"]]["payment"]["payment_intent"]) or b"{}"
            )
            assert pi["status"] == "succeeded" and pi["amount"] == inv["amount_paid"]


def test_generator_is_deterministic(engine: Engine) -> None:
    again = build()
    for object in ("charge", "balance_transaction", "payout", "invoice", "event"):
        assert list(again.export(object)) == list(engine.export(object)), object
    other = Engine(Store(), seed=4, start_time=END)
    generate(other, history_days=10, scale=SCALE, seed=4, end=END)
    assert list(other.export("charge"))[:5] != list(engine.export("charge"))[:5]


def test_bulk_generation_equals_replay_through_the_live_path() -> None:
    """Bulk mode's shortcuts (BT status rendered as of now, pre-retention events
    skipped, batched writes) leave exactly the state the live path produces."""
    days, seed = 40, 11
    bulk = Engine(Store(), seed=seed, start_time=END)
    generate(bulk, history_days=days, scale=0.05, seed=seed, end=END)
    live = Engine(Store(), seed=seed, start_time=END)
    generate(live, history_days=days, scale=0.05, seed=seed, end=END, bulk=False)
    for object in (
        "customer",
        "product",
        "price",
        "payment_intent",
        "charge",
        "refund",
        "dispute",
        "payout",
        "balance_transaction",
        "subscription",
        "subscription_item",
        "invoice",
        "line_item",
        "invoice_payment",
    ):
        assert list(bulk.export(object)) == list(live.export(object)), object
    assert bulk.balance() == live.balance()
    assert bulk.unswept == live.unswept

    def visible(e: Engine) -> list[tuple[Any, ...]]:
        events = (orjson.loads(r) for r in e.export("event"))
        return [
            (ev["created"], ev["type"], ev["data"])
            for ev in events
            if ev["created"] >= END - EVENT_RETENTION
        ]

    assert visible(bulk) == visible(live)
    assert len(list(live.export("event"))) > len(list(bulk.export("event")))


def test_file_store_bulk_load_matches_in_memory(tmp_path: Any) -> None:
    """The writer-process path (file databases) stores exactly what the
    synchronous in-memory path stores."""
    memory = Engine(Store(), seed=8, start_time=END)
    generate(memory, history_days=20, scale=0.05, seed=8, end=END)
    on_disk = Engine(Store(str(tmp_path / "bulk.db")), seed=8, start_time=END)
    generate(on_disk, history_days=20, scale=0.05, seed=8, end=END)
    for object in ("charge", "balance_transaction", "payout", "invoice", "customer", "event"):
        assert list(on_disk.export(object)) == list(memory.export(object)), object
    assert on_disk.store.query(
        "SELECT bt, payout FROM bt_payout ORDER BY bt"
    ) == memory.store.query("SELECT bt, payout FROM bt_payout ORDER BY bt")
