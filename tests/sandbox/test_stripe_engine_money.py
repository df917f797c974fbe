"""Engine-level money rules of the Stripe sandbox (no HTTP): card payments and
their BTs, validation errors, captures, refunds, disputes, payouts and the
balance.  Shapes, billing, events and lifecycle: ``test_stripe_engine.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.stripe import Engine
from sandbox.stripe.clock import DAY, midnight
from tests.sandbox.engine_support import T0, bt, charge_of, error, load, new_engine, pay


@pytest.fixture
def engine() -> Engine:
    return new_engine()


# --------------------------------------------------------------------------- payments & money


def test_card_payment_creates_pending_charge_bt_with_fee(engine: Engine) -> None:
    pi = pay(engine, 1000)
    ch = charge_of(engine, pi)
    txn = bt(engine, ch["balance_transaction"])
    assert pi["status"] == "succeeded" and pi["amount_received"] == 1000
    assert ch["paid"] and ch["captured"] and ch["payment_method_details"]["card"]["last4"] == "4242"
    assert (txn["type"], txn["reporting_category"], txn["status"]) == (
        "charge",
        "charge",
        "pending",
    )
    assert txn["fee"] == 59 and txn["net"] == 941  # 2.9% + 30c
    assert txn["fee"] == sum(f["amount"] for f in txn["fee_details"])
    assert txn["available_on"] == midnight(T0) + 2 * DAY
    engine.advance_clock(2 * DAY)
    assert bt(engine, ch["balance_transaction"])["status"] == "available"


def test_foreign_currency_settles_in_usd_with_exchange_rate(engine: Engine) -> None:
    ch = charge_of(engine, pay(engine, 5000, "eur"))
    txn = bt(engine, ch["balance_transaction"])
    assert (txn["currency"], txn["amount"], txn["exchange_rate"]) == ("usd", 5425, 1.085)
    assert txn["fee"] == 269  # 5425 * 4.4% = 238.7 -> 239, + 30 (half-up)
    jpy = bt(engine, charge_of(engine, pay(engine, 1000, "jpy"))["balance_transaction"])
    assert jpy["amount"] == 670 and jpy["exchange_rate"] == 0.0067
    kwd = bt(engine, charge_of(engine, pay(engine, 5120, "kwd"))["balance_transaction"])
    assert kwd["amount"] == 1664


@pytest.mark.parametrize(
    "amount,currency,code",
    [
        ("5125", "kwd", "invalid_charge_amount"),  # three-decimal: last digit must be 0
        ("550", "isk", "invalid_charge_amount_no_decimal_compatible"),
        ("12345", "ugx", "invalid_charge_amount_no_decimal_compatible"),
        ("10", "usd", "amount_too_small"),
        ("20", "jpy", "amount_too_small"),  # zero-decimal: 20 JPY < $0.50
        ("abc", "usd", "parameter_invalid_integer"),
    ],
)
def test_amount_validation(engine: Engine, amount: str, currency: str, code: str) -> None:
    err = error(engine.create, "payment_intents", {"amount": amount, "currency": currency})
    assert (err.status, err.code, err.param) == (400, code, "amount")


def test_currency_validation(engine: Engine) -> None:
    assert error(engine.create, "payment_intents", {"amount": "100"}).code == "parameter_missing"
    err = error(engine.create, "payment_intents", {"amount": "100", "currency": "xyz"})
    assert err.param == "currency" and err.message.startswith("Invalid currency: xyz")
    assert pay(engine, 100, "jpy")["status"] == "succeeded"  # 100 JPY is whole yen


def test_declined_card(engine: Engine) -> None:
    err = error(
        engine.create,
        "payment_intents",
        {
            "amount": "1000",
            "currency": "usd",
            "confirm": "true",
            "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
        },
    )
    assert (err.status, err.type, err.code, err.decline_code) == (
        402,
        "card_error",
        "card_declined",
        "insufficient_funds",
    )
    pi = err.extra["payment_intent"]
    assert pi["status"] == "requires_payment_method"
    ch = load(engine.store.get(err.extra["charge"]))
    assert ch["status"] == "failed" and ch["failure_code"] == "card_declined"
    assert ch["balance_transaction"] is None
    assert (
        load(engine.store.get(pi["id"]))["last_payment_error"]["decline_code"]
        == "insufficient_funds"
    )


def test_missing_reference_is_404(engine: Engine) -> None:
    err = error(
        engine.create,
        "payment_intents",
        {"amount": "1000", "currency": "usd", "customer": "cus_nope"},
    )
    assert (err.status, err.code, err.message, err.param) == (
        404,
        "resource_missing",
        "No such customer: 'cus_nope'",
        "customer",
    )
    err = error(engine.update, "customers", "cus_x", {})
    assert err.param == "id" and err.message == "No such customer: 'cus_x'"


def test_partial_capture_reverses_the_uncaptured_part(engine: Engine) -> None:
    pi = pay(engine, 1000, capture_method="manual")
    assert pi["status"] == "requires_capture"
    assert charge_of(engine, pi)["balance_transaction"] is None
    pi = load(engine.action("payment_intents", pi["id"], "capture", {"amount_to_capture": "600"}))
    ch = charge_of(engine, pi)
    assert (ch["amount_captured"], ch["amount_refunded"], ch["refunded"]) == (600, 400, False)
    rows, _ = engine.store.list("refund", filters={"charge": ch["id"]})
    reversal = bt(engine, load(rows[0])["balance_transaction"])
    assert (reversal["reporting_category"], reversal["amount"]) == (
        "partial_capture_reversal",
        -400,
    )


# --------------------------------------------------------------------------- refunds


def test_refunds_partial_repeated_then_full(engine: Engine) -> None:
    ch = charge_of(engine, pay(engine, 1000))
    first = load(engine.create("refunds", {"charge": ch["id"], "amount": "300"}))
    txn = bt(engine, first["balance_transaction"])
    assert (txn["type"], txn["reporting_category"], txn["amount"], txn["fee"]) == (
        "refund",
        "refund",
        -300,
        0,
    )
    err = error(engine.create, "refunds", {"charge": ch["id"], "amount": "800"})
    assert (err.status, err.code, err.param) == (400, "amount_too_large", "amount")
    assert "($7.00)" in err.message
    engine.create("refunds", {"payment_intent": ch["payment_intent"]})  # the remaining 700
    ch = load(engine.store.get(ch["id"]))
    assert (ch["amount_refunded"], ch["refunded"]) == (1000, True)
    err = error(engine.create, "refunds", {"charge": ch["id"]})
    assert (err.code, err.message) == (
        "charge_already_refunded",
        f"Charge {ch['id']} has already been refunded.",
    )


# --------------------------------------------------------------------------- disputes


def test_dispute_withdrawal_then_won_reversal(engine: Engine) -> None:
    ch = charge_of(engine, pay(engine, 2000, pm="pm_card_createDispute"))
    assert ch["disputed"] is True
    rows, _ = engine.store.list("dispute", filters={"charge": ch["id"]})
    dp = load(rows[0])
    [withdrawal] = dp["balance_transactions"]
    assert withdrawal == bt(engine, withdrawal["id"])
    assert (withdrawal["type"], withdrawal["reporting_category"]) == ("adjustment", "dispute")
    assert (withdrawal["amount"], withdrawal["fee"], withdrawal["net"]) == (-2000, 1500, -3500)
    assert withdrawal["fee_details"][0]["description"] == "Dispute fee"
    assert withdrawal["description"] == f"Chargeback withdrawal for {ch['id']}"
    dp = load(
        engine.update(
            "disputes", dp["id"], {"evidence": {"uncategorized_text": "winning_evidence"}}
        )
    )
    assert dp["status"] == "under_review"
    engine.advance_clock(16 * DAY)
    dp = load(engine.store.get(dp["id"]))
    assert dp["status"] == "won"
    reversal = dp["balance_transactions"][1]
    assert (reversal["reporting_category"], reversal["amount"], reversal["fee"]) == (
        "dispute_reversal",
        2000,
        0,
    )
    types = [
        load(r)["type"]
        for r in engine.store.list("event", filters={"type": "charge.dispute.*"}, limit=20)[0]
    ]
    assert types == [
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
        "charge.dispute.updated",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.created",
    ]


def test_dispute_accepted_is_lost_without_reinstatement(engine: Engine) -> None:
    ch = charge_of(engine, pay(engine, 2000, pm="pm_card_createDispute"))
    dp = load(engine.store.list("dispute", filters={"charge": ch["id"]})[0][0])
    dp = load(engine.action("disputes", dp["id"], "close", {}))
    assert dp["status"] == "lost" and len(dp["balance_transactions"]) == 1
    assert error(engine.create, "refunds", {"charge": ch["id"]}).code == "charge_disputed"


# --------------------------------------------------------------------------- payouts & balance


def payout_bts(e: Engine, po: str) -> list[dict[str, Any]]:
    rows, has_more = e.store.list("balance_transaction", filters={"payout": po}, limit=100)
    assert not has_more
    return [load(r) for r in rows]


def test_daily_payout_sweeps_available_bts(engine: Engine) -> None:
    charges = [charge_of(engine, pay(engine, amount)) for amount in (1000, 2500, 9900)]
    engine.create("refunds", {"charge": charges[0]["id"], "amount": "500"})
    summary = engine.advance_clock(2 * DAY)
    assert summary["jobs"]["daily"] == 2 and summary["jobs"]["sweep"] == 2
    [po] = [load(r) for r in engine.store.list("payout")[0]]
    bts = payout_bts(engine, po["id"])
    assert po["automatic"] and po["reconciliation_status"] == "in_progress"
    assert sum(b["net"] for b in bts) == 0
    assert po["amount"] == 941 + 2397 + 9583 - 500
    assert {b["type"] for b in bts} == {"charge", "refund", "payout"}
    own = bt(engine, po["balance_transaction"])
    assert (own["amount"], own["description"], own["source"]) == (
        -po["amount"],
        "STRIPE PAYOUT",
        po["id"],
    )
    assert load(engine.balance())["available"][0]["amount"] == 0
    engine.advance_clock(2 * DAY)
    po = load(engine.store.get(po["id"]))
    assert (po["status"], po["reconciliation_status"]) == ("paid", "completed")
    types = {
        load(r)["type"]
        for r in engine.store.list("event", filters={"type": "payout.*"}, limit=50)[0]
    }
    assert types == {
        "payout.created",
        "payout.updated",
        "payout.paid",
        "payout.reconciliation_completed",
    }


def test_failed_payout_rolls_into_next_payout(engine: Engine) -> None:
    pay(engine, 10000)
    engine.payout_failure_rate = 1.0  # half fail on arrival, half a day after showing paid
    engine.advance_clock(midnight(T0) + 5 * DAY + 3600 - T0)  # past either failure time
    [first] = [load(r) for r in engine.store.list("payout")[0]]
    engine.payout_failure_rate = 0.0
    engine.advance_clock(3 * DAY)
    first = load(engine.store.get(first["id"]))
    assert first["status"] == "failed" and first["failure_code"]
    failure = bt(engine, first["failure_balance_transaction"])
    assert (failure["type"], failure["reporting_category"], failure["amount"]) == (
        "payout_failure",
        "payout_reversal",
        first["amount"],
    )
    assert failure["description"] == "REFUND FOR PAYOUT (STRIPE PAYOUT)"
    later = [load(r) for r in engine.store.list("payout")[0] if load(r)["id"] != first["id"]]
    carrying = [
        po for po in later if failure["id"] in {b["id"] for b in payout_bts(engine, po["id"])}
    ]
    assert len(carrying) == 1
    assert sum(b["net"] for b in payout_bts(engine, carrying[0]["id"])) == 0


def test_manual_payout_is_netted_not_paid_twice(engine: Engine) -> None:
    pay(engine, 10000)
    err = error(engine.create, "payouts", {"amount": "100", "currency": "usd"})
    assert err.code == "balance_insufficient"  # funds still pending
    engine.advance_clock(midnight(T0) + 2 * DAY + 600 - T0)  # available, before the payout run
    available = load(engine.balance())["available"][0]["amount"]
    manual = load(engine.create("payouts", {"amount": "4000", "currency": "usd"}))
    assert manual["reconciliation_status"] == "not_applicable" and not manual["automatic"]
    engine.advance_clock(2 * 3600)
    auto = [load(r) for r in engine.store.list("payout")[0] if load(r)["automatic"]]
    assert [po["amount"] for po in auto] == [available - 4000]
    assert load(engine.balance())["available"][0]["amount"] == 0
    assert payout_bts(engine, manual["id"]) == []


def test_balance_equals_sum_of_bts(engine: Engine) -> None:
    for amount in (1000, 3000, 7000):
        pay(engine, amount)
    engine.advance_clock(DAY)
    pay(engine, 500, "eur")
    bal = load(engine.balance())
    nets = engine.store.query(
        "SELECT status, SUM(net) FROM objects WHERE object='balance_transaction' GROUP BY status"
    )
    assert {s: n for s, n in nets} == {"pending": bal["pending"][0]["amount"]}
    assert bal["available"][0]["amount"] == 0
