"""Recognition journals per month and currency, the billing-account rule, the blocking check.

Stripe's ledger: "We recognize revenue as soon as an invoice is finalized. Specifically, we debit
AccountsReceivable and credit DeferredRevenue upon invoice finalization. Revenue will be
recognized based on the service period of the invoice, regardless of whether the invoice is paid"
(support.stripe.com/questions/revenue-numbers-do-not-match-what-you-expected-to-see), and a line
without a period "is recognized entirely when the invoice is finalized"
(docs.stripe.com/revenue-recognition/methodology).  The contra accounts (Refunds, CreditNotes,
Disputes, Voids, BadDebt) carry what an adjustment takes back from revenue already recognised
(docs.stripe.com/revenue-recognition/examples).  Hence the contract with the AR postings:

* :func:`billing_account`: an invoice line with a service period (and every credit note line or
  refund share on it) posts to **deferred revenue** at its full amount; a line without one posts
  straight to **revenue**.
* :func:`recognition_journal`: once a month per currency, one entry moves from deferred revenue
  what the schedules recognised that month: Cr revenue by product/plan (the mapping function
  decides the account from the line's ``revenue_key`` and the entry's kind), Dr deferred revenue;
  contra revenue the adjustments book at once appears under their own kinds (Dr contra, Cr
  deferred).  Lines posted straight to revenue are not in it.

With those two rules the ERP's deferred revenue balance at every month end equals
:func:`waterfall.deferred_balances`, to the minor unit.
"""
from __future__ import annotations

from datetime import date
from typing import Callable

import numpy as np
import pandas as pd

from domain.erp import JournalEntry, JournalLine
from domain.money import Money

from .adjustments import KINDS
from .ledger import RevenueLedger
from .schedules import (at_once, day_date, day_number, month_end_day, month_label, month_number,
                        month_of, month_start)

DEFERRED_REVENUE = "deferred_revenue"
REVENUE = "revenue"

RevenueAccount = Callable[[str, str], str]      # (revenue_key, kind) -> ERP account


def billing_account(period_start, period_end) -> str:
    """Where an invoice line's credit goes when the invoice posts: ``deferred_revenue`` for a
    line with a service period of at least one day, ``revenue`` for one without."""
    return REVENUE if bool(at_once(day_number(period_start), day_number(period_end))) else (
        DEFERRED_REVENUE)


def journal_lines(ledger: RevenueLedger, month: date | str) -> pd.DataFrame:
    """What the schedules recognise in ``month`` from lines posted to deferred revenue, per
    ``currency``, ``revenue_key`` and ``kind`` (signed minor units; negative is contra)."""
    m = month_number(month)
    rows = ledger.months
    rows = rows[rows["month"] == m]
    info = ledger.lines.iloc[rows["line"].to_numpy()]
    deferred = info["posts_to"].to_numpy() == DEFERRED_REVENUE
    frame = pd.DataFrame({"currency": info["currency"].to_numpy()[deferred],
                          "revenue_key": info["revenue_key"].to_numpy()[deferred],
                          "kind": np.asarray(KINDS, dtype=object)[rows["kind"].to_numpy()[deferred]],
                          "amount": rows["amount"].to_numpy()[deferred]})
    out = frame.groupby(["currency", "revenue_key", "kind"], as_index=False)["amount"].sum()
    return out[out["amount"] != 0].reset_index(drop=True)


def recognition_journal(ledger: RevenueLedger, month: date | str,
                        revenue_account: RevenueAccount,
                        deferred_account: str | Callable[[str], str]) -> list[JournalEntry]:
    """One balanced :class:`JournalEntry` per currency for ``month``, dated its last day.

    ``revenue_account(revenue_key, kind)`` maps a product/plan and an entry kind
    (``recognition``, ``credit_note``, ``refund``, ``dispute``, ``void``, ``uncollectible``) to
    the ERP account; ``deferred_account`` is the account (or ``currency -> account``).  The
    entry's ``external_id`` is ``revrec:YYYY-MM:CUR``: posting it exactly once is the caller's.
    """
    m = month_number(month)
    lines = journal_lines(ledger, month)
    if lines.empty:
        return []
    pairs = lines[["revenue_key", "kind"]].drop_duplicates()
    accounts = {(k, kind): revenue_account(k, kind) for k, kind in pairs.itertuples(index=False)}
    lines["account"] = [accounts[(k, kind)] for k, kind in
                        zip(lines["revenue_key"], lines["kind"])]
    entries = []
    for currency, group in lines.groupby("currency", sort=True):
        by_account = group.groupby("account", sort=True)["amount"].sum()
        legs = [(account, -int(amount)) for account, amount in by_account.items() if amount]
        total = sum(-amount for _, amount in legs)
        deferred = (deferred_account(currency) if callable(deferred_account)
                    else deferred_account)
        if not legs:
            continue
        legs.append((deferred, total))               # debit deferred what revenue is credited
        entries.append(JournalEntry(
            external_id=f"revrec:{month_label(m)}:{currency}",
            entry_date=day_date(month_end_day(m)), currency=currency,
            memo=f"Revenue recognised in {month_label(m)} ({currency})",
            source="revenue_recognition", lines=tuple(_line(a, v, currency) for a, v in legs
                                                      if v)))
    return entries


def _line(account: str, signed_debit: int, currency: str) -> JournalLine:
    debit, credit = (signed_debit, 0) if signed_debit > 0 else (0, -signed_debit)
    return JournalLine(account=account, debit=Money(debit, currency),
                       credit=Money(credit, currency))


def invariant_violations(ledger: RevenueLedger, as_of: date | int) -> pd.DataFrame:
    """The blocking check: for every invoice line, recognised to date plus deferred equals
    billed minus credited, to the minor unit, at the end of day ``as_of`` (a date or a UTC day
    number).

    *Recognised* and *deferred* are summed from the per-month schedule (what the journals and the
    waterfall read); *billed* is the line's amount and *credited* the adjustments effective by
    then, from the inputs.  Returns the offending lines (empty when the check passes).
    """
    d = as_of if isinstance(as_of, int) else day_number(as_of)
    m = int(month_of(d))
    size = len(ledger.lines)
    rows = ledger.months
    keep = rows["booked"].to_numpy() <= d
    line = rows["line"].to_numpy()[keep]
    month = rows["month"].to_numpy()[keep]
    amount = rows["amount"].to_numpy()[keep]

    def per_line(mask) -> np.ndarray:
        return np.bincount(line[mask], weights=amount[mask], minlength=size).astype("int64")

    # the month of ``as_of`` splits at the day: through ``d`` is recognised, the rest deferred
    booked = ledger.segments["booked"] <= d
    through = (ledger.cum(d) - ledger.cum(int(month_start(m)) - 1))[booked]
    part = np.bincount(ledger.segments["line"][booked], weights=through,
                       minlength=size).astype("int64")
    recognised = per_line(month < m) + part
    deferred = per_line(month > m) + per_line(month == m) - part
    billed = np.where(ledger.lines["booked_at"].to_numpy() <= d,
                      ledger.lines["amount"].to_numpy(), 0)
    credited = ledger.credited(d)
    report = pd.DataFrame({"line_id": ledger.lines["id"], "currency": ledger.lines["currency"],
                           "recognised": recognised, "deferred": deferred, "billed": billed,
                           "credited": credited})
    bad = report["recognised"] + report["deferred"] != report["billed"] - report["credited"]
    return report[bad].reset_index(drop=True)
