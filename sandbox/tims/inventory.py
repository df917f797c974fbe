"""Items, stock on hand per location, and inventory adjustments (no general-ledger effect:
the sandbox keeps no item costs)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from .checks import Check, now_iso
from .store import State
from .wire import Problem, field_error


def item(s: State, sku: str) -> dict[str, Any]:
    found = s.items.get(sku)
    if found is None:
        raise Problem(404, f"Item {sku} does not exist",
                      [field_error("sku", "UNKNOWN_ITEM", f"Item {sku} does not exist")])
    return found


def item_view(s: State, sku: str) -> dict[str, Any]:
    it = item(s, sku)
    locs = [{"locationId": loc, "onHand": qty} for (k, loc), qty in s.stock.items()
            if k == sku] if it["stocked"] else []
    return {**it, "locations": locs}


def quantity(s: State, sku: str, location: str | None) -> dict[str, Any]:
    it = item(s, sku)
    location = location or "MAIN"
    if location not in s.locations:
        raise Problem(404, f"Location {location} does not exist")
    on_hand = s.stock.get((sku, location), Decimal(0)) if it["stocked"] else Decimal(0)
    return {"sku": sku, "locationId": location, "onHand": on_hand, "allocated": Decimal(0),
            "available": on_hand}


def adjust(s: State, sku: str, body: Any, absolute: bool = False) -> dict[str, Any]:
    it = item(s, sku)
    c = Check(body)
    ext = s.external_ref(c, s.adjustments, "inventory adjustment")
    location = s.location_of(c, None)
    if absolute:
        target = c.number("onHand", non_negative=True)
        delta = None
    else:
        delta = c.number("delta", nonzero=True)
        target = None
    reason = c.string("reasonCode", default="ADJ")
    day = c.day("adjustmentDate", required=False) or date.today()
    if not it["stocked"]:
        c.err("sku", "NOT_STOCKED", f"Item {sku} is not a stocked item")
    c.done()
    before = s.stock.get((sku, location), Decimal(0))
    if absolute:
        delta = target - before
    after = before + delta
    s.stock[(sku, location)] = after
    adj_id = s.next_id("adjustment", "ADJ-{:06d}")
    rec = {"adjustmentId": adj_id, "sku": sku, "locationId": location, "delta": delta,
           "onHandBefore": before, "onHandAfter": after, "reasonCode": reason,
           "adjustmentDate": day.isoformat(), "externalReference": ext,
           "createdAt": now_iso()}
    s.adjustments.add(rec)
    return rec
