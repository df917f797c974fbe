"""The canonical ERP model: what the product posts, whatever the ERP.

Every document carries its Stripe source id as ``external_id`` (the natural
key adapters look up before creating) and amounts as :class:`Money` in
integer minor units.  Adapters translate these to their ERP's payloads and
decimals at the boundary; nothing else in the product knows an ERP's shape.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .money import Money


class DocKind(str, Enum):
    CUSTOMER = "customer"
    SALES_ORDER = "sales_order"
    INVOICE = "invoice"
    PAYMENT = "payment"          # cash receipt applied to invoices
    JOURNAL = "journal"
    INVENTORY = "inventory"      # inventory adjustment
    DEPOSIT = "deposit"          # bank deposit for a payout


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(_Doc):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2


class ErpRef(_Doc):
    """What the ERP assigned to a document: its key, and the natural key we found it by."""

    erp: str                  # tims | infor | epicor
    kind: DocKind
    id: str                   # ERP key, e.g. "EPIC06/1042", "1000000123", "C10042"
    external_id: str          # the Stripe id (natural key)


class Customer(_Doc):
    kind: Literal[DocKind.CUSTOMER] = DocKind.CUSTOMER
    external_id: str          # cus_…
    name: str
    email: str | None = None
    phone: str | None = None
    billing: Address | None = None     # Stripe customer.address
    shipping: Address | None = None    # Stripe customer.shipping.address
    currency: str             # ISO, upper
    tax_exempt: bool = False


class OrderLine(_Doc):
    line_no: int
    sku: str                  # ERP item / part
    description: str
    quantity: Decimal
    unit_price: Money


class SalesOrder(_Doc):
    kind: Literal[DocKind.SALES_ORDER] = DocKind.SALES_ORDER
    external_id: str          # pi_… / in_…
    customer: str             # customer external_id
    order_date: date
    currency: str
    lines: tuple[OrderLine, ...]

    @property
    def total(self) -> Money:
        return sum((Money(int(line.unit_price.amount * line.quantity), self.currency)
                    for line in self.lines), Money.zero(self.currency))


class Invoice(_Doc):
    kind: Literal[DocKind.INVOICE] = DocKind.INVOICE
    external_id: str          # in_… or the payment intent of a one-off charge
    order: str | None = None  # sales order external_id
    customer: str
    invoice_date: date
    due_date: date
    currency: str
    lines: tuple[OrderLine, ...]
    total: Money

    @model_validator(mode="after")
    def _total_matches_lines(self) -> Invoice:
        lines = sum(int(line.unit_price.amount * line.quantity) for line in self.lines)
        if self.total.currency != self.currency or lines != self.total.amount:
            raise ValueError(f"invoice {self.external_id}: total {self.total} != lines "
                             f"{lines} minor units {self.currency}")
        return self


class PaymentApplication(_Doc):
    invoice: str              # invoice external_id
    amount: Money


class Payment(_Doc):
    """A cash receipt (gross, in the charge's currency) applied to invoices."""

    kind: Literal[DocKind.PAYMENT] = DocKind.PAYMENT
    external_id: str          # ch_… / py_…
    customer: str
    received_date: date
    amount: Money
    method: str               # ERP payment method code (from the mapping)
    bank_account: str         # the ERP's "Stripe" bank/clearing account
    applications: tuple[PaymentApplication, ...] = ()
    reference: str = ""

    @model_validator(mode="after")
    def _applications_fit(self) -> Payment:
        applied = sum(a.amount.amount for a in self.applications)
        if any(a.amount.currency != self.amount.currency for a in self.applications):
            raise ValueError(f"payment {self.external_id}: application currency differs")
        if applied > self.amount.amount:
            raise ValueError(f"payment {self.external_id}: applies {applied} > received "
                             f"{self.amount.amount}")
        return self


class JournalLine(_Doc):
    account: str              # ERP GL account (already mapped)
    debit: Money
    credit: Money
    memo: str = ""

    @model_validator(mode="after")
    def _one_sided(self) -> JournalLine:
        if (self.debit.amount > 0) == (self.credit.amount > 0) or min(
                self.debit.amount, self.credit.amount) < 0:
            raise ValueError(f"journal line on {self.account}: exactly one of debit/credit "
                             f"must be positive")
        return self


class JournalEntry(_Doc):
    kind: Literal[DocKind.JOURNAL] = DocKind.JOURNAL
    external_id: str          # txn_… (+ suffix for one balance transaction's several entries)
    entry_date: date
    currency: str
    memo: str
    source: str               # stripe_fee | refund | dispute | dispute_reversal | payout | fx | …
    lines: tuple[JournalLine, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _balanced(self) -> JournalEntry:
        debit = sum(line.debit.amount for line in self.lines)
        credit = sum(line.credit.amount for line in self.lines)
        currencies = {line.debit.currency for line in self.lines} | {
            line.credit.currency for line in self.lines}
        if currencies != {self.currency}:
            raise ValueError(f"journal {self.external_id}: line currencies {sorted(currencies)} "
                             f"!= {self.currency}")
        if debit != credit or debit <= 0:
            raise ValueError(f"journal {self.external_id}: not balanced (debits {debit}, "
                             f"credits {credit})")
        return self


class InventoryAdjustment(_Doc):
    kind: Literal[DocKind.INVENTORY] = DocKind.INVENTORY
    external_id: str          # the sales order / charge that moved it, + ":" + sku
    sku: str
    location: str
    delta: Decimal            # negative = out
    reason: str = "SALE"


class BankDeposit(_Doc):
    """A Stripe payout arriving in the bank (Dr bank, Cr Stripe clearing)."""

    kind: Literal[DocKind.DEPOSIT] = DocKind.DEPOSIT
    external_id: str          # po_…
    bank_account: str
    clearing_account: str
    deposit_date: date        # the payout's arrival_date
    amount: Money             # net paid out
    status: Literal["paid", "failed"] = "paid"


Document = Customer | SalesOrder | Invoice | Payment | JournalEntry | InventoryAdjustment | BankDeposit

DOC_TYPES: dict[DocKind, type[_Doc]] = {
    DocKind.CUSTOMER: Customer, DocKind.SALES_ORDER: SalesOrder, DocKind.INVOICE: Invoice,
    DocKind.PAYMENT: Payment, DocKind.JOURNAL: JournalEntry,
    DocKind.INVENTORY: InventoryAdjustment, DocKind.DEPOSIT: BankDeposit,
}
