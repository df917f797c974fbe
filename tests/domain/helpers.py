"""Small builders for the revenue tests: dates in, minor units out."""
from __future__ import annotations

from datetime import date, datetime, timezone

from domain.revenue.adjustments import Adjustment
from domain.revenue.ledger import RevenueLedger, build_ledger
from domain.revenue.schedules import InvoiceLine, Method


def utc(y: int, m: int, d: int, hour: int = 0) -> datetime:
    return datetime(y, m, d, hour, tzinfo=timezone.utc)


def line(line_id: str, amount: int, start, end, booked=None, currency: str = "usd",
         key: str = "prod_plan", invoice: str | None = None) -> InvoiceLine:
    return InvoiceLine(line_id, invoice or f"in_{line_id}", currency, amount, start, end,
                       booked if booked is not None else start, key)


def ledger(lines, adjustments=(), method: Method = Method.DAY) -> RevenueLedger:
    built = build_ledger(lines, adjustments, method)
    assert built.problems == []
    return built


def months(built: RevenueLedger, line_id: str, by_kind: bool = False) -> dict:
    return built.line(line_id).monthly(by_kind=by_kind)


__all__ = ["Adjustment", "Method", "date", "ledger", "line", "months", "utc"]
