"""TIMS GL journal entries (``/generalledger/journalentries``; key ``journalEntryId``)."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from domain.erp import JournalEntry, JournalLine

from .values import amount, cut, money

if TYPE_CHECKING:
    from .adapter import TimsAdapter

PATH = "/generalledger/journalentries"


def payload(a: TimsAdapter, doc: JournalEntry) -> tuple[str, dict[str, Any]]:
    return PATH, {
        "entryDate": doc.entry_date, "currency": doc.currency,
        "memo": cut(doc.memo, "memo"), "source": cut(doc.source, "source"),
        "externalReference": doc.external_id,
        "lines": [{"accountNumber": ln.account, "debit": amount(ln.debit),
                   "credit": amount(ln.credit), "memo": cut(ln.memo, "memo")}
                  for ln in doc.lines]}


def record(a: TimsAdapter, it: dict[str, Any], ext: str) -> JournalEntry:
    cur = it["currency"]
    return JournalEntry(external_id=ext, entry_date=date.fromisoformat(it["entryDate"]),
                        currency=cur, memo=it.get("memo") or "", source=it.get("source") or "",
                        lines=tuple(JournalLine(account=ln["accountNumber"],
                                                debit=money(ln["debit"], cur),
                                                credit=money(ln["credit"], cur),
                                                memo=ln.get("memo") or "")
                                    for ln in it["lines"]))
