"""TIMS AR invoices (``/accounts/receivable/invoices``; key ``invoiceNumber``; the ERP
computes ``total`` and the open ``balance``)."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from domain.erp import DocKind, Invoice
from domain.money import Money

from .values import lines_in, lines_out, money

if TYPE_CHECKING:
    from .adapter import TimsAdapter

PATH = "/accounts/receivable/invoices"


def payload(a: TimsAdapter, doc: Invoice) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {
        "customerCode": a.lookups.code(DocKind.CUSTOMER, doc.customer, "customerCode"),
        "invoiceDate": doc.invoice_date, "dueDate": doc.due_date,
        "currency": doc.currency, "externalReference": doc.external_id,
        "lines": lines_out(doc.lines)}
    if doc.tax is not None and doc.tax.amount:
        body["taxAmount"] = doc.tax.decimal()
    if doc.order:
        body["orderNumber"] = a.lookups.code(DocKind.SALES_ORDER, doc.order, "orderNumber")
    return PATH, body


def record(a: TimsAdapter, it: dict[str, Any], ext: str) -> Invoice:
    cur = it["currency"]
    tax = money(it.get("taxAmount") or 0, cur)
    return Invoice(external_id=ext,
                   order=a.lookups.ext_of(DocKind.SALES_ORDER, it.get("orderNumber")) or None,
                   customer=a.lookups.ext_of(DocKind.CUSTOMER, it["customerCode"]),
                   invoice_date=date.fromisoformat(it["invoiceDate"]),
                   due_date=date.fromisoformat(it["dueDate"]), currency=cur,
                   lines=lines_in(it["lines"], cur), total=money(it["total"], cur),
                   tax=tax if tax.amount else None)


def open_balance(it: dict[str, Any]) -> Money:
    """What is still unpaid, as TIMS computes it."""
    return money(it["balance"], it["currency"])
