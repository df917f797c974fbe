"""Epicor GL journals (``Erp.BO.GLJournalEntrySvc``) in daily journal groups: the Stripe id
in ``GLJrnHed.Description``, ``"{source}: {memo}"`` in ``CommentText``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.erp import DocKind, JournalEntry, JournalLine

from ..base import ErpRecord, ErpValidationError
from .groups import groups_for
from .updates import Created, update_docs
from .values import Row, edate, guid, money, pdate

if TYPE_CHECKING:
    from .adapter import EpicorAdapter


def create(a: EpicorAdapter, docs: list[JournalEntry]) -> Created:
    errors: dict[str, ErpValidationError] = {}
    groups = groups_for(a, DocKind.JOURNAL, [d.entry_date for d in docs],
                        {"BookID": a.book_id, "JournalCode": a.journal_code})
    heads, lines, owners = [], [], {}
    for n, doc in enumerate(docs):
        group = groups[doc.entry_date]
        if isinstance(group, ErpValidationError):
            errors[doc.external_id] = group
            continue
        temp = -(n + 1)
        sysrow = guid()
        owners[sysrow] = doc.external_id
        heads.append({"JournalNum": temp, "GroupID": group, "BookID": a.book_id,
                      "JournalCode": a.journal_code, "JEDate": edate(doc.entry_date),
                      "Description": doc.external_id,
                      "CommentText": f"{doc.source}: {doc.memo}",
                      "CurrencyCode": doc.currency, "SysRowID": sysrow, "RowMod": "A"})
        for i, line in enumerate(doc.lines, start=1):
            lrow = guid()
            owners[lrow] = doc.external_id
            lines.append({"JournalNum": temp, "JournalLine": i, "GLAccount": line.account,
                          "DebitAmount": line.debit.decimal(),
                          "CreditAmount": line.credit.decimal(), "Description": line.memo,
                          "SysRowID": lrow, "RowMod": "A"})
    return update_docs(a, "Erp.BO.GLJournalEntrySvc", "GLJrnHed", heads, "GLJrnDtlMnl", lines,
                       owners, DocKind.JOURNAL, errors)


def read(a: EpicorAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    rows = a.lookups.rows(DocKind.JOURNAL, ids, None, "GLJrnDtlMnls",
                          "BookID,FiscalYear,JournalCode,JournalNum")
    out = []
    for r in rows:
        def make(r: Row = r) -> JournalEntry:
            cur = r["CurrencyCode"]
            source, _, memo = (r.get("CommentText") or "").partition(": ")
            lines = tuple(JournalLine(account=d["GLAccount"],
                                      debit=money(d["DebitAmount"], cur),
                                      credit=money(d["CreditAmount"], cur),
                                      memo=d.get("Description") or "")
                          for d in sorted(r.get("GLJrnDtlMnls") or [],
                                          key=lambda d: d["JournalLine"]))
            return JournalEntry(external_id=r["Description"], entry_date=pdate(r["JEDate"]),
                                currency=cur, memo=memo, source=source, lines=lines)
        rec = a.lookups.build(DocKind.JOURNAL, r, make)
        if rec:
            out.append(rec)
    return out
