"""The general ledger as Epicor reports it: posted GL detail through
``Erp.BO.GLJrnDtlSvc/GLJrnDtls`` (the service behind Epicor's journal and chart trackers).

Each posted line carries ``GLAccount`` (its natural account in ``SegValue1``), the
document currency (``CurrencyCode``) with ``DebitAmount``/``CreditAmount`` in it (the
book currency's are ``BookDebitAmount``/``BookCreditAmount``), ``JEDate``, the journal
(``JournalCode``, ``FiscalYear``, ``JournalNum``) and what produced it: ``SourceModule``
with ``ARInvoiceNum`` (an AR invoice), ``CRHeadNum`` (a cash receipt), ``BankTranNum``
(a bank transfer), or neither (a GL journal).
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from domain.money import from_decimal

from ..base import GlLine
from .values import dec, pdate, quote

if TYPE_CHECKING:
    from .adapter import EpicorAdapter

GL_DETAIL = "Erp.BO.GLJrnDtlSvc/GLJrnDtls"
SELECT = ("BookID,FiscalYear,JournalCode,JournalNum,JournalLine,JEDate,GLAccount,SegValue1,"
          "CurrencyCode,DebitAmount,CreditAmount,SourceModule,ARInvoiceNum,CRHeadNum,"
          "BankTranNum")
ORDER = "FiscalYear,JournalCode,JournalNum,JournalLine"


def gl_lines(a: EpicorAdapter, start: date | None, end: date) -> list[GlLine]:
    """Posted GL lines of the adapter's book with ``start <= JEDate <= end``."""
    flt = f"BookID eq {quote(a.book_id)} and JEDate le {end.isoformat()}T00:00:00Z"
    if start is not None:
        flt += f" and JEDate ge {start.isoformat()}T00:00:00Z"
    out = []
    for r in a.api.query(GL_DETAIL, flt, SELECT, None, ORDER):
        cur = r["CurrencyCode"]
        amount = from_decimal(dec(r["DebitAmount"]) - dec(r["CreditAmount"]), cur)
        out.append(GlLine(account=r.get("SegValue1") or r["GLAccount"], currency=cur,
                          amount_minor=amount, posted_on=pdate(r["JEDate"]),
                          voucher=f"{r['JournalCode']} {r['FiscalYear']}/{r['JournalNum']}",
                          source=_source(r)))
    return out


def _source(r: dict) -> str:
    if r.get("CRHeadNum"):          # before ARInvoiceNum: a receipt's AR lines name invoices
        return "CashReceipt"
    if r.get("ARInvoiceNum"):
        return "ARInvoice"
    if r.get("BankTranNum"):
        return "BankTransfer"
    return "GLJournal"
