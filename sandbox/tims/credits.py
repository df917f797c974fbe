"""Accounts receivable credits (CONTRACT.md, our contract): AR credit memos applied to an
invoice, and customer refunds paying a credit memo's balance back out of a bank account;
each posts its general-ledger entries (``ledger.post``)."""
from __future__ import annotations

from typing import Any

from . import ledger
from .checks import Check, now_iso, zero
from .receivables import apply_to_invoice
from .sales import sale_lines
from .store import State


def create_credit_memo(s: State, body: Any) -> dict[str, Any]:
    c = Check(body)
    ext = s.external_ref(c, s.credit_memos, "credit memo")
    cust = s.customer_of(c)
    memo_date = c.day("memoDate")
    currency = c.currency()
    inv_no = c.string("invoiceNumber")
    inv = s.document_of(c, "invoiceNumber", s.invoices, "Invoice", inv_no, cust, currency,
                        "credit memo")
    lines = sale_lines(s, c, currency)
    tax = c.amount("taxAmount", currency, required=False)
    s.check_period(c, "memoDate", memo_date)
    c.done()
    total = sum((ln["extendedPrice"] for ln in lines), zero(currency)) + tax
    applied = min(total, inv["balance"]) if inv is not None else zero(currency)
    if inv is not None and applied:
        apply_to_invoice(inv, applied)
    cust["balance"] -= total
    number = s.next_id("credit_memo", "CM-{:06d}")
    ts = now_iso()
    rec = {"creditMemoNumber": number, "customerCode": cust["customerCode"],
           "invoiceNumber": inv_no, "memoDate": memo_date.isoformat(), "currency": currency,
           "lines": lines, "subtotal": total - tax, "taxAmount": tax, "total": total,
           "appliedAmount": applied, "balance": total - applied,
           "status": "Open" if total - applied > 0 else "Closed",
           "externalReference": ext, "createdAt": ts, "modifiedAt": ts}
    s.credit_memos.add(rec)
    setup, nothing = s.posting_setup, zero(currency)
    memo = f"Credit memo {number}"
    ledger.post(s, "ARCreditMemo", rec, "creditMemoNumber", memo_date, currency, [
        *((setup["salesAccount"], ln["extendedPrice"], nothing, ln["description"] or memo)
          for ln in lines),
        (setup["salesTaxAccount"], tax, nothing, memo),
        (setup["receivablesAccount"], nothing, total, memo)])
    return rec


def create_refund(s: State, body: Any) -> dict[str, Any]:
    c = Check(body)
    ext = s.external_ref(c, s.refunds, "refund")
    cust = s.customer_of(c)
    refund_date = c.day("refundDate")
    currency = c.currency()
    amount = c.amount("amount", currency, positive=True)
    bank = s.bank_of(c)
    memo_no = c.string("creditMemoNumber", required=True)
    memo = s.document_of(c, "creditMemoNumber", s.credit_memos, "Credit memo", memo_no, cust,
                         currency, "refund")
    if memo is not None and amount is not None and amount > memo["balance"]:
        c.err("amount", "OVER_APPLIED", f"Refund {amount} exceeds the balance "
                                        f"{memo['balance']} of credit memo {memo_no}")
    reference = c.string("reference")
    s.check_period(c, "refundDate", refund_date)
    c.done()
    memo["balance"] -= amount
    memo["status"] = "Open" if memo["balance"] > 0 else "Closed"
    memo["modifiedAt"] = now_iso()
    cust["balance"] += amount
    number = s.next_id("refund", "RFD-{:06d}")
    ts = now_iso()
    rec = {"refundNumber": number, "customerCode": cust["customerCode"],
           "refundDate": refund_date.isoformat(), "amount": amount, "currency": currency,
           "bankAccountId": bank["bankAccountId"], "creditMemoNumber": memo_no,
           "reference": reference, "externalReference": ext, "createdAt": ts, "modifiedAt": ts}
    s.refunds.add(rec)
    setup, nothing = s.posting_setup, zero(currency)
    text = f"Refund {number} {reference or ''}".strip()
    ledger.post(s, "ARRefund", rec, "refundNumber", refund_date, currency, [
        (setup["receivablesAccount"], amount, nothing, text),
        (bank["glAccountNumber"], nothing, amount, text)])
    return rec
