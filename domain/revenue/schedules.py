"""Revenue schedules: how one invoice line's amount is spread over the UTC days of its service period.

Stripe Revenue Recognition treats "each invoice line item as its own performance obligation.
When the invoice finalizes, the total recognizable amount is deferred and subsequently amortized
evenly over the period of each invoice line item. If a period isn't set on an invoice line item,
the amount on that invoice line item is recognized entirely when the invoice is finalized."
(docs.stripe.com/revenue-recognition/methodology). Its settings offer these amortization methods
(docs.stripe.com/revenue-recognition/revenue-settings, "Amortization"):

* **By day** -- "Recognize revenue down to the day. Cut off the last day."  Our default
  (:attr:`Method.DAY`): the service days are the UTC dates ``[date(period.start),
  date(period.end))``.  Stripe's own examples read that way: a line from January 15 00:00 UTC to
  February 15 00:00 UTC is "recognized across 17 days in January and 14 days in February"
  (docs.stripe.com/revenue-recognition/examples/subscriptions), and a period from June 15 12:00
  to October 13 12:00 gives June 16 days and October 12 under "amortization by day"
  (docs.stripe.com/revenue-recognition/revenue-settings/examples).
* **By month evenly** -- "Recognize revenue down to the month. Cut off the last month."
  (:attr:`Method.MONTH`): the calendar months ``[month(period.start), month(period.end))`` share
  the amount equally; that settings example gives 30.00 for each of June to September out of
  120.00, which is how "a 120.00 annual plan recognises 10.00 a month" holds exactly.  Within a
  month the share is recognised on the month's first service day (the month is the grain).

Stripe's default, "By millisecond", is finer than a day; the day method differs from it only by
the fractions of the first and last days, and the by-month-with-first-and-last-prorated setting
is not implemented (see the README's methodology section).

Remainders, all in integer minor units (``domain.money``), deterministic:

* by day, the amount recognised *through* the k-th service day of n is
  ``floor(|A| * k / n)`` with the sign of ``A``; each day gets the difference, so every day is
  within one minor unit of ``A / n``, recognised-to-date is never more than one minor unit off
  the exact pro-rata, and the last day brings the total to ``A`` exactly;
* by month, each month gets ``trunc(A / months)`` and the last month the rest -- the rule
  Stripe's settings example shows (92.00 over three months: 30.66, 30.66, 30.68).

Currencies Stripe bills in whole hundreds (ISK, UGX: "two-decimal on the API" but zero-decimal in
fact, see ``domain.money``) are spread in quanta of 100 minor units so that no schedule carries a
fraction an ERP could not book.

Catch-up: "when the service period begins before the booked date (the finalization date for an
invoice ...), the revenue from the prior periods is instead recognized entirely in the month of
the booked date to avoid making changes to the past" (revenue-settings, "Catch-up revenue").  In
the daily schedule the days before the booked day are recognised on the booked day.  The booked
day of a line is its invoice's finalization, or, for a line that comes from an invoice item, the
day the invoice item was created: "Booked revenue includes the revenue of an invoice item in the
month that the invoice item first appears" (docs.stripe.com/revenue-recognition/reports/waterfall).

All arithmetic here is numpy-vectorised so that a million lines are scheduled in one pass; the
same functions serve a single line (``domain.revenue.ledger``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from enum import Enum

import numpy as np

from domain.money import WHOLE_HUNDREDS, normalize_currency

EPOCH = date(1970, 1, 1)
NO_DAY = -(10 ** 7)          # "minus infinity" in day numbers (before any real date)


class RevenueError(ValueError):
    """Bad revenue input; the message names the object and the field."""


class Method(str, Enum):
    DAY = "day"        # Stripe setting "By day"
    MONTH = "month"    # Stripe setting "By month evenly"


METHOD_CODE = {Method.DAY: 0, Method.MONTH: 1}


# --------------------------------------------------------------------------- calendar

def day_number(value: date | datetime | int) -> int:
    """UTC day number (days since 1970-01-01) of a date, an aware datetime or a Unix timestamp."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise RevenueError(f"naive datetime {value!r}: pass UTC-aware datetimes or Unix seconds")
        return int(value.timestamp()) // 86400
    if isinstance(value, date):
        return (value - EPOCH).days
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value) // 86400
    raise RevenueError(f"not a date, datetime or Unix timestamp: {value!r}")


def day_date(day: int) -> date:
    return date.fromordinal(EPOCH.toordinal() + int(day))


def month_of(days):
    """Month index (months since 1970-01) of day numbers; works on scalars and arrays."""
    return np.asarray(days, dtype="int64").astype("datetime64[D]").astype(
        "datetime64[M]").astype("int64")


def month_start(months):
    """Day number of the first day of month indexes; scalars and arrays."""
    return np.asarray(months, dtype="int64").astype("datetime64[M]").astype(
        "datetime64[D]").astype("int64")


def month_label(month: int) -> str:
    """``'YYYY-MM'`` of a month index."""
    return str(np.datetime64(int(month), "M"))


def month_number(value: date | str) -> int:
    """Month index of a date (any day of the month) or a ``'YYYY-MM'``/``'YYYY-MM-01'`` string."""
    if isinstance(value, str):
        return int(np.datetime64(value[:7], "M").astype("int64"))
    return int(month_of(day_number(value)))


