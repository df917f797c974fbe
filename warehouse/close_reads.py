"""Stripe's side of a month-end close, read from the warehouse's mirror.

* Stripe's balance at an instant, per currency: the sum of ``net`` of the balance
  transactions created before it (available plus pending; Stripe's balance moves only
  through balance transactions), one grouped query.
* The balance transactions between two instants (the posting-day cut-off when the
  reporting timezone is not UTC).
* The payouts in transit at the end of the ERP's last posting day: sent (created) before
  it, arriving at or after it, not failed before it.
* Stripe's open invoices at the instant, from each invoice's ``status_transitions``.
* Stripe's sales tax collected less refunded at the instant, per currency: the tax share
  (``domain.tax``) of every charge settled before it that paid a taxed invoice, less the
  shares of its refunds (plus failed refunds), whatever currency Stripe settled them in,
  plus the ``tax`` reporting category's amounts.
* The open dead letters dated up to the month end: documents the ERP lacks.

All amounts are integer minor units; currencies upper case.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa

from domain.close import CutoffTransaction, PayoutInTransit
from domain.tax import invoice_tax, paid_by, tax_share

from .schema import (erp_dead_letters, stripe_balance_transactions, stripe_charges,
                     stripe_invoices, stripe_payouts, stripe_refunds)

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


def stripe_tax_collected(conn: sa.Connection, before: int) -> dict[str, int]:
    """currency -> the sales tax Stripe collected less refunded before ``before`` (a
    liability: positive), as the posting rules book it."""
    taxed: dict[str, dict[str, Any]] = {}          # paying charge or intent -> invoice
    for (raw,) in conn.execute(sa.select(stripe_invoices.c.raw)
                               .where(stripe_invoices.c.created < _at(before))):
        if invoice_tax(raw):
            for _, value in paid_by(raw):
                taxed[value] = raw
    out: dict[str, int] = {}

    def add(currency: str, amount: int) -> None:
        if amount:
            out[currency.upper()] = out.get(currency.upper(), 0) + amount
    ch = stripe_charges
    ids = sorted(taxed)
    charges: dict[str, tuple[dict[str, Any], int]] = {}    # charge id -> (invoice, amount)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for cid, pi, amount in conn.execute(
                sa.select(ch.c.id, ch.c.payment_intent_id, ch.c.amount)
                .where(sa.or_(ch.c.id.in_(chunk), ch.c.payment_intent_id.in_(chunk)))):
            charges[cid] = (taxed.get(cid) or taxed[pi], int(amount))
    cids = sorted(charges)
    for i in range(0, len(cids), 500):
        chunk = cids[i:i + 500]
        for (source,) in conn.execute(           # the charge settled before the instant
                sa.select(BT.c.source_id).where(BT.c.source_id.in_(chunk),
                                                BT.c.type.in_(("charge", "payment")),
                                                BT.c.created < _at(before))):
            invoice, amount = charges[source]
            add(invoice["currency"], tax_share(amount, invoice))
        rf = stripe_refunds
        for charge, amount, category in conn.execute(
                sa.select(rf.c.charge_id, rf.c.amount, BT.c.reporting_category)
                .join(BT, BT.c.source_id == rf.c.id)
                .where(rf.c.charge_id.in_(chunk), BT.c.created < _at(before),
                       BT.c.reporting_category.in_(("refund", "refund_failure")))):
            invoice = charges[charge][0]     # the refund's amount is in the invoice's currency
            sign = -1 if category == "refund" else 1
            add(invoice["currency"], tax_share(sign * int(amount), invoice))
    for currency, total in conn.execute(
            sa.select(BT.c.currency, sa.func.sum(BT.c.amount))
            .where(BT.c.reporting_category == "tax", BT.c.created < _at(before))
            .group_by(BT.c.currency)):
        add(currency, int(total or 0))
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
