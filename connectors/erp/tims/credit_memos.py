"""TIMS AR credit memos (``/accounts/receivable/creditmemos``; key ``creditMemoNumber``)
applied to the invoice they credit, and the customer refunds paying them back
(``/accounts/receivable/refunds``; key ``refundNumber``) out of a bank account."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from domain.erp import CreditMemo, CustomerRefund, DocKind

from .values import amount, cut, lines_in, lines_out, money

if TYPE_CHECKING:
    from .adapter import TimsAdapter

MEMOS, REFUNDS = "/accounts/receivable/creditmemos", "/accounts/receivable/refunds"


class Memos:
    @staticmethod
    def payload(a: TimsAdapter, doc: CreditMemo) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "customerCode": a.lookups.code(DocKind.CUSTOMER, doc.customer, "customerCode"),
            "invoiceNumber": a.lookups.code(DocKind.INVOICE, doc.invoice, "invoiceNumber"),
            "memoDate": doc.memo_date, "currency": doc.currency,
            "externalReference": doc.external_id, "lines": lines_out(doc.lines)}
        if doc.tax is not None and doc.tax.amount:
            body["taxAmount"] = doc.tax.decimal()
        return MEMOS, body

    @staticmethod
    def record(a: TimsAdapter, it: dict[str, Any], ext: str) -> CreditMemo:
        cur = it["currency"]
        tax = money(it.get("taxAmount") or 0, cur)
        return CreditMemo(external_id=ext,
                          customer=a.lookups.ext_of(DocKind.CUSTOMER, it["customerCode"]),
                          invoice=a.lookups.ext_of(DocKind.INVOICE, it.get("invoiceNumber")),
                          memo_date=date.fromisoformat(it["memoDate"]), currency=cur,
                          lines=lines_in(it["lines"], cur), total=money(it["total"], cur),
                          tax=tax if tax.amount else None)


class Refunds:
    @staticmethod
    def payload(a: TimsAdapter, doc: CustomerRefund) -> tuple[str, dict[str, Any]]:
        return REFUNDS, {
            "customerCode": a.lookups.code(DocKind.CUSTOMER, doc.customer, "customerCode"),
            "creditMemoNumber": a.lookups.code(DocKind.CREDIT_MEMO, doc.credit_memo,
                                               "creditMemoNumber"),
            "refundDate": doc.paid_date, "amount": amount(doc.amount),
            "currency": doc.amount.currency, "bankAccountId": a.lookups.bank_id(doc.bank_account),
            "reference": cut(doc.reference, "reference") or None,
            "externalReference": doc.external_id}

    @staticmethod
    def record(a: TimsAdapter, it: dict[str, Any], ext: str) -> CustomerRefund:
        return CustomerRefund(
            external_id=ext, customer=a.lookups.ext_of(DocKind.CUSTOMER, it["customerCode"]),
            paid_date=date.fromisoformat(it["refundDate"]),
            amount=money(it["amount"], it["currency"]), bank_account=it["bankAccountId"],
            credit_memo=a.lookups.ext_of(DocKind.CREDIT_MEMO, it["creditMemoNumber"]),
            reference=it.get("reference") or "")
