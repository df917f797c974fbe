"""Posting rules: Stripe balance activity -> canonical ERP documents.

Every money movement on Stripe is a balance transaction, so postings are
driven by balance transactions (BTs):

* a ``charge``/``payment`` BT: its charge becomes an ERP customer (deduplicated by
  Stripe id, then e-mail), a sales order and an invoice (keyed by the payment
  intent), a cash receipt for the gross amount applied to that invoice, an
  inventory adjustment for stocked SKUs, and a journal for the Stripe fee
  (Dr merchant fees, Cr Stripe clearing; in the BT's settlement currency), and,
  when the charge's currency differs from the settlement currency, two FX journals
  that exchange the receipt for what Stripe settled through the FX account;
* any other BT: the account or posting rule the mapping names for its reporting
  category (``domain.bt_rules``: the general rule, payouts through cash in transit;
  ``domain.credit_memos``: refunds as credit memos; ``domain.receivables``: a payment
  taken back reopens the receivable as a debit memo); an unmapped category is a dead
  letter, never suspense.

The charge's receipt is for the amount its BT credited (``charge.amount``: Stripe
credits the authorised amount and files an uncaptured remainder as a
``partial_capture_reversal`` refund).  Invoice, receipt, fee and FX journals are dated
by the BT's ``created`` (the settlement that moved the money); the sales order keeps the
charge's authorisation date.

Pure functions of the Stripe objects and the mapping: no I/O, no Dagster.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping as MappingT
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .addresses import clean_text, customer_addresses
from .bt_rules import PostingProblem, bt_documents, journal_lines, ref, tax_journal, utc_date
from .credit_memos import refund_documents
from .erp import (Customer, DocKind, Document, InventoryAdjustment, Invoice, JournalEntry,
                  OrderLine, Payment, PaymentApplication, SalesOrder)
from .mapping import Mapping
from .money import Money, normalize_currency
from .receivables import reopen_documents
from .tax import tax_share

__all__ = ["KIND_ORDER", "PostingBuilder", "PostingProblem", "Postings", "StripeActivity",
           "unit_prices", "utc_date"]

# Posting order: a document only references documents of earlier kinds.
# A credit memo comes after the receipt that paid its invoice (it must not take the invoice's
# open balance before the receipt is applied).
CHARGE_TYPES = {"charge", "payment"}
KIND_ORDER = (DocKind.CUSTOMER, DocKind.SALES_ORDER, DocKind.INVOICE, DocKind.PAYMENT,
              DocKind.CREDIT_MEMO, DocKind.CUSTOMER_REFUND, DocKind.JOURNAL, DocKind.INVENTORY,
              DocKind.DEPOSIT)
# (kind, external id) of the documents a document needs in the ERP first.
Dependency = tuple[DocKind, str]

Obj = dict[str, Any]


@dataclass
class StripeActivity:
    """The Stripe objects a posting run needs, by id (raw JSON as Stripe returns it)."""

    balance_transactions: list[Obj]
    charges: MappingT[str, Obj] = field(default_factory=dict)
    customers: MappingT[str, Obj] = field(default_factory=dict)
    payouts: MappingT[str, Obj] = field(default_factory=dict)
    # (sku, currency) -> unit amount, from the Stripe catalog (products with a "sku")
    unit_prices: MappingT[tuple[str, str], int] = field(default_factory=dict)
    # charge id -> the Stripe invoice it paid (for its tax); refund id -> its charge id
    charge_invoices: MappingT[str, Obj] = field(default_factory=dict)
    refund_charges: MappingT[str, str] = field(default_factory=dict)
    refunds: MappingT[str, Obj] = field(default_factory=dict)


@dataclass
class Postings:
    documents: dict[DocKind, dict[str, Document]] = field(
        default_factory=lambda: {k: {} for k in KIND_ORDER})
    depends_on: dict[tuple[DocKind, str], list[Dependency]] = field(default_factory=dict)
    source: dict[tuple[DocKind, str], str] = field(default_factory=dict)  # -> Stripe object id
    problems: list[PostingProblem] = field(default_factory=list)

    def add(self, doc: Document, source: str, needs: Iterable[Dependency] = ()) -> None:
        self.documents[doc.kind].setdefault(doc.external_id, doc)
        self.source.setdefault((doc.kind, doc.external_id), source)
        deps = [d for d in needs if d[1]]
        if deps:
            self.depends_on.setdefault((doc.kind, doc.external_id), deps)

    def count(self) -> int:
        return sum(len(d) for d in self.documents.values())


class PostingBuilder:
    """Turns Stripe activity into canonical documents with one mapping."""

    def __init__(self, mapping: Mapping) -> None:
        self.m = mapping

    def build(self, activity: StripeActivity) -> Postings:
        out = Postings()
        canonical = self._customer_keys(activity.customers.values())
        for bt in sorted(activity.balance_transactions, key=lambda b: (b["created"], b["id"])):
            try:
                self._check_currencies(bt, activity)
                self._bt(bt, activity, canonical, out)
            except PostingProblem as problem:
                out.problems.append(problem)
            except (KeyError, TypeError, ValueError) as exc:  # malformed Stripe data
                out.problems.append(PostingProblem(DocKind.JOURNAL, bt.get("id", "?"),
                                                   f"balance_transaction {bt.get('id')}: {exc}"))
        return out

    # ------------------------------------------------------------------ customers
    def _customer_keys(self, customers: Iterable[Obj]) -> dict[str, str]:
        """Stripe customer id -> the external id its ERP customer goes by.

        With ``email`` in the match rules, customers sharing an e-mail address
        are one ERP customer: the oldest one's.
        """
        keys: dict[str, str] = {}
        by_email: dict[str, str] = {}
        for cus in sorted(customers, key=lambda c: (c.get("created", 0), c["id"])):
            email = (cus.get("email") or "").strip().lower()
            if "email" in self.m.customers.match and email:
                keys[cus["id"]] = by_email.setdefault(email, cus["id"])
            else:
                keys[cus["id"]] = cus["id"]
        return keys

    def _customer(self, charge: Obj, activity: StripeActivity, canonical: dict[str, str],
                  out: Postings) -> str:
        cid = ref(charge.get("customer"))
        currency = normalize_currency(charge["currency"])
        if not cid:
            key = self.m.customers.guest_external_id
            out.add(Customer(external_id=key, name=self.m.customers.guest_name,
                             currency=currency, tax_exempt=True), source=charge["id"])
            return key
        cus = activity.customers.get(cid)
        if cus is None:
            raise PostingProblem(DocKind.CUSTOMER, cid,
                                 f"charge {charge['id']}: customer {cid} is not in the mirror")
        key = canonical.get(cid, cid)
        first = activity.customers.get(key, cus)
        # never shortened here: what does not fit the ERP goes by the mapping's field policy
        name = clean_text(first.get("name")) or clean_text(first.get("email")) or key
        billing, shipping = customer_addresses(first)
        out.add(Customer(external_id=key, name=name, email=clean_text(first.get("email")),
                         phone=clean_text(first.get("phone")), billing=billing,
                         shipping=shipping,
                         currency=normalize_currency(first.get("currency") or currency),
                         tax_exempt=True), source=key)   # Stripe computes the tax
        return key

    # ------------------------------------------------------------------ currencies
    def _check_currencies(self, bt: Obj, activity: StripeActivity) -> None:
        """``currencies.allowed``: a BT whose currency, or whose charge's or payout's, is not
        allowed posts nothing; its dead letter (keyed like the receipt, deposit or journal
        it would have made, so a replay resolves it) names the currency and the object."""
        kind, source = bt.get("type"), ref(bt.get("source"))
        key: tuple[DocKind, str] = (DocKind.JOURNAL, bt["id"])
        checks = [("balance_transaction", bt["id"], bt.get("currency"))]
        if kind in CHARGE_TYPES and source in activity.charges:
            key = (DocKind.PAYMENT, source)
            checks.insert(0, ("charge", source, activity.charges[source].get("currency")))
        elif kind == "payout" and source in activity.payouts:
            key = (DocKind.DEPOSIT, source)
            checks.insert(0, ("payout", source, activity.payouts[source].get("currency")))
        for what, oid, code in checks:
            currency = normalize_currency(code or "")
            if not self.m.currencies.allows(currency):
                raise PostingProblem(
                    key[0], key[1],
                    f"{what} {oid}: currency {currency} is not in currencies.allowed "
                    f"({', '.join(self.m.currencies.allowed)}) of the mapping file; nothing "
                    f"of it was posted")

    # ------------------------------------------------------------------ per BT
    def _bt(self, bt: Obj, activity: StripeActivity, canonical: dict[str, str],
            out: Postings) -> None:
        rule = self.m.rule_for(bt.get("type"), bt.get("reporting_category"))
        if rule == "receipt":
            self._charge(bt, activity, canonical, out)
            return
        if rule == "credit_memo":
            self._refund(bt, activity, canonical, out)
            return
        if rule == "reopen_receivable":
            self._reopen(bt, activity, canonical, out)
            return
        for doc in bt_documents(bt, self.m, activity.payouts, self._refund_tax(bt, activity)):
            out.add(doc, source=ref(bt.get("source")) if doc.kind is DocKind.DEPOSIT
                    else bt["id"])
        other = self._refund_tax_in_invoice_currency(bt, activity, rule)
        if other is not None:
            out.add(other, source=bt["id"])

    def _charge(self, bt: Obj, activity: StripeActivity, canonical: dict[str, str],
                out: Postings) -> None:
        cid = ref(bt.get("source"))
        charge = activity.charges.get(cid or "")
        if charge is None:
            raise PostingProblem(DocKind.PAYMENT, cid or bt["id"],
                                 f"balance_transaction {bt['id']}: charge {cid} is not in the mirror")
        customer = self._customer(charge, activity, canonical, out)
        currency = normalize_currency(charge["currency"])
        amount = int(charge["amount"])
        authorised = utc_date(charge["created"])     # the order keeps the authorisation date
        day = utc_date(bt["created"])                # the money moved: invoice, receipt, fee
        order_id = ref(charge.get("payment_intent")) or charge["id"]
        sku = (charge.get("metadata") or {}).get("sku") or None
        item = self.m.items.item_for(sku, None)
        tax = tax_share(amount, activity.charge_invoices.get(charge["id"]))
        unit = activity.unit_prices.get((sku or "", currency.lower()))
        net = amount - tax
        qty = net // unit if unit and net % unit == 0 and net >= unit else 1
        lines = [OrderLine(line_no=1, sku=item,
                           description=(charge.get("description") or item)[:60],
                           quantity=Decimal(qty), unit_price=Money(net // qty, currency))]
        on_invoice = bool(tax) and self.m.tax.on_invoice
        if tax and not on_invoice:   # invoiced gross; the journal below moves the tax out
            lines.append(OrderLine(line_no=2, sku=self.m.items.default_item,
                                   description="Sales tax", quantity=Decimal(1),
                                   unit_price=Money(tax, currency)))
        out.add(SalesOrder(external_id=order_id, customer=customer, order_date=authorised,
                           currency=currency, lines=tuple(lines)), source=charge["id"],
                needs=[(DocKind.CUSTOMER, customer)])
        out.add(Invoice(external_id=order_id, order=order_id, customer=customer, invoice_date=day,
                        due_date=day, currency=currency, lines=tuple(lines),
                        total=Money(amount, currency),
                        tax=Money(tax, currency) if on_invoice else None),
                source=charge["id"],
                needs=[(DocKind.CUSTOMER, customer), (DocKind.SALES_ORDER, order_id)])
        if tax and not on_invoice:
            out.add(tax_journal(f"{charge['id']}:tax", day, Money(tax, currency), self.m,
                                f"Sales tax {charge['id']}"), source=charge["id"])
        method = self.m.payment_method((charge.get("payment_method_details") or {}).get("type"))
        money = Money(amount, currency)
        out.add(Payment(external_id=charge["id"], customer=customer, received_date=day,
                        amount=money, method=method, bank_account=self.m.bank_accounts.stripe,
                        applications=(PaymentApplication(invoice=order_id, amount=money),),
                        reference=charge["id"]), source=charge["id"],
                needs=[(DocKind.CUSTOMER, customer), (DocKind.INVOICE, order_id)])
        if self.m.items.stocked(item):
            out.add(InventoryAdjustment(external_id=f"{order_id}:{item}", sku=item,
                                        location=self.m.items.location, delta=Decimal(-qty)),
                    source=charge["id"], needs=[(DocKind.SALES_ORDER, order_id)])
        bt_currency = normalize_currency(bt["currency"])
        if bt_currency != currency:
            self._fx(bt, charge, money, Money(int(bt["amount"]), bt_currency), out)
        fee = int(bt["fee"])
        if fee:
            lines = journal_lines([(self.m.account("merchant_fees"), fee),
                            (self.m.account("stripe_clearing"), -fee)], bt_currency,
                           memo=f"Stripe fee {charge['id']}")
            out.add(JournalEntry(external_id=f"{bt['id']}:fee", entry_date=day,
                                 currency=bt_currency, memo=f"Stripe fee {charge['id']}",
                                 source="stripe_fee", lines=tuple(lines)), source=bt["id"])

    def _refund(self, bt: Obj, activity: StripeActivity, canonical: dict[str, str],
                out: Postings) -> None:
        """The ``credit_memo`` rule (``domain.credit_memos``)."""
        rid = ref(bt.get("source")) or ""
        refund = activity.refunds.get(rid)
        charge = activity.charges.get(activity.refund_charges.get(rid) or "")
        if refund is None or charge is None:
            raise PostingProblem(DocKind.CREDIT_MEMO, rid or bt["id"],
                                 f"balance_transaction {bt['id']}: refund {rid} or its charge "
                                 f"is not in the mirror")
        customer = self._customer(charge, activity, canonical, out)
        invoice_id = ref(charge.get("payment_intent")) or charge["id"]
        for doc, needs in refund_documents(bt, refund, charge, customer, invoice_id,
                                           activity.charge_invoices.get(charge["id"]), self.m):
            out.add(doc, source=bt["id"] if doc.kind is DocKind.JOURNAL else rid, needs=needs)

    def _reopen(self, bt: Obj, activity: StripeActivity, canonical: dict[str, str],
                out: Postings) -> None:
        """The ``reopen_receivable`` rule (``domain.receivables``)."""
        cid = ref(bt.get("source")) or ""
        charge = activity.charges.get(cid)
        if charge is None:
            raise PostingProblem(DocKind.INVOICE, bt["id"],
                                 f"balance_transaction {bt['id']}: charge {cid or None} it "
                                 f"takes back is not in the mirror")
        customer = self._customer(charge, activity, canonical, out)
        for doc, needs in reopen_documents(bt, charge, customer, self.m):
            out.add(doc, source=bt["id"] if doc.kind is DocKind.JOURNAL else cid, needs=needs)

    def _refund_tax(self, bt: Obj, activity: StripeActivity) -> int:
        """The tax share of a refund (or failed refund) of a charge that paid a taxed
        invoice, signed for Stripe clearing's side; 0 when the BT settled in another
        currency than the invoice's (``_refund_tax_in_invoice_currency`` books it)."""
        if bt.get("reporting_category") not in ("refund", "refund_failure"):
            return 0
        charge_id = activity.refund_charges.get(ref(bt.get("source")) or "")
        invoice = activity.charge_invoices.get(charge_id or "")
        if invoice is None or normalize_currency(invoice["currency"]) != normalize_currency(
                bt["currency"]):
            return 0
        return tax_share(int(bt["amount"]), invoice)

    def _refund_tax_in_invoice_currency(self, bt: Obj, activity: StripeActivity,
                                        rule: str | None) -> JournalEntry | None:
        """A refund (or failed refund) of a taxed invoice's charge that Stripe settled in
        another currency than the invoice's: its share of the tax, in the invoice's
        currency, moves between sales tax payable and the refund's account."""
        category = bt.get("reporting_category")
        if category not in ("refund", "refund_failure") or not rule:
            return None
        rid = ref(bt.get("source")) or ""
        invoice = activity.charge_invoices.get(activity.refund_charges.get(rid) or "")
        refund = activity.refunds.get(rid)
        if invoice is None or refund is None or normalize_currency(
                invoice["currency"]) == normalize_currency(bt["currency"]):
            return None
        share = tax_share((-1 if category == "refund" else 1) * int(refund["amount"]), invoice)
        if not share:
            return None
        currency, memo = normalize_currency(invoice["currency"]), f"Sales tax {rid}"
        return JournalEntry(external_id=f"{bt['id']}:tax", entry_date=utc_date(bt["created"]),
                            currency=currency, memo=memo, source="sales_tax",
                            lines=tuple(journal_lines(
                                [(self.m.account("sales_tax_payable"), -share),
                                 (self.m.account(rule), share)], currency, memo)))

    def _fx(self, bt: Obj, charge: Obj, presented: Money, settled: Money, out: Postings) -> None:
        """A charge presented in one currency and settled in another.

        The receipt lands in Stripe clearing in the charge's currency; Stripe paid the
        settlement currency.  Two journals exchange one for the other through the FX
        account: out of clearing at the presented amount, into clearing at exactly what
        Stripe settled.  The FX account then holds both legs, and the ERP's revaluation
        of it is the realised exchange difference.
        """
        fx, clearing = self.m.account("fx_gain_loss"), self.m.account("stripe_clearing")
        day = utc_date(bt["created"])
        rate = bt.get("exchange_rate")
        memo = f"FX {charge['id']} {presented.currency}->{settled.currency} @ {rate}"
        out.add(JournalEntry(external_id=f"{bt['id']}:fx-out", entry_date=day,
                             currency=presented.currency, memo=memo[:60], source="fx",
                             lines=tuple(journal_lines([(fx, presented.amount),
                                                 (clearing, -presented.amount)],
                                                presented.currency, memo))), source=bt["id"])
        out.add(JournalEntry(external_id=f"{bt['id']}:fx-in", entry_date=day,
                             currency=settled.currency, memo=memo[:60], source="fx",
                             lines=tuple(journal_lines([(clearing, settled.amount),
                                                 (fx, -settled.amount)],
                                                settled.currency, memo))), source=bt["id"])


def unit_prices(products: Iterable[Obj], prices: Iterable[Obj]) -> dict[tuple[str, str], int]:
    """(sku, currency) -> one-time unit amount, from products carrying a ``sku`` in metadata."""
    sku_of = {p["id"]: (p.get("metadata") or {}).get("sku") for p in products}
    out: dict[tuple[str, str], int] = {}
    for price in prices:
        sku = sku_of.get(ref(price.get("product")) or "")
        if sku and price.get("type") == "one_time" and price.get("unit_amount"):
            out[(sku, price["currency"])] = int(price["unit_amount"])
    return out
