"""TIMS customers (``/customers``; key ``customerCode``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.erp import Address, Customer

from .values import cut

if TYPE_CHECKING:
    from .adapter import TimsAdapter

PATH = "/customers"


def payload(a: TimsAdapter, doc: Customer) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {"name": cut(doc.name, "name"), "currency": doc.currency,
                            "taxExempt": doc.tax_exempt, "externalReference": doc.external_id}
    if doc.email:
        body["email"] = doc.email
    if doc.phone:
        body["phone"] = cut(doc.phone, "phone")
    if doc.billing:
        b = doc.billing
        body["billingAddress"] = {
            "line1": cut(b.line1, "line"), "line2": cut(b.line2, "line"),
            "city": cut(b.city, "city"), "state": cut(b.region, "state"),
            "postalCode": cut(b.postal_code, "postalCode"), "country": b.country}
    return PATH, body


def record(a: TimsAdapter, it: dict[str, Any], ext: str) -> Customer:
    addr = it.get("billingAddress")
    return Customer(external_id=ext, name=it["name"], email=it.get("email"),
                    phone=it.get("phone"), currency=it["currency"],
                    tax_exempt=bool(it.get("taxExempt")),
                    billing=Address(line1=addr.get("line1"), line2=addr.get("line2"),
                                    city=addr.get("city"), region=addr.get("state"),
                                    postal_code=addr.get("postalCode"),
                                    country=addr.get("country")) if addr else None)
