"""M3 stock adjustments through MMS850MI ``AddAdjust`` (PMSN = "I" + hash, found with
``GetMvxMsg``), read back from ``MITTRA``; on hand from MMS200MI ``GetItmWhsBal``."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.erp import DocKind, ErpRef, InventoryAdjustment

from ..base import ErpError, ErpRecord, PostResult, decimal_str
from .http import mi_error, mi_records
from .lookups import co, export
from .values import quote, short_key

if TYPE_CHECKING:
    from .adapter import InforAdapter


def pmsn(external_id: str) -> str:
    return short_key("I", external_id, 17)


def find(a: InforAdapter, ids: Sequence[str]) -> dict[str, ErpRef]:
    results = a.api.bulk("MMS850MI", [[{"transaction": "GetMvxMsg", "record": {
        "E0PB": a.partner, "PMSN": pmsn(e)}}] for e in ids])
    out = {}
    for e, items in zip(ids, results):
        recs = mi_records(items[0]) if mi_error(items[0]) is None else []
        if recs and recs[0].get("MSGN"):
            out[e] = a.ref(DocKind.INVENTORY, recs[0]["MSGN"], e)
    return out


def create(a: InforAdapter, docs: Sequence[InventoryAdjustment]) -> dict[str, PostResult]:
    groups = [[{"transaction": "AddAdjust", "record": {
        "E0PA": a.partner, "E065": a.message_type, "WHLO": a.whlo(d.location),
        "ITNO": d.sku, "QLQT": decimal_str(d.delta), "PMSN": pmsn(d.external_id),
        "PRFL": "*EXE", "BREM": d.reason[:20]}, "selectedColumns": ["MSNR"]}] for d in docs]
    out: dict[str, PostResult] = {}
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
    refs = find(a, ids)
    rows = export(a, [(["MTRIDN", "MTITNO", "MTWHLO", "MTTRQT", "MTBREM"], "MITTRA",
                       f"{co(a, 'MT')} and MTRIDN = {quote(refs[e].id)}")
                      for e in ids if e in refs])
    out = []
    for e, found in zip([e for e in ids if e in refs], rows):
        if not found:
            continue
        r = found[0]
        doc = InventoryAdjustment(external_id=e, sku=r["MTITNO"],
                                  location=a.location(r["MTWHLO"]),
                                  delta=Decimal(r["MTTRQT"]), reason=r["MTBREM"] or "SALE")
        out.append(ErpRecord(refs[e], doc))
    return out
