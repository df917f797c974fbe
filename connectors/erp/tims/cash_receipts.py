"""TIMS AR payments (``/accounts/receivable/payments``; key ``paymentNumber``) applied to
invoices, into a bank account given by id or by its GL account number."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from domain.erp import DocKind, Payment, PaymentApplication

from .values import amount, cut, money

if TYPE_CHECKING:
    from .adapter import TimsAdapter

PATH = "/accounts/receivable/payments"


def payload(a: TimsAdapter, doc: Payment) -> tuple[str, dict[str, Any]]:
    apps = [{"invoiceNumber": a.lookups.code(DocKind.INVOICE, ap.invoice,
                                             f"applications[{i}].invoiceNumber"),
             "amount": amount(ap.amount)} for i, ap in enumerate(doc.applications)]
    return PATH, {
        "customerCode": a.lookups.code(DocKind.CUSTOMER, doc.customer, "customerCode"),
        "paymentDate": doc.received_date, "amount": amount(doc.amount),
        "currency": doc.amount.currency, "method": doc.method,
        "bankAccountId": a.lookups.bank_id(doc.bank_account),
        "reference": cut(doc.reference, "reference") or None,
        "externalReference": doc.external_id, "applications": apps}


def record(a: TimsAdapter, it: dict[str, Any], ext: str) -> Payment:
    cur = it["currency"]
    return Payment(external_id=ext,
                   customer=a.lookups.ext_of(DocKind.CUSTOMER, it["customerCode"]),
                   received_date=date.fromisoformat(it["paymentDate"]),
                   amount=money(it["amount"], cur), method=it["method"],
                   bank_account=it["bankAccountId"], reference=it.get("reference") or "",
                   applications=tuple(
                       PaymentApplication(
                           invoice=a.lookups.ext_of(DocKind.INVOICE, ap["invoiceNumber"]),
                           amount=money(ap["amount"], cur))
                       for ap in it.get("applications") or []))
