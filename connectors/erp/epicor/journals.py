"""Epicor GL journals (``Erp.BO.GLJournalEntrySvc``) in daily journal groups: the Stripe id
in ``GLJrnHed.Description`` and each line's ``LineReference``, ``"{source}: {memo}"`` in
``CommentText``; amounts in the journal's currency in ``DocTransAmt``.  Once posted
(``Erp.BO.GLJrnGrpSvc/PostGroupJournals``) a journal is read from the posted GL detail
(``Erp.BO.GLJrnDtlSvc/GLJrnDtls``), which keeps ``LineReference`` and ``CommentText``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.erp import DocKind, JournalEntry, JournalLine

from ..base import ErpRecord, ErpValidationError
from .groups import groups_for, in_groups
from .lookups import POSTED_JOURNALS
from .updates import Created, update_docs
from .values import Row, dec, edate, guid, money, pdate

if TYPE_CHECKING:
    from .adapter import EpicorAdapter


def create(a: EpicorAdapter, docs: list[JournalEntry]) -> Created:
    errors: dict[str, ErpValidationError] = {}
    groups = groups_for(a, DocKind.JOURNAL, [d.entry_date for d in docs],
                        {"BookID": a.book_id, "JournalCode": a.journal_code})
    heads: list[Row] = []
    lines: list[Row] = []
    owners: dict[str, str] = {}
    for doc, group, temp, sysrow in in_groups(docs, groups, lambda d: d.entry_date, errors,
                                              owners):
        heads.append({"JournalNum": temp, "GroupID": group, "BookID": a.book_id,
                      "JournalCode": a.journal_code, "JEDate": edate(doc.entry_date),
                      "Description": doc.external_id,
                      "CommentText": f"{doc.source}: {doc.memo}",
                      "CurrencyCode": doc.currency, "SysRowID": sysrow, "RowMod": "A"})
        for i, line in enumerate(doc.lines, start=1):
            lrow = guid()
            owners[lrow] = doc.external_id
            # the amount in the journal's currency; Epicor computes the book amounts
            # (TransAmt, DebitAmount, CreditAmount) from it with its exchange rate
            lines.append({"JournalNum": temp, "JournalLine": i, "GLAccount": line.account,
                          "DocTransAmt": line.debit.decimal() - line.credit.decimal(),
                          "Description": line.memo, "LineReference": doc.external_id,
                          "SysRowID": lrow, "RowMod": "A"})
    created, errs = update_docs(a, "Erp.BO.GLJournalEntrySvc", "GLJrnHed", heads,
                                "GLJrnDtlMnl", lines, owners, DocKind.JOURNAL, errors)
    by_ext = {d.external_id: d for d in docs}
    for ext in created:            # entered into its group: posted by posting.post_pending
        a.lookups.unposted[DocKind.JOURNAL][ext] = groups[by_ext[ext].entry_date]
    return created, errs


def read(a: EpicorAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    """Posted journals from the GL detail, unposted ones from the journal entries."""
    posted = _posted(a, ids)
    found = {rec.doc.external_id for rec in posted}
    rows = a.lookups.rows(DocKind.JOURNAL, None if ids is None else
                          [e for e in ids if e not in found], None, "GLJrnDtlMnls",
                          "BookID,FiscalYear,JournalCode,JournalNum")
    out = list(posted)
    for r in rows:
        if r["Description"] in found:
            continue

        def make(r: Row = r) -> JournalEntry:
            return _journal(r["Description"], r["JEDate"], r["CurrencyCode"],
                            r.get("CommentText") or "", r.get("GLJrnDtlMnls") or [],
                            "DocTransAmt")
        rec = a.lookups.build(DocKind.JOURNAL, r, make)
        if rec:
            out.append(rec)
    return out


def _posted(a: EpicorAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    path, fieldname, _ = POSTED_JOURNALS
    select = ("BookID,FiscalYear,JournalCode,JournalNum,JournalLine,JEDate,GLAccount,"
              "CurrencyCode,DebitAmount,CreditAmount,Description,CommentText,LineReference")
    if ids is None:
        rows = a.api.query(path, "LineReference ne ''", select, None,
                           "FiscalYear,JournalCode,JournalNum,JournalLine")
    else:
        rows = a.lookups.lookup(path, fieldname, ids, select)
    by_ext: dict[str, list[Row]] = {}
    for r in rows:
        by_ext.setdefault(r["LineReference"], []).append(r)
    out = []
    for ext, lines in by_ext.items():
        head = lines[0]

        def make(ext: str = ext, head: Row = head, lines: list[Row] = lines) -> JournalEntry:
            signed = [{**ln, "Amount": dec(ln["DebitAmount"]) - dec(ln["CreditAmount"])}
                      for ln in lines]
            return _journal(ext, head["JEDate"], head["CurrencyCode"],
                            head.get("CommentText") or "", signed, "Amount")
        rec = a.lookups.build(DocKind.JOURNAL, head, make)
        if rec:
            out.append(rec)
    return out


def _journal(ext: str, when: str, cur: str, comment: str, lines: list[Row],
             amount_field: str) -> JournalEntry:
    source, _, memo = comment.partition(": ")
    out = []
    for d in sorted(lines, key=lambda d: d["JournalLine"]):
        amount = money(d[amount_field], cur)
        zero = money(0, cur)
        out.append(JournalLine(account=d["GLAccount"], debit=amount if amount.amount > 0
                               else zero, credit=-amount if amount.amount < 0 else zero,
                               memo=d.get("Description") or ""))
    return JournalEntry(external_id=ext, entry_date=pdate(when), currency=cur, memo=memo,
                        source=source, lines=tuple(out))
