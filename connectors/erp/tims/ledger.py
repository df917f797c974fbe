"""The TIMS general ledger, read through its inquiry endpoints (CONTRACT.md):

* ``GET /generalledger/entries?from=&to=`` (paged): every posted entry in its transaction
  currency, with the document that produced it (``sourceType``, ``sourceNumber``);
* ``GET /generalledger/trialbalance?asOf=`` (paged): per account and currency, the
  balance of every entry dated on or before ``asOf``.

A read costs one call for the first page and one ``/batch`` for the rest (≤ 500 pages
of 200 a batch).
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from domain.money import from_decimal

from ..base import GlLine

if TYPE_CHECKING:
    from .adapter import TimsAdapter

ENTRIES = "/generalledger/entries"
TRIAL_BALANCE = "/generalledger/trialbalance"


def _minor(value: Any, currency: str) -> int:
    return from_decimal(value, currency)


def gl_lines(a: TimsAdapter, start: date | None, end: date) -> list[GlLine]:
    query = {"to": end.isoformat(), **({"from": start.isoformat()} if start else {})}
    return [GlLine(account=e["accountNumber"], currency=e["currency"],
                   amount_minor=_minor(e["debit"], e["currency"])
                   - _minor(e["credit"], e["currency"]),
                   posted_on=date.fromisoformat(e["postingDate"]),
                   voucher=e["sourceNumber"], source=e["sourceType"])
            for e in a.lookups.every_page(f"{ENTRIES}?{urlencode(query)}")]


def trial_balance(a: TimsAdapter, as_of: date) -> dict[tuple[str, str], int]:
    rows = a.lookups.every_page(f"{TRIAL_BALANCE}?{urlencode({'asOf': as_of.isoformat()})}")
    return {(r["accountNumber"], r["currency"]): _minor(r["balance"], r["currency"])
            for r in rows}
