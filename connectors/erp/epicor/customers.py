"""Epicor customers (``Erp.BO.CustomerSvc``): the Stripe id in ``ExternalID``.

The billing address is the customer's main address (``Address1``-``3``, ``City``, ``State``,
``Zip``, ``Country``); the shipping address is a ship-to of the customer (``ShipTo`` row
``STRIPE``, with its ``ZIP`` in capitals as Epicor names it), saved in the same
``UpdateExt`` as the customer. Values are sent whole: the posting run has applied the
mapping's field policies to the widths in ``CUSTOMER_LIMITS``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from domain.erp import Address, Customer, DocKind
from domain.field_limits import customer_limits

from ..base import ErpRecord, ErpValidationError
from .updates import Created, update_ext
from .values import Row, cust_id, guid

if TYPE_CHECKING:
    from .adapter import EpicorAdapter


SHIP_TO = "STRIPE"               # the ship-to holding the Stripe shipping address
# [A] widths (see the sandbox README): Name, Address1-3, City, State, Country 50; Zip 10
_ADDRESS = {"line1": 50, "line2": 50, "city": 50, "region": 50, "postal_code": 10,
            "country": 50}
CUSTOMER_LIMITS = customer_limits(name=50, email=None, phone=None, billing=_ADDRESS,
                                  shipping=_ADDRESS)


def _address_row(addr: Address | None, zip_field: str) -> Row:
    addr = addr or Address()
    return {"Address1": addr.line1 or "", "Address2": addr.line2 or "", "City": addr.city or "",
            "State": addr.region or "", zip_field: addr.postal_code or "",
            "Country": addr.country or ""}


def create(a: EpicorAdapter, docs: list[Customer]) -> Created:
    rows, ship_tos, owners = [], [], {}
    for n, doc in enumerate(docs, start=1):
        sysrow = guid()
        owners[sysrow] = doc.external_id
        rows.append({
            "CustNum": -n,          # placeholder linking its ship-to; Epicor assigns the key
            "CustID": cust_id(doc.external_id), "Name": doc.name,
            "EMailAddress": doc.email or "", "PhoneNum": doc.phone or "",
            **_address_row(doc.billing, "Zip"), "CurrencyCode": doc.currency,
            "TaxExempt": "EXEMPT" if doc.tax_exempt else "", "ExternalID": doc.external_id,
            "CheckDuplicatePO": True, "SysRowID": sysrow, "RowMod": "A"})
        if doc.shipping is not None:
            ship_row = guid()
            owners[ship_row] = doc.external_id
            ship_tos.append({"CustNum": -n, "ShipToNum": SHIP_TO, "Name": doc.name,
                             **_address_row(doc.shipping, "ZIP"), "SysRowID": ship_row,
                             "RowMod": "A"})
    ds: dict[str, list[Row]] = {"Customer": rows}
    if ship_tos:
        ds["ShipTo"] = ship_tos
    return update_ext(a, "Erp.BO.CustomerSvc", ds, owners, "Customer", DocKind.CUSTOMER)


def customers_of(a: EpicorAdapter, docs: Sequence[Any], errors: dict[str, ErpValidationError]
                 ) -> dict[str, Row]:
    """Key rows of the documents' customers; a document whose customer is missing gets an
    error in ``errors``."""
    custs = a.lookups.resolve(DocKind.CUSTOMER, [d.customer for d in docs])
    for doc in docs:
        if doc.customer not in custs:
            errors[doc.external_id] = ErpValidationError(
                f"Customer {doc.customer} not found in Epicor (Customer.ExternalID).",
                field="CustNum", code="NotFound")
    return custs


def read(a: EpicorAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    rows = a.lookups.rows(DocKind.CUSTOMER, ids, None, "ShipToes", "CustNum")
    out = []
    for r in rows:
        def make(r: Row = r) -> Customer:
            ship = next((s for s in r.get("ShipToes") or [] if s.get("ShipToNum") == SHIP_TO),
                        None)
            return Customer(external_id=r["ExternalID"], name=r["Name"],
                            email=r.get("EMailAddress") or None,
                            phone=r.get("PhoneNum") or None,
                            billing=_address_in(r, "Zip"),
                            shipping=_address_in(ship, "ZIP") if ship else None,
                            currency=r["CurrencyCode"], tax_exempt=bool(r.get("TaxExempt")))
        rec = a.lookups.build(DocKind.CUSTOMER, r, make)
        if rec:
            out.append(rec)
    return out


def _address_in(r: Row, zip_field: str) -> Address | None:
    addr = Address(line1=r.get("Address1") or None, line2=r.get("Address2") or None,
                   city=r.get("City") or None, region=r.get("State") or None,
                   postal_code=r.get(zip_field) or None, country=r.get("Country") or None)
    return addr if any(addr.model_dump().values()) else None
