"""Customers, products, prices and plans."""
from __future__ import annotations

from typing import Any



def customer(
    id: str,
    created: int,
    *,
    email: str | None,
    name: str | None,
    phone: str | None,
    description: str | None,
    address: dict | None,
    metadata: dict,
    currency: str | None,
    invoice_prefix: str,
    default_payment_method: str | None,
    preferred_locales: list[str],
    tax_exempt: str = "none",
    shipping: dict | None = None,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "customer",
        "address": address,
        "balance": 0,
        "business_name": None,
        "created": created,
        "currency": currency,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": description,
        "discount": None,
        "email": email,
        "individual_name": None,
        "invoice_prefix": invoice_prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": default_payment_method,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": metadata,
        "name": name,
        "next_invoice_sequence": 1,
        "phone": phone,
        "preferred_locales": preferred_locales,
        "shipping": shipping,
        "tax_exempt": tax_exempt,
        "test_clock": None,
    }


def product(
    id: str,
    created: int,
    *,
    name: str,
    description: str | None,
    metadata: dict,
    active: bool,
    type: str,
    unit_label: str | None,
    url: str | None,
    images: list[str],
    shippable: bool | None,
    statement_descriptor: str | None,
    tax_code: str | None,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "product",
        "active": active,
        "created": created,
        "default_price": None,
        "description": description,
        "images": images,
        "livemode": False,
        "marketing_features": [],
        "metadata": metadata,
        "name": name,
        "package_dimensions": None,
        "shippable": shippable,
        "statement_descriptor": statement_descriptor,
        "tax_code": tax_code,
        "tax_details": None,
        "type": type,
        "unit_label": unit_label,
        "updated": created,
        "url": url,
    }


def price(
    id: str,
    created: int,
    *,
    product: str,
    currency: str,
    unit_amount: int,
    recurring: dict | None,
    nickname: str | None,
    lookup_key: str | None,
    metadata: dict,
    active: bool,
    tax_behavior: str,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "price",
        "active": active,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": metadata,
        "nickname": nickname,
        "product": product,
        "recurring": recurring,
        "tax_behavior": tax_behavior,
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def recurring(interval: str, interval_count: int) -> dict[str, Any]:
    return {
        "interval": interval,
        "interval_count": interval_count,
        "meter": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def plan_from_price(p: dict[str, Any]) -> dict[str, Any]:
    """Legacy ``plan`` mirror of a recurring price, still rendered on subscription items."""
    rec = p["recurring"] or {}
    return {
        "id": p["id"],
        "object": "plan",
        "active": p["active"],
        "amount": p["unit_amount"],
        "amount_decimal": p["unit_amount_decimal"],
        "billing_scheme": "per_unit",
        "created": p["created"],
        "currency": p["currency"],
        "interval": rec.get("interval"),
        "interval_count": rec.get("interval_count"),
        "livemode": False,
        "metadata": p["metadata"],
        "meter": None,
        "nickname": p["nickname"],
        "product": p["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }
