"""The company's general ledger: fiscal calendar, exchange rates, posted GL detail.

* Fiscal calendar: one fiscal period per calendar month (fiscal year = calendar year,
  book ``MAIN``); the control API closes and reopens periods.  Nothing dated in a closed
  period is entered or posted (Epicor's error body naming the period).
* Exchange rates: ``CurrExRate`` rows of rate group ``MAIN`` (document currency ->
  base currency USD, base = document amount x ``CurrentRate``), readable through
  ``Erp.BO.CurrExRateSvc/CurrExRates``; a currency without a rate is refused.
* Posted GL detail: the posting processes (``posting.py``) write balanced ``GLJrnDtl``
  rows, read through ``Erp.BO.GLJrnDtlSvc/GLJrnDtls``.  ``DebitAmount``/``CreditAmount``
  are in the line's document currency (``CurrencyCode``), ``BookDebitAmount``/
  ``BookCreditAmount`` in the book's (base) currency; a base-currency rounding difference
  of a foreign-currency entry is put on its largest line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from .errors import business
from .tables import D0

if TYPE_CHECKING:
    from .store import Store

BASE_CURRENCY = "USD"
BOOK, COA, RATE_GROUP = "MAIN", "MAINCOA", "MAIN"
# GL controls a real company sets up (customer/product group/bank defaults), one each here
AR_ACCOUNT, SALES_ACCOUNT, UNAPPLIED_ACCOUNT = "1200", "4000", "2150"
# document currency -> base currency units per document unit, effective from RATES_FROM
RATES = {"EUR": Decimal("1.08"), "GBP": Decimal("1.27"), "JPY": Decimal("0.0067"),
         "CAD": Decimal("0.74"), "KWD": Decimal("3.25"), "AUD": Decimal("0.66"),
         "CHF": Decimal("1.12"), "SEK": Decimal("0.095"), "NOK": Decimal("0.094"),
         "DKK": Decimal("0.145"), "MXN": Decimal("0.055"), "BHD": Decimal("2.65"),
         # the rest of the presentment currencies a Stripe account commonly takes
         "PLN": Decimal("0.25"), "CZK": Decimal("0.044"), "HUF": Decimal("0.0028"),
         "BRL": Decimal("0.2"), "SGD": Decimal("0.74"), "HKD": Decimal("0.128"),
         "NZD": Decimal("0.6"), "ZAR": Decimal("0.054"), "INR": Decimal("0.012"),
         "KRW": Decimal("0.00075"), "ISK": Decimal("0.0072"), "TWD": Decimal("0.031")}
RATES_FROM = "2000-01-01T00:00:00"

# Currency minor units (ISO 4217) for rounding amounts.
ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF",
                "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
THREE_DECIMAL = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def decimals(currency: str) -> int:
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def round_money(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals(currency)), rounding=ROUND_HALF_UP)


def month_of(when: str) -> str:
    """``2026-11-02T00:00:00`` -> ``2026-11``."""
    return when[:7]


def check_month(text: str) -> str:
    if not _MONTH.match(text):
        raise ValueError(f"period must be YYYY-MM, got {text!r}")
    return text


class FiscalCalendar:
    """Closed fiscal periods (months), by explicit close/open or 'everything before'."""

    def __init__(self) -> None:
        self.closed: set[str] = set()
        self.reopened: set[str] = set()
        self.closed_before: str | None = None     # month: every month before it is closed

    def close(self, month: str) -> None:
        self.closed.add(check_month(month))
        self.reopened.discard(month)

    def open(self, month: str) -> None:
        self.closed.discard(check_month(month))
        self.reopened.add(month)

    def close_before(self, day: str) -> None:
        date.fromisoformat(day)
        self.closed_before = day[:7] if day[8:10] == "01" else _next_month(day[:7])

    def is_closed(self, month: str) -> bool:
        if month in self.closed:
            return True
        before = self.closed_before
        return bool(before) and month < before and month not in self.reopened

    def closed_months(self) -> list[str]:
        return sorted(self.closed)

    def check(self, when: str | None, table: str, fieldname: str) -> None:
        """Refuse ``when`` in a closed period with Epicor's error, naming the period."""
        if not when:
            return
        month = month_of(when)
        if self.is_closed(month):
            year, period = month.split("-")
            raise business(f"Fiscal period {int(period)} of fiscal year {year} ({month}) is "
                           f"closed for book {BOOK}: nothing can be entered or posted dated "
                           f"{when[:10]}.", table, fieldname)


