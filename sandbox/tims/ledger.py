"""The general ledger: manual journal entries, the entries every posted document makes, and
the inquiries an accountant reads (entries by date, trial balance as of a date).

Each document that moves money posts balanced entries when it is created, in its own
(transaction) currency, dated by the document (CONTRACT.md, "General ledger postings"):

* AR invoice: Dr receivables (total) / Cr sales (lines), sales tax, freight;
* AR payment: Dr the bank account's GL account (amount) / Cr receivables (applied),
  unapplied receipts (the rest);
* journal entry: its lines;
* bank deposit (``Posted``, not already booked by a ``journalEntryId``): Dr the bank
  account's GL account / Cr the clearing account.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from .checks import Check, now_iso, zero
from .store import State
from .wire import Problem, field_error

Leg = tuple[str, Decimal, Decimal, str]      # account, debit, credit, memo


def post(s: State, source_type: str, source: dict[str, Any], number_field: str, day: date,
         currency: str, legs: Iterable[Leg]) -> None:
    """Append one document's GL entries (zero legs are left out; the rest must balance)."""
    kept = [leg for leg in legs if leg[1] or leg[2]]
    debits = sum((leg[1] for leg in kept), zero(currency))
    credits = sum((leg[2] for leg in kept), zero(currency))
    if debits != credits:               # the rules below balance by construction
        raise AssertionError(f"unbalanced {source_type} posting: {debits} != {credits}")
    for n, (account, debit, credit, memo) in enumerate(kept, 1):
        s.gl.append({"entryId": s.next_id("gl", "GLE-{:07d}"), "lineNumber": n,
                     "postingDate": day.isoformat(), "accountNumber": account,
                     "currency": currency, "debit": debit, "credit": credit,
                     "sourceType": source_type, "sourceNumber": source[number_field],
                     "externalReference": source.get("externalReference"),
                     "memo": memo, "createdAt": now_iso()})


def create_journal(s: State, body: Any) -> dict[str, Any]:
    c = Check(body)
    ext = s.external_ref(c, s.journals, "journal entry")
    entry_date = c.day("entryDate")
    currency = c.currency()
    memo = c.string("memo")
    source = c.string("source")
    s.check_period(c, "entryDate", entry_date)
    lines = []
    debits = credits = zero(currency)
    for i, lc in enumerate(c.lines(minimum=2)):
        acct = s.account_of(lc, "accountNumber")
        debit = lc.amount("debit", currency, required=False)
        credit = lc.amount("credit", currency, required=False)
        if debit is not None and credit is not None and (debit > 0) == (credit > 0):
            lc.err("debit", "ONE_SIDED", f"Line {i + 1} must have either a debit or a "
                                         f"credit amount")
        line_memo = lc.string("memo")
        c.absorb(lc)
        debits += debit or 0
        credits += credit or 0
        lines.append({"lineNumber": i + 1, "accountNumber": acct, "debit": debit,
                      "credit": credit, "memo": line_memo})
    if not c.errors and debits != credits:
        c.err("lines", "UNBALANCED", f"debits {debits} != credits {credits}")
        raise Problem(422, "Journal entry is not balanced", c.errors)
    c.done()
    year = entry_date.year
    je_id = s.next_id(f"journal-{year}", f"JE-{year}-{{:06d}}")
    ts = now_iso()
    rec = {"journalEntryId": je_id, "entryDate": entry_date.isoformat(), "currency": currency,
           "memo": memo, "source": source, "lines": lines, "totalDebit": debits,
           "totalCredit": credits, "posted": True, "externalReference": ext,
           "createdAt": ts, "modifiedAt": ts}
    s.journals.add(rec)
    post(s, "JournalEntry", rec, "journalEntryId", entry_date, currency,
         [(ln["accountNumber"], ln["debit"], ln["credit"], ln["memo"] or memo or "")
          for ln in lines])
    return rec


# ------------------------------------------------------------------------------ inquiries
def _day(query: dict[str, list[str]], name: str, required: bool) -> date | None:
    raw = (query.get(name) or [""])[-1]
    if not raw:
        if required:
            raise Problem(400, f"{name} is required (YYYY-MM-DD)",
                          [field_error(name, "REQUIRED", f"{name} is required")])
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Problem(400, f"{name} must be a date (YYYY-MM-DD), got {raw!r}",
                      [field_error(name, "INVALID_DATE", f"{name} must be YYYY-MM-DD")]) from None


def _wanted(query: dict[str, list[str]], name: str) -> set[str] | None:
    raw = query.get(name)
    if raw is None:
        return None
    return {v.strip() for item in raw for v in item.split(",") if v.strip()}


def _filtered(s: State, query: dict[str, list[str]], start: date | None,
              end: date | None) -> list[dict[str, Any]]:
    lo, hi = start.isoformat() if start else "", end.isoformat() if end else "9999"
    filters = tuple((f, frozenset(w) if w is not None else None) for f, w in (
        (f, _wanted(query, f)) for f in ("accountNumber", "currency", "sourceType",
                                         "sourceNumber")))
    # the pages of one listing (a /batch of them) share one scan of the ledger
    key = (id(s.gl), len(s.gl), lo, hi, filters)
    cached = s.scratch.get("gl")
    if cached is None or cached[0] != key:
        rows = [e for e in s.gl if lo <= e["postingDate"] <= hi
                and all(w is None or e[f] in w for f, w in filters)]
        s.scratch["gl"] = cached = (key, rows)
    return cached[1]


def entries(s: State, query: dict[str, list[str]]) -> list[dict[str, Any]]:
    """``GET /generalledger/entries?from=&to=``: posted entries, in posting order."""
    start, end = _day(query, "from", False), _day(query, "to", False)
    if start and end and end < start:
        raise Problem(400, f"to {end} is before from {start}")
    return _filtered(s, query, start, end)


def trial_balance(s: State, query: dict[str, list[str]]) -> tuple[date, list[dict[str, Any]]]:
    """``GET /generalledger/trialbalance?asOf=``: per account and currency, the debits,
    credits and balance (debit minus credit) of every entry dated on or before ``asOf``."""
    as_of = _day(query, "asOf", True)
    totals: dict[tuple[str, str], list[Decimal]] = {}
    for e in _filtered(s, query, None, as_of):
        t = totals.setdefault((e["accountNumber"], e["currency"]),
                              [zero(e["currency"]), zero(e["currency"])])
        t[0] += e["debit"]
        t[1] += e["credit"]
    rows = []
    for (acct, cur), (debit, credit) in sorted(totals.items()):
        account = s.accounts[acct]
        rows.append({"accountNumber": acct, "accountName": account["name"],
                     "accountType": account["type"], "currency": cur, "debit": debit,
                     "credit": credit, "balance": debit - credit})
    return as_of, rows
