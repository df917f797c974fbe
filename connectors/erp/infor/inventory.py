"""M3 stock movements.

A sale's stock (an adjustment ``<order>:<sku>`` of an order M3 holds) leaves the
warehouse with the order's delivery (``deliveries``): M3 issues it when the picking list
is reported, so the product finds that issue in ``MITTRA`` (order number, item) instead of
adjusting the stock a second time, and waits while the order is not delivered.  Any other
adjustment goes through MMS850MI ``AddAdjust`` (PMSN = "I" + hash, found with
``GetMvxMsg``, read back from ``MITTRA``).  On hand from MMS200MI ``GetItmWhsBal``.
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.erp import DocKind, ErpRef, InventoryAdjustment

from ..base import ErpError, ErpRecord, PostResult, decimal_str
from .http import mi_error, mi_records
from .lookups import co, export
from .sales_orders import find_orders
from .values import quote, short_key

if TYPE_CHECKING:
    from .adapter import InforAdapter

ISSUE_COLS = ["MTRIDN", "MTITNO", "MTWHLO", "MTTRQT"]


def pmsn(external_id: str) -> str:
    return short_key("I", external_id, 17)


def sales(a: InforAdapter, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Adjustment id -> (ORNO, item) for the ids naming an order M3 holds (``order:sku``)."""
    parts = {e: e.rpartition(":") for e in ids}
    orders = find_orders(a, list(dict.fromkeys(o for o, _, sku in parts.values() if o and sku)))
    return {e: (orders[o].id, sku) for e, (o, _, sku) in parts.items() if o in orders and sku}


def issues(a: InforAdapter, wanted: dict[str, tuple[str, str]]) -> dict[str, list[dict]]:
    """Adjustment id -> the stock transactions of its order's delivery for its item."""
    ids = list(wanted)
    rows = export(a, [(ISSUE_COLS, "MITTRA", f"{co(a, 'MT')} and MTRIDN = {quote(wanted[e][0])} "
                                             f"and MTITNO = {quote(wanted[e][1])}") for e in ids])
    return {e: r for e, r in zip(ids, rows) if r}


def find(a: InforAdapter, ids: Sequence[str]) -> dict[str, ErpRef]:
    sold = sales(a, ids)
    out = {e: a.ref(DocKind.INVENTORY, "/".join(sold[e]), e) for e in issues(a, sold)}
    rest = [e for e in ids if e not in sold]
    results = a.api.bulk("MMS850MI", [[{"transaction": "GetMvxMsg", "record": {
        "E0PB": a.partner, "PMSN": pmsn(e)}}] for e in rest])
    for e, items in zip(rest, results):
        recs = mi_records(items[0]) if mi_error(items[0]) is None else []
        if recs and recs[0].get("MSGN"):
            out[e] = a.ref(DocKind.INVENTORY, recs[0]["MSGN"], e)
    return out


def create(a: InforAdapter, docs: Sequence[InventoryAdjustment]) -> dict[str, PostResult]:
    sold = sales(a, [d.external_id for d in docs])
    out: dict[str, PostResult] = {}
    for d in docs:
        if d.external_id in sold:            # not found: the order is not delivered yet
            orno, sku = sold[d.external_id]
            out[d.external_id] = PostResult(d.external_id, waiting=(
                f"waiting for M3 delivery: customer order {orno} is not delivered yet; its "
                f"delivery issues the stock of {sku}"))
    docs = [d for d in docs if d.external_id not in sold]
    groups = [[{"transaction": "AddAdjust", "record": {
        "E0PA": a.partner, "E065": a.message_type, "WHLO": a.whlo(d.location),
        "ITNO": d.sku, "QLQT": decimal_str(d.delta), "PMSN": pmsn(d.external_id),
        "PRFL": "*EXE", "BREM": d.reason[:20]}, "selectedColumns": ["MSNR"]}] for d in docs]
    for d, items in zip(docs, a.api.bulk("MMS850MI", groups, write=True)):
        recs = mi_records(items[0])
        msnr = recs[0].get("MSNR") if recs else None
        a.merge(out, d, [mi_error(items[0])],
                a.ref(DocKind.INVENTORY, msnr, d.external_id) if msnr else None)
    return out


def read(a: InforAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    if ids is None:
        raise ErpError("M3 (MMS850MI) cannot list stock adjustments by Stripe id: pass "
                       "external_ids")
    sold = sales(a, ids)
    out = []
    for e, rows in issues(a, sold).items():
        doc = InventoryAdjustment(external_id=e, sku=rows[0]["MTITNO"],
                                  location=a.location(rows[0]["MTWHLO"]),
                                  delta=sum((Decimal(r["MTTRQT"]) for r in rows), Decimal(0)))
        out.append(ErpRecord(a.ref(DocKind.INVENTORY, "/".join(sold[e]), e), doc))
    refs = find(a, [e for e in ids if e not in sold])
    rest = [e for e in ids if e in refs and e not in sold]
    rows = export(a, [(["MTRIDN", "MTITNO", "MTWHLO", "MTTRQT", "MTBREM"], "MITTRA",
                       f"{co(a, 'MT')} and MTRIDN = {quote(refs[e].id)}") for e in rest])
    for e, found in zip(rest, rows):
        if not found:
            continue
        r = found[0]
        doc = InventoryAdjustment(external_id=e, sku=r["MTITNO"],
                                  location=a.location(r["MTWHLO"]),
                                  delta=Decimal(r["MTTRQT"]), reason=r["MTBREM"] or "SALE")
        out.append(ErpRecord(refs[e], doc))
    return out