def _next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + mon // 12}-{mon % 12 + 1:02d}"


@dataclass
class Leg:
    """One GL line to post: account, signed document amount (debit positive), extras."""

    account: str
    amount: Decimal
    extra: dict[str, Any]


class Ledger:
    """Writes posted GL detail for one store (under its lock)."""

    def __init__(self, store: Store) -> None:
        self.s = store
        self.calendar = FiscalCalendar()
        self.journal_nums: dict[tuple[str, int], int] = {}

    def seed_rates(self) -> None:
        for cur, rate in RATES.items():
            self.s.t["CurrExRate"].insert(self.s._row(
                "CurrExRate", RateGrpCode=RATE_GROUP, SourceCurrCode=cur,
                TargetCurrCode=BASE_CURRENCY, EffectiveDate=RATES_FROM, CurrentRate=rate,
                Reference="seed", EntryPerson=self.s.user))

    def rate(self, currency: str, when: str | None, table: str) -> Decimal:
        """Base units per document unit on ``when`` (the latest effective rate)."""
        if currency == BASE_CURRENCY:
            return Decimal(1)
        on = when or "9999-12-31"
        rates = [r for r in self.s.t["CurrExRate"].rows.values()
                 if r["SourceCurrCode"] == currency and r["TargetCurrCode"] == BASE_CURRENCY
                 and r["RateGrpCode"] == RATE_GROUP and (r["EffectiveDate"] or "") <= on]
        if not rates:
            raise business(f"No exchange rate from {currency} to {BASE_CURRENCY} is effective "
                           f"on {on[:10]} (rate group {RATE_GROUP}).", table, "CurrencyCode")
        return max(rates, key=lambda r: r["EffectiveDate"])["CurrentRate"]

    def to_base(self, amount: Decimal, rate: Decimal) -> Decimal:
        return round_money(amount * rate, BASE_CURRENCY)

    def next_journal(self, code: str, year: int) -> int:
        n = self.journal_nums.get((code, year), 0) + 1
        self.journal_nums[(code, year)] = n
        return n

    def post(self, legs: list[Leg], *, currency: str, when: str, code: str, module: str,
             journal_num: int | None = None, **common: Any) -> int:
        """Write one balanced journal of GL detail; returns its journal number."""
        if sum((leg.amount for leg in legs), D0) != 0:
            raise business(f"The entry is out of balance in {currency}.", "GLJrnDtl",
                           "DebitAmount")
        d = date.fromisoformat(when[:10])
        num = journal_num or self.next_journal(code, d.year)
        rate = self.rate(currency, when, "GLJrnDtl")
        books = [leg.extra.pop("_book", None) for leg in legs]
        books = [self.to_base(leg.amount, rate) if b is None else b
                 for leg, b in zip(legs, books)]
        diff = -sum(books, D0)
        if diff:   # base-currency rounding of a foreign entry: on its largest line
            big = max(range(len(legs)), key=lambda i: abs(books[i]))
            books[big] += diff
        stamp = f"{date.today().isoformat()}T00:00:00"
        table = self.s.t["GLJrnDtl"]
        for n, (leg, book) in enumerate(zip(legs, books), start=1):
            row = self.s._row(
                "GLJrnDtl", BookID=BOOK, FiscalYear=d.year, FiscalPeriod=d.month,
                JournalCode=code, JournalNum=num, JournalLine=n, JEDate=when, COACode=COA,
                GLAccount=leg.account, SegValue1=leg.account, CurrencyCode=currency,
                BookCurrencyCode=BASE_CURRENCY, SourceModule=module, PostedBy=self.s.user,
                PostedDate=stamp, Posted=True,
                DebitAmount=leg.amount if leg.amount > 0 else D0,
                CreditAmount=-leg.amount if leg.amount < 0 else D0,
                BookDebitAmount=book if book > 0 else D0,
                BookCreditAmount=-book if book < 0 else D0)
            row.update(common)
            row.update(leg.extra)
            table.insert(row)
        return num