def month_end_day(month: int) -> int:
    """Day number of the last day of a month index."""
    return int(month_start(month + 1)) - 1


def quantum(currency: str) -> int:
    """Smallest amount a schedule may carry, in minor units: 100 for ISK/UGX, else 1."""
    return 100 if normalize_currency(currency) in WHOLE_HUNDREDS else 1


# --------------------------------------------------------------------------- lines

@dataclass(frozen=True)
class InvoiceLine:
    """One invoice line as revenue recognition needs it (see ``stripe_inputs.line_from_stripe``).

    ``amount`` is the recognisable amount in minor units of ``currency``: the line's ``amount``
    less its discounts, pre-tax credits and inclusive taxes (taxes are a liability, never revenue).
    ``period_start``/``period_end`` are the line's ``period`` (Unix seconds or aware datetimes);
    equal values mean "no period": recognised at once on the booked day.
    """

    id: str
    invoice_id: str
    currency: str
    amount: int
    period_start: int | datetime
    period_end: int | datetime
    booked_at: int | datetime | date
    revenue_key: str = ""
    customer_id: str | None = None
    subscription_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", normalize_currency(self.currency))
        if isinstance(self.amount, bool) or not isinstance(self.amount, (int, np.integer)):
            raise RevenueError(f"invoice line {self.id}: amount must be integer minor units, "
                               f"got {self.amount!r}")


def windows(period_start, period_end, booked, method: Method):
    """Vectorised curve windows of lines: ``(method_code, start, n, floor)`` arrays.

    ``period_start``/``period_end``/``booked`` are UTC day numbers.  ``n`` counts days (DAY) or
    calendar months (MONTH).  A zero-day period (no period, or one shorter than a day: "cut off
    the last day") is recognised at once on the booked day; under MONTH a period inside one
    calendar month has no month to spread over and is spread by day.  ``floor`` is the booked
    day (catch-up).
    """
    s = np.asarray(period_start, dtype="int64")
    e = np.asarray(period_end, dtype="int64")
    b = np.asarray(booked, dtype="int64")
    days = e - s
    code = np.full(s.shape, METHOD_CODE[method], dtype="int8")
    if method is Method.MONTH:
        n = month_of(e) - month_of(s)
        inside_a_month = (n <= 0) & (days > 0)
        code[inside_a_month] = 0
        n = np.where(inside_a_month, days, n)
    else:
        n = days
    at_once = n <= 0
    return code, np.where(at_once, b, s), np.where(at_once, 1, n), b


def at_once(period_start, period_end) -> np.ndarray:
    """Lines without a service period of at least one day (recognised on the booked day)."""
    return (np.asarray(period_end, dtype="int64") - np.asarray(period_start, dtype="int64")) <= 0


# --------------------------------------------------------------------------- curves

def curve_cum(method, start, n, amount, floor, quanta, x):
    """Amount recognised through day ``x`` (inclusive) by curves; all arguments broadcast.

    DAY:   sign(A) * q * floor(|A/q| * k / n), k = service days elapsed (0..n).
    MONTH: anchors are ``start`` and the first day of each of the next n-1 months; each anchor
           passed adds trunc(A/q/n)*q, the last one the rest.
    Days before ``floor`` recognise nothing; their increments fall on ``floor`` (catch-up).
    """
    method = np.asarray(method)
    start = np.asarray(start, dtype="int64")
    n = np.asarray(n, dtype="int64")
    amount = np.asarray(amount, dtype="int64")
    quanta = np.asarray(quanta, dtype="int64")
    x = np.asarray(x, dtype="int64")
    units = np.abs(amount) // quanta
    sign = np.sign(amount)
    k_day = np.clip(x - start + 1, 0, n)
    by_day = sign * quanta * (units * k_day // n)
    if np.any(method == 1):
        k_month = np.where(x < start, 0,
                           np.minimum(n, 1 + month_of(np.maximum(x, start)) - month_of(start)))
        per = sign * quanta * (units // n)
        by_month = k_month * per + np.where(k_month == n, amount - n * per, 0)
        raw = np.where(method == 1, by_month, by_day)
    else:
        raw = by_day
    return np.where(x < np.asarray(floor, dtype="int64"), 0, raw)


def curve_last_day(method, start, n):
    """Day of a curve's last increment (ignoring the floor)."""
    method = np.asarray(method)
    start = np.asarray(start, dtype="int64")
    n = np.asarray(n, dtype="int64")
    last_day = start + n - 1
    if np.any(method == 1):
        last_anchor = np.where(n > 1, month_start(month_of(start) + n - 1), start)
        return np.where(method == 1, last_anchor, last_day)
    return last_day


def check_amounts(amount, n, quanta, ids) -> list[tuple[str, str]]:
    """``(line id, message)`` for amounts a curve cannot carry exactly (not a multiple of the
    currency's quantum, or large enough to overflow 64-bit arithmetic)."""
    amount = np.asarray(amount, dtype="int64")
    bad = (amount % np.asarray(quanta)) != 0
    big = np.abs(amount) // np.asarray(quanta) > (2 ** 62) // np.maximum(np.asarray(n), 1)
    out = []
    for i in np.flatnonzero(bad | big):
        reason = ("not a multiple of the currency's quantum" if bad[i]
                  else "too large to schedule exactly")
        out.append((ids[i], f"invoice line {ids[i]}: amount: {int(amount[i])} {reason}"))
    return out
