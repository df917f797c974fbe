"""The revenue waterfall and the deferred revenue balance at every month end, per currency.

Stripe's waterfall report: rows are the month revenue was *booked* ("the amount of revenue and
deferred revenue booked by invoice line items, invoice items, standalone payments, refunds,
disputes"), columns the months it was *recognised*, then "Recognized" and "Remaining" as of the
chosen month; "the recognized revenue can be negative due to refunds, disputes, invoices marked
as uncollectible, and voided invoices", which are booked in their own month: an invoice voided in
September leaves July's row alone and puts "-31 USD" in September's
(docs.stripe.com/revenue-recognition/reports/waterfall).  Revenue excludes tax ("Revenue doesn't
include taxes") and is not the amount due ("The invoice's due amount isn't revenue").

Deferred revenue at a month end is what events booked by then have still to recognise; every
row's recognised months plus its remaining sum to what it booked, so the columns of a billed
month always add up to the billed amount.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from domain.money import to_decimal

from .ledger import RevenueLedger
from .schedules import month_label, month_number


def _rows(ledger: RevenueLedger) -> pd.DataFrame:
    return ledger.totals_by_month


def waterfall(ledger: RevenueLedger, through: date | str,
              since: date | str | None = None) -> pd.DataFrame:
    """Billed month x recognised month per currency, as of the end of month ``through``.

    Columns: ``currency``, ``billed_month`` ('YYYY-MM'), ``billed`` (the row's total), one
    column per recognised month 'YYYY-MM' from ``since`` (default: the first billed month)
    through ``through``, ``recognised`` (to date) and ``remaining``; minor units.
    """
    end = month_number(through)
    rows = _rows(ledger)
    rows = rows[rows["booked_month"] <= end]
    if since is not None:
        rows = rows[rows["booked_month"] >= month_number(since)]
    if rows.empty:
        return pd.DataFrame(columns=["currency", "billed_month", "billed", "recognised",
                                     "remaining"])
    start = month_number(since) if since is not None else int(rows["booked_month"].min())
    keys = ["currency", "booked_month"]
    billed = rows.groupby(keys)["amount"].sum()
    upto = rows[rows["month"] <= end]
    recognised = upto.groupby(keys)["amount"].sum().reindex(billed.index, fill_value=0)
    shown = upto[upto["month"] >= start]
    grid = shown.pivot_table(index=keys, columns="month", values="amount", aggfunc="sum",
                             fill_value=0).reindex(index=billed.index, fill_value=0)
    grid = grid.reindex(columns=range(start, end + 1), fill_value=0)
    grid.columns = [month_label(m) for m in grid.columns]
    out = pd.concat([billed.rename("billed"), grid, recognised.rename("recognised")], axis=1)
    out["remaining"] = out["billed"] - out["recognised"]
    out = out.reset_index().rename(columns={"booked_month": "billed_month"})
    out["billed_month"] = [month_label(m) for m in out["billed_month"]]
    return out.astype({c: "int64" for c in out.columns if c not in ("currency", "billed_month")})


def deferred_balances(ledger: RevenueLedger, months: list[date | str]) -> pd.DataFrame:
    """Deferred revenue at each month end: ``month`` ('YYYY-MM'), ``currency``, ``deferred``."""
    rows = _rows(ledger)
    out = []
    for month in months:
        m = month_number(month)
        later = rows[(rows["booked_month"] <= m) & (rows["month"] > m)]
        for currency, amount in later.groupby("currency")["amount"].sum().items():
            out.append((month_label(m), currency, int(amount)))
    return pd.DataFrame(out, columns=["month", "currency", "deferred"])


def month_summary(ledger: RevenueLedger, month: date | str) -> dict[str, dict[str, int]]:
    """Per currency for one month: ``recognised`` in it and ``deferred_end`` at its end."""
    m = month_number(month)
    rows = _rows(ledger)
    recognised = rows[rows["month"] == m].groupby("currency")["amount"].sum()
    later = rows[(rows["booked_month"] <= m) & (rows["month"] > m)]
    deferred = later.groupby("currency")["amount"].sum()
    currencies = sorted(set(recognised.index) | set(deferred.index))
    return {c: {"recognised": int(recognised.get(c, 0)), "deferred_end": int(deferred.get(c, 0))}
            for c in currencies}


def to_markdown(table: pd.DataFrame) -> str:
    """A waterfall (or any frame with a ``currency`` column and minor-unit amounts) as a
    markdown table in major units, each amount in its row's currency."""
    if table.empty:
        return "_no revenue booked_"
    amounts = [c for c in table.columns if c not in ("currency", "billed_month", "month")]
    totals = {"billed", "recognised", "remaining", "deferred"}
    head = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---:" if c in amounts else "---" for c in table.columns) + "|"
    body = []
    for row in table.to_dict("records"):
        cells = [str(row[c]) if c not in amounts
                 else "" if row[c] == 0 and c not in totals
                 else str(to_decimal(int(row[c]), row["currency"])) for c in table.columns]
        body.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *body])


def to_csv(table: pd.DataFrame) -> str:
    """The table as CSV, amounts in minor units (machine-readable)."""
    return table.to_csv(index=False)


def recognised_by_month(ledger: RevenueLedger) -> pd.DataFrame:
    """Recognised revenue per ``month`` and ``currency`` over the whole schedule."""
    rows = _rows(ledger)
    out = rows.groupby(["month", "currency"], as_index=False)["amount"].sum()
    out["month"] = [month_label(m) for m in out["month"]]
    return out.rename(columns={"amount": "recognised"}).astype({"recognised": np.int64})
