"""Epicor customers (``Erp.BO.CustomerSvc``): the Stripe id in ``ExternalID``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from domain.erp import Address, Customer, DocKind

from ..base import ErpRecord, ErpValidationError
from .updates import Created, update_ext
from .values import Row, cust_id, guid

if TYPE_CHECKING:
    from .adapter import EpicorAdapter


def create(a: EpicorAdapter, docs: list[Customer]) -> Created:
    rows, owners = [], {}
    for doc in docs:
        sysrow = guid()
        owners[sysrow] = doc.external_id
        bill = doc.billing or Address()
        rows.append({
            "CustID": cust_id(doc.external_id), "Name": doc.name[:50],
            "EMailAddress": doc.email or "", "PhoneNum": doc.phone or "",
            "Address1": bill.line1 or "", "Address2": bill.line2 or "",
            "City": bill.city or "", "State": bill.region or "", "Zip": bill.postal_code or "",
            "Country": bill.country or "", "CurrencyCode": doc.currency,
            "TaxExempt": "EXEMPT" if doc.tax_exempt else "", "ExternalID": doc.external_id,
            "CheckDuplicatePO": True, "SysRowID": sysrow, "RowMod": "A"})
    return update_ext(a, "Erp.BO.CustomerSvc", {"Customer": rows}, owners, "Customer",
                      DocKind.CUSTOMER)


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
    rows = a.lookups.rows(DocKind.CUSTOMER, ids, None, None, "CustNum")
    out = []
    for r in rows:
        def make(r: Row = r) -> Customer:
            addr = Address(line1=r.get("Address1") or None, line2=r.get("Address2") or None,
                           city=r.get("City") or None, region=r.get("State") or None,
                           postal_code=r.get("Zip") or None, country=r.get("Country") or None)
            return Customer(external_id=r["ExternalID"], name=r["Name"],
                            email=r.get("EMailAddress") or None,
                            phone=r.get("PhoneNum") or None,
                            billing=addr if any(addr.model_dump().values()) else None,
                            currency=r["CurrencyCode"], tax_exempt=bool(r.get("TaxExempt")))
        rec = a.lookups.build(DocKind.CUSTOMER, r, make)
        if rec:
            out.append(rec)
    return out
