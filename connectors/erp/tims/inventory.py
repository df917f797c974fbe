"""TIMS inventory adjustments (``POST /inventory/items/{sku}/adjustments``, listed at
``/inventory/adjustments``) and quantity on hand."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from domain.erp import InventoryAdjustment

from .values import cut

if TYPE_CHECKING:
    from .adapter import TimsAdapter


def payload(a: TimsAdapter, doc: InventoryAdjustment) -> tuple[str, dict[str, Any]]:
    return f"/inventory/items/{quote(doc.sku, safe='')}/adjustments", {
        "locationId": doc.location, "delta": doc.delta,
        "reasonCode": cut(doc.reason, "reasonCode"), "externalReference": doc.external_id}


def record(a: TimsAdapter, it: dict[str, Any], ext: str) -> InventoryAdjustment:
    return InventoryAdjustment(external_id=ext, sku=it["sku"], location=it["locationId"],
                               delta=Decimal(str(it["delta"])), reason=it.get("reasonCode") or "")


def on_hand(a: TimsAdapter, sku: str, location: str) -> Decimal:
    body = a.api.get(f"/inventory/items/{quote(sku, safe='')}/quantity?"
                     + urlencode({"locationId": location}))
    return Decimal(str(body["onHand"]))
