"""Stripe's side of a month-end close, read from the warehouse's mirror.

* Stripe's balance at an instant, per currency: the sum of ``net`` of the balance
  transactions created before it (available plus pending; Stripe's balance moves only
  through balance transactions), one grouped query.
* The balance transactions between two instants (the posting-day cut-off when the
  reporting timezone is not UTC).
* The payouts in transit at the end of the ERP's last posting day: sent (created) before
  it, arriving at or after it, not failed before it.
* Stripe's open invoices at the instant, from each invoice's ``status_transitions``.
* The open dead letters dated up to the month end: documents the ERP lacks.

All amounts are integer minor units; currencies upper case.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa

from domain.close import CutoffTransaction, PayoutInTransit

from .schema import (erp_dead_letters, stripe_balance_transactions, stripe_invoices,
                     stripe_payouts)

BT = stripe_balance_transactions


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def _utc_day(value: datetime) -> date:
    return (value if value.tzinfo is None else value.astimezone(timezone.utc)).date()


def stripe_balance(conn: sa.Connection, before: int) -> dict[str, int]:
    """currency -> Stripe's balance just before the instant ``before`` (epoch seconds)."""
    rows = conn.execute(sa.select(BT.c.currency, sa.func.sum(BT.c.net))
                        .where(BT.c.created < _at(before)).group_by(BT.c.currency))
    out: dict[str, int] = {}
    for currency, total in rows:
        key = currency.upper()
        out[key] = out.get(key, 0) + int(total or 0)
    return out


def cutoff_transactions(conn: sa.Connection, stripe_before: int, erp_before: int
                        ) -> list[CutoffTransaction]:
    """Balance transactions created between the two instants: in the ERP's period and not
    in Stripe's balance when ``erp_before`` is later, the reverse when it is earlier."""
    lo, hi = sorted((stripe_before, erp_before))
    if lo == hi:
        return []
    rows = conn.execute(sa.select(BT.c.id, BT.c.currency, BT.c.net)
                        .where(BT.c.created >= _at(lo), BT.c.created < _at(hi))
                        .order_by(BT.c.created, BT.c.id))
    in_erp = erp_before > stripe_before
    return [CutoffTransaction(r.id, r.currency.upper(), int(r.net), in_erp) for r in rows]


def payouts_in_transit(conn: sa.Connection, at: int) -> list[PayoutInTransit]:
    """Payouts created before the instant ``at`` (Stripe had taken them off the balance)
    arriving at or after it, not failed before it."""
    po = stripe_payouts
    failure = BT.alias("failure")
    rows = conn.execute(
        sa.select(po.c.id, po.c.currency, po.c.amount, po.c.arrival_date,
                  failure.c.created.label("failed_at"))
        .outerjoin(failure, failure.c.id == po.c.failure_balance_transaction_id)
        .where(po.c.balance_transaction_id.is_not(None), po.c.created < _at(at),
               po.c.arrival_date >= _at(at))
        .order_by(po.c.arrival_date, po.c.id))
    out = []
    for r in rows:
        if r.failed_at is not None and _naive(r.failed_at) < _naive(_at(at)):
            continue
        out.append(PayoutInTransit(r.id, r.currency.upper(), int(r.amount),
                                   _utc_day(r.arrival_date)))
    return out


def _naive(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def stripe_open_invoices(conn: sa.Connection, before: int) -> dict[str, int]:
    """currency -> total of the invoices finalized before ``before`` and, at that instant,
    neither paid, voided nor marked uncollectible."""
    out: dict[str, int] = {}
    rows = conn.execute(sa.select(stripe_invoices.c.raw)
                        .where(stripe_invoices.c.created < _at(before),
                               stripe_invoices.c.status != "draft"))
    for (raw,) in rows:
        st: dict[str, Any] = raw.get("status_transitions") or {}
        finalized = st.get("finalized_at")
        if finalized is None or finalized >= before:
            continue
        if any(st.get(k) is not None and st[k] < before
               for k in ("paid_at", "voided_at", "marked_uncollectible_at")):
            continue
        key = raw["currency"].upper()
        out[key] = out.get(key, 0) + int(raw["total"])
    return out


@dataclass(frozen=True)
class OpenDeadLetter:
    kind: str
    external_id: str
    source_day: date | None
    message: str


def open_dead_letters(conn: sa.Connection, erp: str, up_to: date) -> list[OpenDeadLetter]:
    """Unresolved dead letters for ``erp`` whose Stripe source is dated on or before
    ``up_to``: what the ERP's ledger lacks for the period."""
    dl = erp_dead_letters
    rows = conn.execute(sa.select(dl.c.kind, dl.c.external_id, dl.c.source_day,
                                  dl.c.error_message)
                        .where(dl.c.erp == erp, dl.c.resolved_at.is_(None),
                               sa.or_(dl.c.source_day.is_(None), dl.c.source_day <= up_to))
                        .order_by(dl.c.source_day, dl.c.kind, dl.c.external_id))
    return [OpenDeadLetter(r.kind, r.external_id, r.source_day, r.error_message) for r in rows]
