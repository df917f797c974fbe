"""Accounts receivable: AR invoices and customer payments applied to them, each posting
its general-ledger entries (``ledger.post``)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import ledger
from .checks import Check, now_iso, zero
from .sales import sale_lines
from .store import State


def create_invoice(s: State, body: Any) -> dict[str, Any]:
    c = Check(body)
    ext = s.external_ref(c, s.invoices, "invoice")
    cust = s.customer_of(c)
    order_no = c.string("orderNumber")
    order = s.orders.get(order_no) if order_no else None
    if order_no and order is None:
        c.err("orderNumber", "UNKNOWN_ORDER", f"Sales order {order_no} does not exist")
    invoice_date = c.day("invoiceDate")
    due_date = c.day("dueDate", required=False) or invoice_date
    if invoice_date and due_date and due_date < invoice_date:
        c.err("dueDate", "INVALID_DATE", f"dueDate {due_date} is before invoiceDate "
                                         f"{invoice_date}")
    currency = c.currency()
    if order and cust and order["customerCode"] != cust["customerCode"]:
        c.err("orderNumber", "ORDER_CUSTOMER_MISMATCH",
              f"Sales order {order_no} belongs to customer {order['customerCode']}, "
              f"not {cust['customerCode']}")
    if order and currency and order["currency"] != currency:
        c.err("currency", "CURRENCY_MISMATCH", f"Invoice currency {currency} differs from "
                                               f"sales order {order_no} ({order['currency']})")
    lines = sale_lines(s, c, currency)
    tax = c.amount("taxAmount", currency, required=False)
    freight = c.amount("freightAmount", currency, required=False)
    s.check_period(c, "invoiceDate", invoice_date)
    c.done()
    subtotal = sum((ln["extendedPrice"] for ln in lines), zero(currency))
    total = subtotal + tax + freight
    number = s.next_id("invoice", "INV-{:06d}")
    ts = now_iso()
    rec = {"invoiceNumber": number, "customerCode": cust["customerCode"],
           "orderNumber": order_no, "invoiceDate": invoice_date.isoformat(),
           "dueDate": due_date.isoformat(), "currency": currency, "lines": lines,
           "subtotal": subtotal, "taxAmount": tax, "freightAmount": freight, "total": total,
           "balance": total, "status": "Open" if total > 0 else "Paid",
           "externalReference": ext, "createdAt": ts, "modifiedAt": ts}
    s.invoices.add(rec)
    if order:
        order["status"] = "Invoiced"
    cust["balance"] += total
    setup, nothing = s.posting_setup, zero(currency)
    memo = f"Invoice {number}"
    ledger.post(s, "ARInvoice", rec, "invoiceNumber", invoice_date, currency, [
        (setup["receivablesAccount"], total, nothing, memo),
        *((setup["salesAccount"], nothing, ln["extendedPrice"], ln["description"] or memo)
          for ln in lines),
        (setup["salesTaxAccount"], nothing, tax, memo),
        (setup["freightAccount"], nothing, freight, memo)])
    return rec


def create_payment(s: State, body: Any) -> dict[str, Any]:
    c = Check(body)
    ext = s.external_ref(c, s.payments, "payment")
    cust = s.customer_of(c)
    pay_date = c.day("paymentDate")
    currency = c.currency()
    amount = c.amount("amount", currency, positive=True)
    method = c.string("method", required=True)
    if method and method not in s.payment_methods:
        c.err("method", "UNKNOWN_PAYMENT_METHOD", f"Payment method {method} does not exist")
    bank = s.bank_of(c)
    reference = c.string("reference")
    s.check_period(c, "paymentDate", pay_date)
    apps, pending = _applications(s, c, cust, currency)
    applied = sum((a["amount"] for a in apps if a["amount"] is not None), zero(currency))
    if amount is not None and applied > amount:
        c.err("applications", "OVER_APPLIED", f"Applications total {applied} exceeds the "
                                              f"payment amount {amount}")
    c.done()
    for inv_no, value in pending.items():
        apply_to_invoice(s.invoices.rows[inv_no], value)
    cust["balance"] -= applied
    number = s.next_id("payment", "PMT-{:06d}")
    ts = now_iso()
    rec = {"paymentNumber": number, "customerCode": cust["customerCode"],
           "paymentDate": pay_date.isoformat(), "amount": amount, "currency": currency,
           "method": method, "bankAccountId": bank["bankAccountId"], "reference": reference,
           "applications": apps, "appliedAmount": applied, "unappliedAmount": amount - applied,
           "externalReference": ext, "createdAt": ts, "modifiedAt": ts}
    s.payments.add(rec)
    setup, nothing = s.posting_setup, zero(currency)
    memo = f"Payment {number} {reference or ''}".strip()
    ledger.post(s, "ARPayment", rec, "paymentNumber", pay_date, currency, [
        (bank["glAccountNumber"], amount, nothing, memo),
        (setup["receivablesAccount"], nothing, applied, memo),
        (setup["unappliedReceiptsAccount"], nothing, amount - applied, memo)])
    return rec


def apply_to_invoice(inv: dict[str, Any], amount: Decimal) -> None:
    """Take a payment or credit memo applied to an AR invoice off its open balance."""
    inv["balance"] -= amount
    inv["status"] = "Paid" if inv["balance"] == 0 else "Open"
    inv["modifiedAt"] = now_iso()


def _applications(s: State, c: Check, cust: dict[str, Any] | None, currency: str | None
                  ) -> tuple[list[dict[str, Any]], dict[str, Decimal]]:
    """The payment's applications, checked against the invoices' open balances."""
    apps: list[dict[str, Any]] = []
    pending: dict[str, Decimal] = {}
    if c.get("applications") in (None, "", []):
        return apps, pending
    for ac in c.lines("applications"):
        inv_no = ac.string("invoiceNumber", required=True)
        app_amount = ac.amount("amount", currency, positive=True)
        inv = s.document_of(ac, "invoiceNumber", s.invoices, "Invoice", inv_no, cust, currency,
                            "payment")
        if inv is not None and app_amount is not None:
            left = inv["balance"] - pending.get(inv_no, Decimal(0))
            if app_amount > left:
                ac.err("amount", "OVER_APPLIED",
                       f"Application of {app_amount} exceeds the open balance {left} of "
                       f"invoice {inv_no}")
            else:
                pending[inv_no] = pending.get(inv_no, Decimal(0)) + app_amount
        c.absorb(ac)
        apps.append({"invoiceNumber": inv_no, "amount": app_amount})
    return apps, pending
