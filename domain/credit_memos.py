"""Refunds as credit memos (the mapping's ``credit_memo`` rule for a reporting category).

A refund of a charge becomes, in the charge's (the invoice's) currency whatever currency
Stripe settled it in:

* a credit memo applied to the charge's invoice: what the customer no longer owes, with
  its share of the invoice's sales tax given back (on the memo with ``tax.on_invoice``,
  otherwise as a "Sales tax" line and a journal Dr sales tax payable, Cr revenue);
* a customer refund settling that memo: the money paid back out of Stripe clearing;
* when Stripe settled the refund in another currency, two FX journals that exchange the
  presented amount for what Stripe took (the mirror image of a charge's), and a journal for
  a fee on the refund's balance transaction.

So Stripe clearing moves by the BT's ``net`` in the settlement currency, the customer's
ledger in the ERP shows the refund against the invoice, and the tax liability goes down by
the refunded share.

Pure functions of the Stripe objects and the mapping: no I/O, no Dagster.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .bt_rules import journal_lines, utc_date
from .erp import CreditMemo, CustomerRefund, DocKind, JournalEntry, OrderLine
from .mapping import Mapping
from .money import Money, normalize_currency
from .tax import tax_share

Obj = dict[str, Any]
Dependency = tuple[DocKind, str]


def refund_documents(bt: Obj, refund: Obj, charge: Obj, customer: str, invoice_id: str,
                     stripe_invoice: Obj | None, mapping: Mapping
                     ) -> list[tuple[Any, list[Dependency]]]:
    """(document, what it needs in the ERP first) for one refund balance transaction."""
    currency = normalize_currency(charge["currency"])
    amount = int(refund["amount"])
    day = utc_date(bt["created"])
    tax = tax_share(amount, stripe_invoice)
    on_invoice = bool(tax) and mapping.tax.on_invoice
    lines = [OrderLine(line_no=1, sku=mapping.items.default_item,
                       description=f"Refund {refund['id']}"[:60], quantity=Decimal(1),
                       unit_price=Money(amount - tax, currency))]
    if tax and not on_invoice:
        lines.append(OrderLine(line_no=2, sku=mapping.items.default_item,
                               description="Sales tax", quantity=Decimal(1),
                               unit_price=Money(tax, currency)))
    memo = CreditMemo(external_id=refund["id"], customer=customer, invoice=invoice_id,
                      memo_date=day, currency=currency, lines=tuple(lines),
                      total=Money(amount, currency),
                      tax=Money(tax, currency) if on_invoice else None)
    out: list[tuple[Any, list[Dependency]]] = [
        (memo, [(DocKind.CUSTOMER, customer), (DocKind.INVOICE, invoice_id),
                (DocKind.PAYMENT, charge["id"])]),      # after the receipt it credits
        (CustomerRefund(external_id=refund["id"], customer=customer, paid_date=day,
                        amount=Money(amount, currency),
                        bank_account=mapping.bank_accounts.stripe,
                        credit_memo=refund["id"], reference=charge["id"]),
         [(DocKind.CUSTOMER, customer), (DocKind.CREDIT_MEMO, refund["id"])])]
    if tax and not on_invoice:
        out.append((_journal(f"{refund['id']}:tax", day, currency, f"Sales tax {refund['id']}",
                             "sales_tax", [(mapping.account("sales_tax_payable"), tax),
                                           (mapping.account("revenue"), -tax)]), []))
    clearing, fx = mapping.account("stripe_clearing"), mapping.account("fx_gain_loss")
    settled = normalize_currency(bt["currency"])
    if settled != currency:
        text = f"FX {refund['id']} {currency}->{settled} @ {bt.get('exchange_rate')}"
        out.append((_journal(f"{bt['id']}:fx-out", day, currency, text, "fx",
                             [(clearing, amount), (fx, -amount)]), []))
        out.append((_journal(f"{bt['id']}:fx-in", day, settled, text, "fx",
                             [(fx, -int(bt["amount"])), (clearing, int(bt["amount"]))]), []))
    elif int(bt["amount"]) != -amount:
        raise ValueError(f"refund {refund['id']}: amount {amount} {currency} but its balance "
                         f"transaction {bt['id']} moved {bt['amount']} {settled}")
    fee = int(bt["fee"])
    if fee:
        out.append((_journal(f"{bt['id']}:fee", day, settled, f"Stripe fee {refund['id']}",
                             "stripe_fee", [(mapping.account("merchant_fees"), fee),
                                            (clearing, -fee)]), []))
    return out


def _journal(external_id: str, day: Any, currency: str, memo: str, source: str,
             legs: list[tuple[str, int]]) -> JournalEntry:
    return JournalEntry(external_id=external_id, entry_date=day, currency=currency,
                        memo=memo[:60], source=source,
                        lines=tuple(journal_lines(legs, currency, memo)))
