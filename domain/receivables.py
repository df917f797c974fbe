"""A payment Stripe took back reopens the receivable in the ERP's AR sub-ledger.

The mapping's ``reopen_receivable`` rule (category ``charge_failure``: an ACH or SEPA debit
that failed after it succeeded, ``payment_failure_refund``, or a ``payment_reversal``).
The customer owes the money again.  A GL journal to the AR control account would move the
control account without the open items (the close's AR check would then fail, and ERPs
commonly refuse journals to a control account), so the receivable reopens as an AR
document, in the charge's own currency:

* a debit memo: a sales order and an AR invoice for the amount taken back, dated by the
  balance transaction, naming the charge (Dr AR, Cr the item's sales account);
* the balance transaction's journal (the general rule, external id the BT's): Stripe
  clearing takes the ``net``, revenue takes back the debit memo's credit, a fee goes to
  merchant fees;
* when Stripe settled the failure in another currency than the charge's, that journal
  takes the amount through FX gain/loss instead, and a journal in the charge's currency
  moves the debit memo's credit from revenue to FX gain/loss.

So Stripe clearing moves by the BT's ``net`` in the settlement currency, revenue nets to
zero, and AR control and the ERP's open items both go up by the amount the customer owes.

Pure functions of the Stripe objects and the mapping: no I/O, no Dagster.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .bt_rules import journal_from_bt, journal_lines, utc_date
from .erp import DocKind, Invoice, JournalEntry, OrderLine, SalesOrder
from .mapping import Mapping
from .money import Money, normalize_currency

Obj = dict[str, Any]
Dependency = tuple[DocKind, str]


def reopen_documents(bt: Obj, charge: Obj, customer: str, mapping: Mapping
                     ) -> list[tuple[Any, list[Dependency]]]:
    """(document, what it needs in the ERP first) for one ``reopen_receivable`` BT."""
    currency = normalize_currency(charge["currency"])
    settled = normalize_currency(bt["currency"])
    taken = -int(bt["amount"])
    # in the charge's currency: what Stripe took, or (settled in another currency) the
    # charge's amount, which a failed bank debit takes back whole
    amount = taken if settled == currency else int(charge["amount"])
    if amount <= 0:
        raise ValueError(f"balance_transaction {bt['id']}: amount {bt['amount']} {settled} "
                         f"takes nothing back from charge {charge['id']}")
    day = utc_date(bt["created"])
    ext = bt["id"]
    text = f"Payment taken back {charge['id']}"
    lines = (OrderLine(line_no=1, sku=mapping.items.default_item, description=text[:60],
                       quantity=Decimal(1), unit_price=Money(amount, currency)),)
    out: list[tuple[Any, list[Dependency]]] = [
        (SalesOrder(external_id=ext, customer=customer, order_date=day, currency=currency,
                    lines=lines), [(DocKind.CUSTOMER, customer)]),
        (Invoice(external_id=ext, order=ext, customer=customer, invoice_date=day, due_date=day,
                 currency=currency, lines=lines, total=Money(amount, currency)),
         [(DocKind.CUSTOMER, customer), (DocKind.SALES_ORDER, ext)])]
    if settled == currency:     # the BT's journal: Stripe clearing net, revenue, fee
        journal = journal_from_bt(bt, mapping, "revenue", memo=text)
    else:                       # settled through FX, the charge's currency back to revenue
        memo = f"FX {charge['id']} {currency}->{settled} @ {bt.get('exchange_rate')}"
        journal = journal_from_bt(bt, mapping, "fx_gain_loss", memo=memo)
        out.append((JournalEntry(
            external_id=f"{ext}:reopen", entry_date=day, currency=currency, memo=memo[:60],
            source="fx", lines=tuple(journal_lines(
                [(mapping.account("revenue"), amount),
                 (mapping.account("fx_gain_loss"), -amount)], currency, memo))), []))
    if journal is not None:
        out.append((journal, []))
    return out
