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
* a ``payout`` BT of an automatic, paid payout: a bank deposit (Dr operating
  bank, Cr Stripe clearing) for the payout amount;
* any other BT (refund, dispute, dispute reversal, refund failure, payout
  failure, Stripe fees, adjustments): one journal by the general rule below.

General rule for a BT with ``amount``, ``fee`` and ``net = amount - fee``:
Stripe clearing takes ``net`` (debit when positive), the reporting category's
account takes ``-amount``, the fee account takes ``fee``; the three sum to zero,
so every journal balances by construction, to the minor unit, in the BT's
own currency.

Pure functions of the Stripe objects and the mapping: no I/O, no Dagster.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping as MappingT
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from .addresses import clean_text, customer_addresses
from .erp import (BankDeposit, Customer, DocKind, Document, InventoryAdjustment, Invoice,
                  JournalEntry, JournalLine, OrderLine, Payment, PaymentApplication, SalesOrder)
from .mapping import Mapping
from .money import Money, normalize_currency

# Posting order: a document only references documents of earlier kinds.
KIND_ORDER = (DocKind.CUSTOMER, DocKind.SALES_ORDER, DocKind.INVOICE, DocKind.PAYMENT,
              DocKind.JOURNAL, DocKind.INVENTORY, DocKind.DEPOSIT)
CHARGE_TYPES = {"charge", "payment"}
# (kind, external id) of the documents a document needs in the ERP first.
Dependency = tuple[DocKind, str]

Obj = dict[str, Any]


