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
    stripe_clearing: str
    accounts_receivable: str
    operating_bank: str
    revenue: str
    merchant_fees: str
    refunds: str
    chargebacks: str
    dispute_fees: str
    fx_gain_loss: str
    suspense: str


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


class Mapping(_Strict):
    version: Literal[1]
    accounts: Accounts
    reporting_categories: dict[str, str]
    payment_methods: dict[str, str]
    bank_accounts: BankAccounts
    items: Items
    currencies: Currencies = Currencies()
    customers: Customers
    field_policies: FieldPolicies = FieldPolicies()

    @model_validator(mode="after")
    def _references(self) -> Mapping:
        names = set(Accounts.model_fields)
        for category, name in self.reporting_categories.items():
            if name not in names:
                raise ValueError(f"reporting_categories.{category}: {name!r} is not an account "
                                 f"name (one of {', '.join(sorted(names))})")
        if "default" not in self.payment_methods:
            raise ValueError("payment_methods.default is required")
        return self

    def account(self, name: str) -> str:
        return getattr(self.accounts, name)

    def account_for_category(self, category: str) -> str:
        return self.account(self.reporting_categories.get(category, "suspense"))

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
