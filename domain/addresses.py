"""Stripe addresses -> the canonical :class:`~domain.erp.Address`, normalised.

Stripe gives a customer two addresses (the installed ``stripe`` package's typed models,
``stripe.Customer.Address`` and ``stripe.Customer.Shipping.Address``): ``address`` (billing)
and ``shipping.address``, each with ``line1``, ``line2``, ``city``, ``state``, ``postal_code``
and ``country`` (ISO 3166-1 alpha-2).  Normalising means: surrounding blanks removed, runs of
white space (tabs, line breaks) made one space, empty parts absent, the country code in
capitals.  Nothing is shortened here: whether a value fits an ERP field is the field
policy's business (:mod:`domain.field_limits`), which never cuts silently.
"""
from __future__ import annotations

from typing import Any

from .erp import Address

# canonical part -> Stripe's name for it
STRIPE_PARTS = {"line1": "line1", "line2": "line2", "city": "city", "region": "state",
                "postal_code": "postal_code", "country": "country"}


def clean_text(value: Any) -> str | None:
    """A free-text value with its white space normalised; None when nothing is left."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def address_from_stripe(raw: Any) -> Address | None:
    """A Stripe address object as a canonical address; None when it holds nothing."""
    if not isinstance(raw, dict):
        return None
    parts = {part: clean_text(raw.get(name)) for part, name in STRIPE_PARTS.items()}
    if parts["country"]:
        parts["country"] = parts["country"].upper()
    if not any(parts.values()):
        return None
    return Address(**parts)


def customer_addresses(customer: dict[str, Any]) -> tuple[Address | None, Address | None]:
    """(billing, shipping) of a Stripe customer: ``address`` and ``shipping.address``."""
    shipping = customer.get("shipping")
    return (address_from_stripe(customer.get("address")),
            address_from_stripe(shipping.get("address") if isinstance(shipping, dict) else None))