class PostingProblem(ValueError):
    """Stripe data that cannot become an ERP document (names the object and field)."""

    def __init__(self, kind: DocKind, external_id: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.external_id, self.message = kind, external_id, message


@dataclass
class StripeActivity:
    """The Stripe objects a posting run needs, by id (raw JSON as Stripe returns it)."""

    balance_transactions: list[Obj]
    charges: MappingT[str, Obj] = field(default_factory=dict)
    customers: MappingT[str, Obj] = field(default_factory=dict)
    payouts: MappingT[str, Obj] = field(default_factory=dict)
    # (sku, currency) -> unit amount, from the Stripe catalog (products with a "sku")
    unit_prices: MappingT[tuple[str, str], int] = field(default_factory=dict)


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


def utc_date(ts: int) -> date:
    return datetime.fromtimestamp(int(ts), tz=timezone.utc).date()


def ref(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


def journal_from_bt(bt: Obj, mapping: Mapping, external_id: str | None = None,
                    source: str | None = None) -> JournalEntry | None:
    """The general rule (see the module docstring); None when the BT moves nothing."""
    amount, fee = int(bt["amount"]), int(bt["fee"])
    net = amount - fee
    if amount == 0 and fee == 0:
        return None
    currency = normalize_currency(bt["currency"])
    category = bt.get("reporting_category") or bt.get("type") or "other_adjustment"
    legs = [(mapping.account("stripe_clearing"), net),
            (mapping.account_for_category(category), -amount),
            (_fee_account(category, mapping), fee)]
    lines = _lines(legs, currency, memo=bt.get("description") or "")
    return JournalEntry(external_id=external_id or bt["id"], entry_date=utc_date(bt["created"]),
                        currency=currency, memo=f"Stripe {category} {bt['id']}"[:60],
                        source=source or category, lines=tuple(lines))


def _fee_account(category: str, mapping: Mapping) -> str:
    return mapping.account("dispute_fees" if category.startswith("dispute")
                           else "merchant_fees")


def _lines(legs: list[tuple[str, int]], currency: str, memo: str) -> list[JournalLine]:
    """One-sided lines from signed legs (+ debit, - credit), merged per account."""
    merged: dict[str, int] = {}
    for account, value in legs:
        merged[account] = merged.get(account, 0) + value
    zero = Money(0, currency)
    return [JournalLine(account=a, debit=Money(v, currency) if v > 0 else zero,
                        credit=Money(-v, currency) if v < 0 else zero, memo=memo[:60])
            for a, v in merged.items() if v != 0]


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
                             currency=currency), source=charge["id"])
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
                         tax_exempt=first.get("tax_exempt") == "exempt"), source=key)
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
        kind = bt.get("type")
        if kind in CHARGE_TYPES:
            self._charge(bt, activity, canonical, out)
        elif kind == "payout":
            self._payout(bt, activity, out)
        else:
            journal = journal_from_bt(bt, self.m)
            if journal is not None:
                out.add(journal, source=bt["id"])

    def _charge(self, bt: Obj, activity: StripeActivity, canonical: dict[str, str],
                out: Postings) -> None:
        cid = ref(bt.get("source"))
        charge = activity.charges.get(cid or "")
        if charge is None:
            raise PostingProblem(DocKind.PAYMENT, cid or bt["id"],
                                 f"balance_transaction {bt['id']}: charge {cid} is not in the mirror")
        customer = self._customer(charge, activity, canonical, out)
        currency = normalize_currency(charge["currency"])
        amount = int(charge.get("amount_captured") or charge["amount"])
        day = utc_date(charge["created"])
        order_id = ref(charge.get("payment_intent")) or charge["id"]
        sku = (charge.get("metadata") or {}).get("sku") or None
        item = self.m.items.item_for(sku, None)
        unit = activity.unit_prices.get((sku or "", currency.lower()))
        qty = amount // unit if unit and amount % unit == 0 and amount >= unit else 1
        line = OrderLine(line_no=1, sku=item,
                         description=(charge.get("description") or item)[:60],
                         quantity=Decimal(qty), unit_price=Money(amount // qty, currency))
        out.add(SalesOrder(external_id=order_id, customer=customer, order_date=day,
                           currency=currency, lines=(line,)), source=charge["id"],
                needs=[(DocKind.CUSTOMER, customer)])
        out.add(Invoice(external_id=order_id, order=order_id, customer=customer, invoice_date=day,
                        due_date=day, currency=currency, lines=(line,),
                        total=Money(amount, currency)), source=charge["id"],
                needs=[(DocKind.CUSTOMER, customer), (DocKind.SALES_ORDER, order_id)])
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
            lines = _lines([(self.m.account("merchant_fees"), fee),
                            (self.m.account("stripe_clearing"), -fee)], bt_currency,
                           memo=f"Stripe fee {charge['id']}")
            out.add(JournalEntry(external_id=f"{bt['id']}:fee", entry_date=utc_date(bt["created"]),
                                 currency=bt_currency, memo=f"Stripe fee {charge['id']}",
                                 source="stripe_fee", lines=tuple(lines)), source=bt["id"])

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
                             lines=tuple(_lines([(fx, presented.amount),
                                                 (clearing, -presented.amount)],
                                                presented.currency, memo))), source=bt["id"])
        out.add(JournalEntry(external_id=f"{bt['id']}:fx-in", entry_date=day,
                             currency=settled.currency, memo=memo[:60], source="fx",
                             lines=tuple(_lines([(clearing, settled.amount),
                                                 (fx, -settled.amount)],
                                                settled.currency, memo))), source=bt["id"])

    def _payout(self, bt: Obj, activity: StripeActivity, out: Postings) -> None:
        pid = ref(bt.get("source"))
        payout = activity.payouts.get(pid or "")
        if payout is None:
            raise PostingProblem(DocKind.DEPOSIT, pid or bt["id"],
                                 f"balance_transaction {bt['id']}: payout {pid} is not in the mirror")
        # A payout that later fails keeps its deposit: its payout_failure BT's journal
        # (Dr clearing, Cr operating bank) reverses it.
        out.add(BankDeposit(external_id=payout["id"], bank_account=self.m.account("operating_bank"),
                            clearing_account=self.m.account("stripe_clearing"),
                            deposit_date=utc_date(payout.get("arrival_date") or payout["created"]),
                            amount=Money(int(payout["amount"]), payout["currency"])),
                source=payout["id"])


def unit_prices(products: Iterable[Obj], prices: Iterable[Obj]) -> dict[tuple[str, str], int]:
    """(sku, currency) -> one-time unit amount, from products carrying a ``sku`` in metadata."""
    sku_of = {p["id"]: (p.get("metadata") or {}).get("sku") for p in products}
    out: dict[tuple[str, str], int] = {}
    for price in prices:
        sku = sku_of.get(ref(price.get("product")) or "")
        if sku and price.get("type") == "one_time" and price.get("unit_amount"):
            out[(sku, price["currency"])] = int(price["unit_amount"])
    return out
