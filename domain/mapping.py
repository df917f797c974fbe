"""The mapping file: Stripe concepts -> ERP accounts, payment methods, items.

YAML validated with pydantic; errors name the offending path, e.g.
``mapping.yaml: reporting_categories.refund: 'refundz' is not an account name``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

from .field_limits import KNOWN_FIELDS, Policy

DEFAULT_MAPPING = Path(__file__).resolve().parents[1] / "config" / "mapping.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Accounts(_Strict):
    """The GL accounts postings use, by role (README "Accounting model")."""

    stripe_clearing: str        # the Stripe balance, available plus pending
    cash_in_transit: str        # payouts Stripe has sent that have not reached the bank
    stripe_reserve: str         # funds Stripe holds back (reserves, holds)
    accounts_receivable: str
    operating_bank: str
    revenue: str
    platform_revenue: str       # Connect application fees earned
    merchant_fees: str
    refunds: str
    chargebacks: str
    dispute_fees: str
    sales_tax_payable: str
    customer_funds: str         # customer money Stripe received but could not match yet
    stripe_financing: str       # Stripe Capital advances and repayments (a loan)
    connect_transfers: str      # money sent to (or collected from) connected accounts
    contributions: str          # Stripe Climate orders and contributions
    issuing_spend: str          # Stripe Issuing card spending and disputes
    stripe_adjustments: str     # Stripe's other adjustments, reviewed at close
    fx_gain_loss: str
    deferred_revenue: str       # liability: billed service not yet delivered (revenue recognition)


# Posting rules a reporting category can name instead of an account.
RULES = {
    "receipt": "cash receipt applied to the charge's invoice, fee to merchant fees",
    "reopen_receivable": "payment taken back (ACH/SEPA failure): the receivable is open again",
    "payout": "payout sent: Stripe clearing -> cash in transit; arrival: -> operating bank",
    "payout_reversal": "payout failed or cancelled: cash in transit -> Stripe clearing",
    "credit_memo": "refund: credit memo on the charge's invoice and a customer refund, in the "
                   "invoice's currency (adapters that post credit memos only)",
}


class BankAccounts(_Strict):
    stripe: str
    operating: str


class Items(_Strict):
    by_product: dict[str, str] = Field(default_factory=dict)
    by_sku: dict[str, str] = Field(default_factory=dict)
    default_item: str
    stocked_prefixes: list[str] = Field(default_factory=list)
    location: str

    def item_for(self, sku: str | None, product: str | None) -> str:
        if product and product in self.by_product:
            return self.by_product[product]
        if sku:
            return self.by_sku.get(sku, sku)
        return self.default_item

    def stocked(self, item: str) -> bool:
        return any(item.startswith(p) for p in self.stocked_prefixes)


class Currencies(_Strict):
    """``allowed``: the ISO codes the ERP takes (empty: every currency Stripe sends).  A
    Stripe object in another currency is a dead letter naming the currency."""

    allowed: list[str] = Field(default_factory=list)

    @field_validator("allowed")
    @classmethod
    def _codes(cls, codes: list[str]) -> list[str]:
        out = []
        for code in codes:
            upper = str(code).strip().upper()
            if len(upper) != 3 or not upper.isalpha():
                raise ValueError(f"{code!r} is not an ISO 4217 currency code")
            out.append(upper)
        return out

    def allows(self, currency: str) -> bool:
        return not self.allowed or currency.upper() in self.allowed


class FieldPolicies(_Strict):
    """What happens to a value longer than the ERP's field (``domain.field_limits``):
    ``default`` for every field, ``fields`` per field (``customer.billing.line1``)."""

    default: Policy = "dead_letter"
    fields: dict[str, Policy] = Field(default_factory=dict)

    @field_validator("fields")
    @classmethod
    def _known(cls, fields: dict[str, Policy]) -> dict[str, Policy]:
        unknown = sorted(set(fields) - set(KNOWN_FIELDS))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a field the product sends (one of "
                             f"{', '.join(KNOWN_FIELDS)})")
        return fields

    def policy(self, field: str) -> Policy:
        return self.fields.get(field, self.default)


class Customers(_Strict):
    match: list[Literal["external_id", "email"]] = Field(min_length=1)
    guest_external_id: str
    guest_name: str


class Tax(_Strict):
    """Where the sales tax Stripe computed goes (README "Accounting model")."""

    # true: on the ERP invoice (its sales tax account); false: the invoice carries the gross
    # and a journal moves the tax from revenue to sales_tax_payable (any ERP)
    on_invoice: bool = False


class RevenueRecognition(_Strict):
    """Accounts of the monthly revenue recognition journal (README "Revenue recognition").

    ``by_product``: Stripe product (or price) id -> the GL account its recognised revenue is
    credited to (default: ``accounts.revenue``).  ``contra``: where a credit of each kind takes
    revenue already recognised, as an account name of ``accounts``.
    """

    by_product: dict[str, str] = Field(default_factory=dict)
    contra: dict[Literal["credit_note", "refund", "dispute", "void", "uncollectible"], str] = Field(
        default_factory=lambda: {"credit_note": "refunds", "refund": "refunds",
                                 "dispute": "chargebacks", "void": "refunds",
                                 "uncollectible": "refunds"})

    @field_validator("by_product")
    @classmethod
    def _products(cls, accounts: dict[str, str]) -> dict[str, str]:
        for key, account in accounts.items():
            if not key.startswith(("prod_", "price_")):
                raise ValueError(f"{key!r}: not a Stripe product (prod_...) or price (price_...) id")
            if not str(account).strip():
                raise ValueError(f"{key}: empty GL account")
        return accounts

    @field_validator("contra")
    @classmethod
    def _contra(cls, accounts: dict[str, str]) -> dict[str, str]:
        names = set(Accounts.model_fields)
        for kind, name in accounts.items():
            if name not in names:
                raise ValueError(f"{kind}: {name!r} is not an account name (one of "
                                 f"{', '.join(sorted(names))})")
        return accounts


class Mapping(_Strict):
    version: Literal[2]
    accounts: Accounts
    # reporting_category -> account name or posting rule; every category Stripe documents
    reporting_categories: dict[str, str]
    # balance transaction type -> account name or rule, checked before reporting_category
    balance_types: dict[str, str] = Field(default_factory=dict)
    payment_methods: dict[str, str]
    bank_accounts: BankAccounts
    items: Items
    currencies: Currencies = Currencies()
    customers: Customers
    field_policies: FieldPolicies = FieldPolicies()
    tax: Tax = Tax()
    revenue_recognition: RevenueRecognition = RevenueRecognition()

    @model_validator(mode="after")
    def _references(self) -> Mapping:
        names = set(Accounts.model_fields)
        for section in ("reporting_categories", "balance_types"):
            for key, name in getattr(self, section).items():
                if name not in names and name not in RULES:
                    raise ValueError(
                        f"{section}.{key}: {name!r} is neither an account name (one of "
                        f"{', '.join(sorted(names))}) nor a posting rule (one of "
                        f"{', '.join(sorted(RULES))})")
        if "default" not in self.payment_methods:
            raise ValueError("payment_methods.default is required")
        return self

    def account(self, name: str) -> str:
        return getattr(self.accounts, name)

    def rule_for(self, bt_type: str | None, category: str | None) -> str | None:
        """The account name or posting rule for a balance transaction; None when unmapped
        (the caller dead-letters it, naming the category: nothing goes to a suspense account)."""
        return self.balance_types.get(bt_type or "") or self.reporting_categories.get(
            category or "")

    def revenue_account(self, revenue_key: str, kind: str) -> str:
        """The GL account a recognition journal credits for a product/plan and an entry kind
        (``recognition`` or a credit kind: its contra account)."""
        rr = self.revenue_recognition
        if kind == "recognition":
            return rr.by_product.get(revenue_key) or self.accounts.revenue
        name = rr.contra.get(kind)  # type: ignore[call-overload]
        if name is None:
            raise MappingError(f"revenue_recognition.contra.{kind}: no account for {kind} credits")
        return self.account(name)

    def payment_method(self, stripe_type: str | None) -> str:
        return self.payment_methods.get(stripe_type or "", self.payment_methods["default"])


class MappingError(ValueError):
    pass


def load_mapping(path: str | Path | None = None) -> Mapping:
    path = Path(path or DEFAULT_MAPPING)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{path}: {exc}") from None
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
                             for e in exc.errors())
        raise MappingError(f"{path.name}: {problems}") from None
