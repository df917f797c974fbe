"""TIMS customers (``/customers``; key ``customerCode``), with billing and shipping addresses.

Values are sent whole: the posting run has already applied the mapping's field policies to
the contract's lengths (``values.CUSTOMER_LIMITS``), and TIMS refuses anything longer
(``TOO_LONG``) rather than cut it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.erp import Address, Customer

if TYPE_CHECKING:
    from .adapter import TimsAdapter

PATH = "/customers"
# contract address field -> canonical part
_PARTS = {"line1": "line1", "line2": "line2", "city": "city", "state": "region",
          "postalCode": "postal_code", "country": "country"}


def _address_out(addr: Address | None) -> dict[str, Any] | None:
    if addr is None:
        return None
    return {name: getattr(addr, part) for name, part in _PARTS.items()}


def _address_in(raw: Any) -> Address | None:
    if not isinstance(raw, dict) or not any(raw.get(name) for name in _PARTS):
        return None
    return Address(**{part: raw.get(name) or None for name, part in _PARTS.items()})


def payload(a: TimsAdapter, doc: Customer) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {"name": doc.name, "currency": doc.currency,
                            "taxExempt": doc.tax_exempt, "externalReference": doc.external_id}
    if doc.email:
        body["email"] = doc.email
    if doc.phone:
        body["phone"] = doc.phone
    for field, addr in (("billingAddress", doc.billing), ("shippingAddress", doc.shipping)):
        if addr is not None:
            body[field] = _address_out(addr)
    return PATH, body


def record(a: TimsAdapter, it: dict[str, Any], ext: str) -> Customer:
    return Customer(external_id=ext, name=it["name"], email=it.get("email"),
                    phone=it.get("phone"), currency=it["currency"],
                    tax_exempt=bool(it.get("taxExempt")),
                    billing=_address_in(it.get("billingAddress")),
                    shipping=_address_in(it.get("shippingAddress")))
