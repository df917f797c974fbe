"""The month's revenue journal for the ERP: deferral of what was billed, recognition of what was
earned, and the rule for credits that arrive after their month was closed.

The AR postings (``domain.postings``) book a Stripe invoice in the ERP when its charge settles,
for what the charge paid, in revenue; credits (refunds, lost disputes) in their contra account.
A Stripe invoice line with a service period is revenue only as the service is delivered
(``journals.billing_account``), and Stripe books it at finalization, paid or not.  So the
deferral is booked here, from the schedules, not by the AR postings: one entry per month and
currency, dated the month's last day, with

* **billing** legs: Dr revenue (``accounts.revenue``, where the AR postings credit invoice
  revenue), Cr deferred revenue, for the service-period lines booked in the month; Dr deferred
  revenue, Cr the kind's contra account, for what credits booked in the month took off those
  lines;
* **recognition** legs: Dr deferred revenue, Cr revenue by product/plan (the mapping's
  ``revenue_recognition.by_product``) or the contra account of a credit's kind, for what the
  schedules recognised in the month (``journals.journal_lines``).

Amounts are netted per account.  The deferred revenue account then holds, at every month end,
exactly ``waterfall.deferred_balances`` of the schedules, whatever the AR postings did.

Closed months: a month is closed once its journal is in the ERP.  A credit recorded (its Stripe
object created) after its effective month was closed takes effect on the first day of the first
month that was still open when it was recorded (``adjustments.first_open_day``, as Stripe's
accounting period control does); judged against the close times, not today's closed months, so
the result never moves once posted.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime
from typing import Callable, Mapping, Sequence

from domain.erp import JournalEntry, JournalLine
from domain.money import Money

from .adjustments import REVERSAL_KINDS, Adjustment
from .journals import DEFERRED_REVENUE, journal_lines
from .ledger import RevenueLedger
from .schedules import (day_date, day_number, month_end_day, month_label, month_number, month_of,
                        month_start)

RevenueAccount = Callable[[str, str], str]        # (revenue_key, kind) -> GL account


def month_legs(ledger: RevenueLedger, month: date | str) -> dict[str, dict[str, dict[str, int]]]:
    """Per currency: ``billed`` (service-period lines booked in the month, by revenue key),
    ``credited`` (taken off them by credits booked in the month, by kind) and ``recognised``
    (by (revenue key, kind) joined with a tab), signed minor units."""
    m = month_number(month)
    lines = ledger.lines
    deferred = lines["posts_to"].to_numpy() == DEFERRED_REVENUE
    booked = month_of(lines["booked_at"].to_numpy()) == m
    out: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: {"billed": defaultdict(int), "credited": defaultdict(int),
                 "recognised": defaultdict(int)})
    chosen = lines[deferred & booked]
    for (currency, key), amount in chosen.groupby(["currency", "revenue_key"])["amount"].sum().items():
        out[currency]["billed"][key] += int(amount)
    currency_of = lines["currency"].to_numpy()
    for a in ledger.applied.values():
        if deferred[a.line] and int(month_of(a.day)) == m and a.credit:
            kind = REVERSAL_KINDS.get(a.kind, a.kind)
            out[currency_of[a.line]]["credited"][kind] += a.credit
    for row in journal_lines(ledger, month).itertuples(index=False):
        out[row.currency]["recognised"][f"{row.revenue_key}\t{row.kind}"] += int(row.amount)
    return {c: {k: dict(v) for k, v in legs.items()} for c, legs in out.items()}


def month_entries(ledger: RevenueLedger, month: date | str, revenue_account: RevenueAccount,
                  billing_revenue: str, deferred_account: str) -> list[JournalEntry]:
    """The month's journal per currency (``revrec:YYYY-MM:CUR``, dated the month's last day),
    billing and recognition legs netted per account; none for a currency that nets to zero."""
    m = month_number(month)
    entries = []
    for currency, legs in sorted(month_legs(ledger, month).items()):
        credit: dict[str, int] = defaultdict(int)         # signed: credit positive
        for _, amount in legs["billed"].items():
            credit[billing_revenue] -= amount
            credit[deferred_account] += amount
        for kind, amount in legs["credited"].items():
            credit[revenue_account("", kind)] += amount
            credit[deferred_account] -= amount
        for joined, amount in legs["recognised"].items():
            key, kind = joined.split("\t")
            credit[revenue_account(key, kind)] += amount
            credit[deferred_account] -= amount
        lines = [_line(account, value, currency) for account, value in sorted(credit.items())
                 if value]
        if not lines:
            continue
        entries.append(JournalEntry(
            external_id=f"revrec:{month_label(m)}:{currency}",
            entry_date=day_date(month_end_day(m)), currency=currency,
            memo=f"Revenue deferred and recognised {month_label(m)} ({currency})",
            source="revenue_recognition", lines=tuple(lines)))
    return entries


def _line(account: str, credit: int, currency: str) -> JournalLine:
    debit, cr = (0, credit) if credit > 0 else (-credit, 0)
    return JournalLine(account=account, debit=Money(debit, currency), credit=Money(cr, currency))


def deferred_change(entry: JournalEntry, deferred_account: str) -> int:
    """What an entry adds to the deferred revenue balance (credit-normal, minor units)."""
    return sum(x.credit.amount - x.debit.amount for x in entry.lines
               if x.account == deferred_account)


# ----------------------------------------------------------------------------- closed months

def late_adjustments(adjustments: Sequence[Adjustment], recorded_at: Mapping[str, int | datetime],
                     closed_at: Mapping[str, datetime | int]) -> list[Adjustment]:
    """Each adjustment dated in a month that was already closed when it was recorded, moved to
    the first day of the first month still open at that time; the others as they are.

    ``recorded_at``: adjustment id -> Unix seconds it was recorded (its Stripe object's
    ``created``; an adjustment without one is never moved).  ``closed_at``: ``'YYYY-MM'`` ->
    when that month's journal reached the ERP (aware datetime or Unix seconds).
    """
    closed = {month_number(k): _seconds(v) for k, v in closed_at.items()}
    if not closed:
        return list(adjustments)
    out = []
    for adj in adjustments:
        when = recorded_at.get(adj.id)
        when = None if when is None else _seconds(when)
        day = day_number(adj.effective_at)
        m = int(month_of(day))
        if when is None or not (m in closed and closed[m] <= when):
            out.append(adj)
            continue
        while m in closed and closed[m] <= when:
            m += 1
        out.append(replace(adj, effective_at=day_date(int(month_start(m)))))
    return out


def _seconds(value: datetime | int) -> int:
    return int(value.timestamp()) if isinstance(value, datetime) else int(value)


def deferred_at_month_ends(ledger: RevenueLedger, months: Sequence[str]) -> dict[str, dict[str, int]]:
    """``'YYYY-MM'`` -> currency -> deferred balance at that month end (service-period lines)."""
    from .waterfall import deferred_balances
    table = deferred_balances(ledger, list(months))
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for row in table.itertuples(index=False):
        if row.deferred:
            out[row.month][row.currency] = int(row.deferred)
    return dict(out)

