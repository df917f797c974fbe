"""Epicor inventory (``Erp.BO.InventoryQtyAdjSvc`` adjustments, ``PartTranHist`` read-back,
``PartWhse`` on hand): the Stripe id in the adjustment's ``Reference``."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.erp import DocKind, InventoryAdjustment

from ..base import ErpNotFound, ErpRecord, ErpValidationError
from .http import error_from_body
from .updates import Created, atomic_batches
from .values import Row, dec, guid, qty, quote

if TYPE_CHECKING:
    from .adapter import EpicorAdapter


def create(a: EpicorAdapter, docs: list[InventoryAdjustment]) -> Created:
    errors: dict[str, ErpValidationError] = {}
    for sku in sorted({d.sku for d in docs} - set(a.inv_templates)):
        status, data = a.api.call_method("Erp.BO.InventoryQtyAdjSvc/GetInventoryQtyAdj",
                                         {"partnumber": sku, "uomCode": ""})
        rows = ((data or {}).get("returnObj") or {}).get("InventoryQtyAdj") or []
        if status >= 300 or not rows:
            err = error_from_body(data, status)
            for doc in docs:
                if doc.sku == sku:
                    errors[doc.external_id] = err
            continue
        a.inv_templates[sku] = rows[0]
    ok = [d for d in docs if d.external_id not in errors]

    def row_of(doc: InventoryAdjustment) -> Row:
        row = dict(a.inv_templates[doc.sku])
        row.update({"WareHseCode": doc.location, "AdjustQuantity": doc.delta,
                    "ReasonCode": doc.reason, "Reference": doc.external_id,
                    "SysRowID": guid(), "RowMod": "U"})
        return row

    return atomic_batches(a, ok, row_of, "Erp.BO.InventoryQtyAdjSvc/SetInventoryQtyAdj",
                          "InventoryQtyAdj", DocKind.INVENTORY, errors)


def read(a: EpicorAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    rows = a.lookups.rows(DocKind.INVENTORY, ids, None, None, "SysDate,SysTime,TranNum")
    out = []
    for r in rows:
        def make(r: Row = r) -> InventoryAdjustment:
            return InventoryAdjustment(external_id=r["TranReference"], sku=r["PartNum"],
                                       location=r["WareHouseCode"], delta=qty(r["TranQty"]),
                                       reason=r.get("ReasonCode") or "SALE")
        rec = a.lookups.build(DocKind.INVENTORY, r, make)
        if rec:
            out.append(rec)
    return out


def on_hand(a: EpicorAdapter, sku: str, location: str) -> Decimal:
    rows = a.api.query("Erp.BO.PartSvc/PartWhses",
                       f"PartNum eq {quote(sku)} and WarehouseCode eq {quote(location)}",
                       "PartNum,WarehouseCode,OnHandQty")
    rows = [r for r in rows if r.get("PartNum") == sku and r.get("WarehouseCode") == location]
    if not rows:
        if not a.api.query("Erp.BO.PartSvc/Parts", f"PartNum eq {quote(sku)}", "PartNum"):
            raise ErpNotFound(f"Part {sku} not found in Epicor", code="NotFound")
        return Decimal(0)
    return qty(sum((dec(r["OnHandQty"]) for r in rows), Decimal(0)))
