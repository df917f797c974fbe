"""M3 customers (CRS610MI ``Add`` + ``ChgFinancial``): CUNO = "S" + hash, the Stripe id in
``YRE2``, found through ``OCUSMA`` (EXPORTMI)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.erp import Address, Customer, DocKind, ErpRef

from ..base import ErpRecord, ErpValidationError, PostResult
from .http import mi_error, mi_records
from .lookups import co, export
from .values import SAFE, quote, short_key

if TYPE_CHECKING:
    from .adapter import InforAdapter


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
    docs = [c for c in docs if c not in unsafe]
    groups = []
    for c in docs:
        cuno = short_key("S", c.external_id, 10)
        name = " ".join(c.name.split())[:36] or c.external_id[:36]
        bill = c.billing or Address()
        add = {"CUTM": a.customer_template, "CUNO": cuno, "CUNM": name, "CUA1": name,
               "CUA2": (bill.line1 or "")[:36], "CUA3": (bill.line2 or "")[:36],
               "TOWN": (bill.city or "")[:20], "PONO": (bill.postal_code or "")[:10],
               "ECAR": bill.region if bill.region and len(bill.region) <= 2 else "",
               "CSCD": (bill.country or "")[:3], "PHNO": c.phone or "",
               "MAIL": c.email or "", "YRE2": c.external_id}
        groups.append([
            {"transaction": "Add", "record": {k: v for k, v in add.items() if v},
             "selectedColumns": ["CUNO"]},
            {"transaction": "ChgFinancial", "record": {
                "CUNO": cuno, "CUCD": c.currency, "TXAP": "0" if c.tax_exempt else "1"}}])
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
    out = []
    for r in recs:
        ext = r.get("YRE2")
        if not ext:
            continue            # not a customer the product created (e.g. a template)
        a.cuno[ext], a.customer_ext[r["CUNO"]] = r["CUNO"], ext
        has_address = any(r.get(k) for k in ("CUA2", "CUA3", "TOWN", "ECAR", "PONO", "CSCD"))
        doc = Customer(external_id=ext, name=r.get("CUNM") or ext, email=r.get("MAIL") or None,
                       phone=r.get("PHNO") or None, currency=r.get("CUCD") or "USD",
                       billing=Address(line1=r.get("CUA2") or None, line2=r.get("CUA3") or None,
                                       city=r.get("TOWN") or None, region=r.get("ECAR") or None,
                                       postal_code=r.get("PONO") or None,
                                       country=r.get("CSCD") or None) if has_address else None,
                       tax_exempt=r.get("TXAP") == "0")
        out.append(ErpRecord(a.ref(DocKind.CUSTOMER, r["CUNO"], ext), doc))
    return out
