"""Stripe's side of the month-end close read from the warehouse (warehouse/close_reads.py), on
SQLite and PostgreSQL, with Stripe-shaped objects landed through the mirror's own path."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from domain.close import CutoffTransaction, PayoutInTransit
from warehouse.close_reads import (cutoff_transactions, open_dead_letters, payouts_in_transit,
                                   stripe_balance, stripe_open_invoices)
from warehouse.db import make_engine
from warehouse.migrate import upgrade
from warehouse.schema import erp_dead_letters
from warehouse.stripe_sync import land_objects

END = int(datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp())   # November's end (UTC)
NY_END = END + 5 * 3600                                              # New York's


def bt(txn: str, created: int, net: int, currency: str = "usd", kind: str = "charge") -> dict:
    return {"id": txn, "object": "balance_transaction", "created": created, "livemode": False,
            "amount": net, "fee": 0, "net": net, "currency": currency, "type": kind,
            "reporting_category": kind, "status": "available", "available_on": created,
            "source": None, "exchange_rate": None}


def payout(po: str, created: int, arrival: int, amount: int, failure: str | None = None) -> dict:
    return {"id": po, "object": "payout", "created": created, "livemode": False,
            "amount": amount, "currency": "usd", "arrival_date": arrival, "automatic": True,
            "status": "failed" if failure else "in_transit", "method": "standard",
            "balance_transaction": f"txn_{po}", "failure_balance_transaction": failure,
            "failure_code": "account_closed" if failure else None,
            "reconciliation_status": "not_applicable"}


def invoice(inv: str, total: int, finalized: int | None, currency: str = "usd",
            **transitions: int) -> dict:
    status = ("draft" if finalized is None else "void" if "voided_at" in transitions
              else "paid" if "paid_at" in transitions else "open")
    return {"id": inv, "object": "invoice", "created": (finalized or END) - 10, "livemode": False,
            "currency": currency, "status": status, "total": total, "subtotal": total,
            "customer": "cus_1", "lines": {"object": "list", "data": [], "has_more": False},
            "status_transitions": {"finalized_at": finalized, "paid_at": None,
                                   "voided_at": None, "marked_uncollectible_at": None,
                                   **transitions}}


@pytest.fixture
def engine(warehouse_url: str) -> sa.Engine:
    eng = make_engine(warehouse_url)
    upgrade(eng)
    land_objects(eng, "balance_transactions", [
        bt("txn_1", END - 86_400, 1_000), bt("txn_2", END - 1, 500),
        bt("txn_3", END, 70), bt("txn_4", NY_END, 9), bt("txn_5", END - 10, -300, "eur"),
        bt("txn_f3", END - 60, 200, kind="payout_failure"),
        bt("txn_f4", END + 60, 250, kind="payout_failure")], version=1)
    land_objects(eng, "payouts", [
        payout("po_1", END - 3_600, END + 86_400, 400),              # in transit
        payout("po_2", END - 3 * 86_400, END - 86_400, 600),         # arrived
        payout("po_3", END - 7_200, END + 86_400, 200, "txn_f3"),    # failed before the end
        payout("po_4", END - 7_200, END + 86_400, 250, "txn_f4"),    # failed after it
        payout("po_5", END + 60, END + 2 * 86_400, 700)], version=1)  # sent after it
    land_objects(eng, "invoices", [
        invoice("in_1", 1_000, END - 100), invoice("in_2", 2_000, END - 100, paid_at=END - 50),
        invoice("in_3", 4_000, END - 100, paid_at=END + 50), invoice("in_4", 8_000, END + 10),
        invoice("in_5", 16_000, None), invoice("in_6", 32_000, END - 100, voided_at=END - 1),
        invoice("in_7", 250, END - 100, "eur")], version=1)
    now = datetime.now(timezone.utc)
    with eng.begin() as conn:
        conn.execute(erp_dead_letters.insert(), [
            {"erp": erp, "kind": "payment", "external_id": ext, "source_day": day,
             "error_type": "ErpValidationError", "error_message": f"customer not found ({ext})",
             "payload": {}, "first_failed_at": now, "last_failed_at": now,
             "resolved_at": resolved}
            for erp, ext, day, resolved in [
                ("tims", "ch_in", date(2026, 11, 30), None),
                ("tims", "ch_later", date(2026, 12, 1), None),
                ("tims", "ch_resolved", date(2026, 11, 2), now),
                ("infor", "ch_other_erp", date(2026, 11, 2), None)]])
    return eng


def test_stripe_side_of_the_close_at_the_month_end(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert stripe_balance(conn, END) == {"USD": 1_000 + 500 + 200, "EUR": -300}
        assert stripe_balance(conn, NY_END) == {"USD": 1_700 + 70 + 250, "EUR": -300}
        assert payouts_in_transit(conn, END) == [
            PayoutInTransit("po_1", "USD", 400, date(2026, 12, 2)),
            PayoutInTransit("po_4", "USD", 250, date(2026, 12, 2))]
        assert stripe_open_invoices(conn, END) == {"USD": 1_000 + 4_000, "EUR": 250}
        assert [d.external_id for d in open_dead_letters(conn, "tims", date(2026, 11, 30))] == [
            "ch_in"]
        assert "customer not found (ch_in)" in open_dead_letters(
            conn, "tims", date(2026, 11, 30))[0].message


def test_posting_day_cut_off_between_utc_and_the_reporting_timezone(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        west = cutoff_transactions(conn, NY_END, END)       # Stripe's month ends later
        east = cutoff_transactions(conn, END - 3_600, END)  # Berlin: an hour earlier
        assert cutoff_transactions(conn, END, END) == []
    assert west == [CutoffTransaction("txn_3", "USD", 70, in_erp=False),
                    CutoffTransaction("txn_f4", "USD", 250, in_erp=False)]
    assert east == [CutoffTransaction("txn_f3", "USD", 200, in_erp=True),   # by created
                    CutoffTransaction("txn_5", "EUR", -300, in_erp=True),
                    CutoffTransaction("txn_2", "USD", 500, in_erp=True)]
