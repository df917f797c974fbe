"""Stripe payouts as TIMS bank deposits (``/banking/deposits``; key ``depositId``) from the
Stripe clearing account into a bank account; a failed payout is ``status: Failed``."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from domain.erp import BankDeposit

from .values import amount, money

if TYPE_CHECKING:
    from .adapter import TimsAdapter

PATH = "/banking/deposits"


def payload(a: TimsAdapter, doc: BankDeposit) -> tuple[str, dict[str, Any]]:
    return PATH, {
        "bankAccountId": a.lookups.bank_id(doc.bank_account),
        "depositDate": doc.deposit_date, "amount": amount(doc.amount),
        "currency": doc.amount.currency, "clearingAccountNumber": doc.clearing_account,
        "status": "Failed" if doc.status == "failed" else "Posted",
        "externalReference": doc.external_id}


def record(a: TimsAdapter, it: dict[str, Any], ext: str) -> BankDeposit:
    bank = it["bankAccountId"]
    gl = next((b.get("glAccountNumber") for b in a.lookups.banks or []
               if b.get("bankAccountId") == bank), None)
    return BankDeposit(external_id=ext, bank_account=gl or bank,
                       clearing_account=it.get("clearingAccountNumber") or "",
                       deposit_date=date.fromisoformat(it["depositDate"]),
                       amount=money(it["amount"], it["currency"]),
                       status="failed" if it.get("status") == "Failed" else "paid")
