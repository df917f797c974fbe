"""M3 customers (CRS610MI ``Add`` + ``ChgFinancial``): CUNO = "S" + hash, the Stripe id in
``YRE2``, found through ``OCUSMA`` (EXPORTMI).

The billing address is the customer's own address (``CUA2``/``CUA3`` street lines after the
name in ``CUA1``, ``TOWN``, ``ECAR``, ``PONO``, ``CSCD``); the shipping address is a delivery
address (``CRS610MI`` ``AddAddress``, address type ``01``, address id ``STRIPE``), what
'Customer. Connect Addresses' (OIS002) shows and customer orders take as delivery address.
Values are sent whole: the posting run has applied the mapping's field policies to M3's
field lengths (``CUSTOMER_LIMITS``), and M3 refuses anything longer.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.erp import Address, Customer, DocKind, ErpRef
from domain.field_limits import customer_limits

from ..base import ErpRecord, ErpValidationError, PostResult
from .http import mi_error, mi_records
from .lookups import co, export
from .values import SAFE, quote, short_key

if TYPE_CHECKING:
    from .adapter import InforAdapter

DELIVERY, ADDRESS_ID = "01", "STRIPE"     # OIS002 address type 01 = delivery address
# CRS610MI AddAddress required fields -> the canonical part they take
DELIVERY_REQUIRED = {"CUA1": "line1", "TOWN": "city", "PONO": "postal_code", "CSCD": "country"}
# CRS610MI lengths: CUNM 36, MAIL 50, PHNO 16; addresses CUA1-4 36, TOWN 20, ECAR 2, PONO 10,
# CSCD 3 (Add and AddAddress alike)
_ADDRESS = {"line1": 36, "line2": 36, "city": 20, "region": 2, "postal_code": 10, "country": 3}
CUSTOMER_LIMITS = customer_limits(name=36, email=50, phone=16, billing=_ADDRESS,
                                  shipping=_ADDRESS)


def customer_queries(a: InforAdapter, ids: Sequence[str]) -> list[tuple[list[str], str, str]]:
    return [(["OKCUNO", "OKYRE2"], "OCUSMA", f"{co(a, 'OK')} and OKYRE2 = {quote(e)}")
            for e in ids]


def learn_customers(a: InforAdapter, ids: Sequence[str], rows_per_id: Sequence[list[dict]]) -> None:
    for ext, rows in zip(ids, rows_per_id):
        if rows:
            a.cuno[ext] = rows[0]["OKCUNO"]
            a.customer_ext[rows[0]["OKCUNO"]] = ext


def find_customers(a: InforAdapter, ids: Sequence[str]) -> dict[str, ErpRef]:
    todo = [e for e in ids if e not in a.cuno and SAFE.match(e)]
    learn_customers(a, todo, export(a, customer_queries(a, todo)))
    return {e: a.ref(DocKind.CUSTOMER, a.cuno[e], e) for e in ids if e in a.cuno}


def create(a: InforAdapter, docs: Sequence[Customer]) -> dict[str, PostResult]:
    out: dict[str, PostResult] = {}
    unsafe = [c for c in docs if not SAFE.match(c.external_id)]
    for c in unsafe:        # could not be found again (EXPORTMI has no quoting)
        out[c.external_id] = PostResult(c.external_id, error=ErpValidationError(
            f"Customer id {c.external_id!r} has characters M3 lookups cannot quote",
            field="YRE2"))
    for c in docs:
        missing = [f for f, part in DELIVERY_REQUIRED.items()
                   if c.shipping and not getattr(c.shipping, part)]
        if missing and c not in unsafe:
            out[c.external_id] = PostResult(c.external_id, error=ErpValidationError(
                f"Customer {c.external_id}: its shipping address lacks "
                f"{', '.join(DELIVERY_REQUIRED[f] for f in missing)}, which M3 requires of a "
                f"delivery address (CRS610MI AddAddress {', '.join(missing)})",
                field=missing[0]))
    docs = [c for c in docs if c.external_id not in out]
    groups = []
    for c in docs:
        cuno = short_key("S", c.external_id, 10)
        bill = c.billing or Address()
        add = {"CUTM": a.customer_template, "CUNO": cuno, "CUNM": c.name, "CUA1": c.name,
               "CUA2": bill.line1, "CUA3": bill.line2, "TOWN": bill.city,
               "PONO": bill.postal_code, "ECAR": bill.region, "CSCD": bill.country,
               "PHNO": c.phone, "MAIL": c.email, "YRE2": c.external_id}
        group = [
            {"transaction": "Add", "record": {k: v for k, v in add.items() if v},
             "selectedColumns": ["CUNO"]},
            {"transaction": "ChgFinancial", "record": {
                "CUNO": cuno, "CUCD": c.currency, "TXAP": "0" if c.tax_exempt else "1"}}]
        if c.shipping:
            ship = c.shipping
            delivery = {"CUNO": cuno, "ADRT": DELIVERY, "ADID": ADDRESS_ID, "CUNM": c.name,
                        "CUA1": ship.line1, "CUA2": ship.line2, "TOWN": ship.city,
                        "ECAR": ship.region, "PONO": ship.postal_code, "CSCD": ship.country}
            group.append({"transaction": "AddAddress",
                          "record": {k: v for k, v in delivery.items() if v}})
        groups.append(group)
    for doc, items in zip(docs, a.api.bulk("CRS610MI", groups, write=True)):
        recs = mi_records(items[0])
        cuno = recs[0].get("CUNO") if recs else None
        ref = a.ref(DocKind.CUSTOMER, cuno, doc.external_id) if cuno else None
        if cuno and mi_error(items[0]) is None:
            a.cuno[doc.external_id], a.customer_ext[cuno] = cuno, doc.external_id
        a.merge(out, doc, [mi_error(i) for i in items], ref)
    return out


def customer_ids(a: InforAdapter, cunos: Sequence[str]) -> dict[str, str]:
    """CUNO -> Stripe id (YRE2) for the given customers."""
    todo = [c for c in dict.fromkeys(cunos) if c and c not in a.customer_ext]
    if todo:
        results = a.api.bulk("CRS610MI", [[{"transaction": "GetBasicData",
                                            "record": {"CUNO": c},
                                            "selectedColumns": ["CUNO", "YRE2"]}]
                                          for c in todo])
        for cuno, items in zip(todo, results):
            recs = mi_records(items[0])
            a.customer_ext[cuno] = (recs[0].get("YRE2") if recs else "") or cuno
    return {c: a.customer_ext.get(c, c) for c in cunos}


def read(a: InforAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    if ids is not None:
        refs = find_customers(a, ids)
        cunos = [refs[e].id for e in ids if e in refs]
        results = a.api.bulk("CRS610MI", [[{"transaction": "LstByNumber",
                                            "record": {"CUNO": c}}] for c in cunos],
                             maxrecs=1)
        recs = [r for items, c in zip(results, cunos) for r in mi_records(items[0])
                if r.get("CUNO") == c]
    else:
        recs, start = [], ""
        while True:
            data = a.api.call("GET", f"{a.execute_url}/CRS610MI/LstByNumber",
                              params={"cono": a.cono, "divi": a.divi, "maxrecs": 500,
                                      "CUNO": start})
            page = mi_records((data.get("results") or [{}])[0])
            page = [r for r in page if r.get("CUNO") != start or not start]
            if not page:
                break
            recs.extend(page)
            start = page[-1]["CUNO"]
    recs = [r for r in recs if r.get("YRE2")]  # others: not the product's (e.g. a template)
    shipping = delivery_addresses(a, [r["CUNO"] for r in recs])
    out = []
    for r in recs:
        ext = r["YRE2"]
        a.cuno[ext], a.customer_ext[r["CUNO"]] = r["CUNO"], ext
        doc = Customer(external_id=ext, name=r.get("CUNM") or ext, email=r.get("MAIL") or None,
                       phone=r.get("PHNO") or None, currency=r.get("CUCD") or "USD",
                       billing=_address(r, "CUA2", "CUA3"), shipping=shipping.get(r["CUNO"]),
                       tax_exempt=r.get("TXAP") == "0")
        out.append(ErpRecord(a.ref(DocKind.CUSTOMER, r["CUNO"], ext), doc))
    return out


def _address(r: dict[str, str], line1: str, line2: str) -> Address | None:
    fields = {"line1": line1, "line2": line2, "city": "TOWN", "region": "ECAR",
              "postal_code": "PONO", "country": "CSCD"}
    parts = {part: (r.get(f) or "").strip() or None for part, f in fields.items()}
    return Address(**parts) if any(parts.values()) else None


def delivery_addresses(a: InforAdapter, cunos: Sequence[str]) -> dict[str, Address]:
    """CUNO -> the product's delivery address (CRS610MI LstAddresses, type 01, id STRIPE)."""
    if not cunos:
        return {}
    results = a.api.bulk("CRS610MI", [[{"transaction": "LstAddresses",
                                        "record": {"CUNO": c, "ADRT": DELIVERY}}]
                                      for c in cunos])
    out: dict[str, Address] = {}
    for cuno, items in zip(cunos, results):
        for rec in mi_records(items[0]):
            if rec.get("ADID", "").strip() == ADDRESS_ID and (addr := _address(
                    rec, "CUA1", "CUA2")):
                out[cuno] = addr
    return out
