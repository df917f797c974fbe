"""Stripe payouts as Epicor bank fund transfers (``Erp.BO.BankFundTranSvc``) from the
Stripe clearing bank account to the operating bank, read back as ``BankTran`` legs
(``Erp.BO.BankAdjEntrySvc``): the payout id in ``TranRef``.  A failed payout moves the
money back (bank -> clearing)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.erp import BankDeposit, DocKind

from ..base import ErpRecord, ErpValidationError
from .updates import Created, atomic_batches
from .values import Row, dec, edate, money, pdate

if TYPE_CHECKING:
    from .adapter import EpicorAdapter


def create(a: EpicorAdapter, docs: list[BankDeposit]) -> Created:
    errors: dict[str, ErpValidationError] = {}
    legs: dict[str, tuple[str, str]] = {}
    for doc in docs:
        bank = a.bank_accounts.get(doc.bank_account, doc.bank_account)
        clearing = a.bank_accounts.get(doc.clearing_account, doc.clearing_account)
        legs[doc.external_id] = (clearing, bank) if doc.status == "paid" else (bank, clearing)

    def row_of(doc: BankDeposit) -> Row:
        src, dst = legs[doc.external_id]
        return {"BankAcctID": src, "ToBankAcctID": dst, "TranAmt": doc.amount.decimal(),
                "TranDate": edate(doc.deposit_date), "TranRef": doc.external_id,
                "CurrencyCode": doc.amount.currency, "RowMod": "A"}

    return atomic_batches(a, docs, row_of, "Erp.BO.BankFundTranSvc/CreateBankTranRecords",
                          "BankFundsTransfer", DocKind.DEPOSIT, errors)


def read(a: EpicorAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    rows = a.lookups.rows(DocKind.DEPOSIT, ids, None, None, "TranNum,BankAcctID")
    gl_of = {bank: gl for gl, bank in a.bank_accounts.items()}
    legs: dict[str, list[Row]] = {}
    for r in rows:
        legs.setdefault(r["TranRef"], []).append(r)
    out = []
    for ext, pair in legs.items():
        src = next((r for r in pair if dec(r["TranAmt"]) < 0), pair[0])
        dst = next((r for r in pair if dec(r["TranAmt"]) > 0), pair[-1])

        def make(src: Row = src, dst: Row = dst, ext: str = ext) -> BankDeposit:
            cur = dst["CurrencyCode"]
            paid = src["BankAcctID"] in a.clearing_banks
            bank, clearing = (dst, src) if paid else (src, dst)
            return BankDeposit(
                external_id=ext,
                bank_account=gl_of.get(bank["BankAcctID"], bank.get("GLAccount") or
                                       bank["BankAcctID"]),
                clearing_account=gl_of.get(clearing["BankAcctID"],
                                           clearing.get("GLAccount") or clearing["BankAcctID"]),
                deposit_date=pdate(dst["TranDate"]),
                amount=money(abs(dec(dst["DocTranAmt"])), cur),
                status="paid" if paid else "failed")
        rec = a.lookups.build(DocKind.DEPOSIT, src, make)
        if rec:
            out.append(rec)
    return out
