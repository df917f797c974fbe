"""Prorations: invoice items for the unused and remaining time of a changed subscription item.

Stripe "calculates proration down to the second based on the starting timestamp of the
billing period and the timestamp of the proration's triggering event" (docs: billing/
scripts/prorations).  A change at ``at`` inside the item's period ``[start, end)`` creates
two invoice items (docs: billing/subscriptions/prorations, "Unused time on original plan
(credit)" / "Remaining time on new plan (debit)"):

* credit ``-round(old amount x (end - at) / (end - start))``, period ``[at, end]``,
  ``proration_details.credited_items`` naming the line that billed the period;
* charge ``+round(new amount x (end - at) / (end - start))``, period ``[at, end]``.

Both have ``proration: true`` and ``discountable: false`` (a captured Stripe proration line
shows ``"discountable": false``).  Rounding is half away from zero (*assumed*).  The items
stay pending (``invoice: null``) until the subscription's next invoice pulls them in
(``create_prorations``) or an invoice is created at once (``always_invoice``).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from . import render
from .errors import StripeError
from .store_schema import ROW

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]

ROW["invoiceitem"] = lambda o: (o["id"], o["date"], o["customer"],
                                (o["parent"] or {}).get("subscription_details", {}).get(
                                    "subscription"), o["invoice"], o["currency"], o["amount"])


def prorate(amount: int, start: int, end: int, at: int) -> int:
    """``amount`` for the part ``[at, end)`` of ``[start, end)``, to the second, half away
    from zero."""
    total, remaining = end - start, max(0, min(end, end - at))
    if total <= 0:
        return 0
    sign = -1 if amount < 0 else 1
    return sign * ((2 * abs(amount) * remaining + total) // (2 * total))


def _product_name(e: Engine, price: Obj) -> str:
    return e.load(price["product"], "product")["name"]


def _credited_line(e: Engine, sub: Obj, si_id: str) -> Obj | None:
    """The line of the subscription's latest invoice that billed ``si_id`` (None when that
    invoice is no longer at hand, e.g. during bulk history generation)."""
    if not sub["latest_invoice"]:
        return None
    try:
        inv = e.load(sub["latest_invoice"], "invoice")
    except StripeError:
        return None
    for line in inv["lines"]["data"]:
        details = line["parent"].get("subscription_item_details") or {}
        if details.get("subscription_item") == si_id and line["amount"] > 0:
            return line
    return None


def invoice_item(e: Engine, at: int, *, sub: Obj, si_id: str, price: Obj, quantity: int,
                 amount: int, period_end: int, description: str,
                 credited: Obj | None = None) -> Obj:
    """A pending proration ``invoiceitem`` (``ii_``) for subscription item ``si_id``."""
    credited_items = None if credited is None else {
        "invoice_item": None, "type": "invoice_line_items",
        "invoice_line_item_details": {"invoice": credited["invoice"],
                                      "invoice_line_items": [credited["id"]]}}
    item = {
        "id": e.ids.new("ii"), "object": "invoiceitem", "amount": amount,
        "currency": sub["currency"], "customer": sub["customer"], "customer_account": None,
        "date": at, "description": description, "discountable": False, "discounts": [],
        "invoice": None, "livemode": False, "metadata": {}, "net_amount": amount,
        "parent": {"subscription_details": {"subscription": sub["id"],
                                            "subscription_item": si_id},
                   "type": "subscription_details"},
        "period": {"end": period_end, "start": at},
        "pricing": {"price_details": {"price": price["id"], "product": price["product"]},
                    "type": "price_details", "unit_amount_decimal": price["unit_amount_decimal"]},
        "proration": True,
        "proration_details": {"credited_items": credited_items, "discount_amounts": []},
        "quantity": quantity, "quantity_decimal": str(quantity), "tax_rates": [],
        "test_clock": None,
    }
    e.put(item)
    e.emit("invoiceitem.created", item, at)
    return item


def _when(at: int) -> str:
    return time.strftime("%d %b %Y", time.gmtime(at))


def credit_unused(e: Engine, sub: Obj, si: Obj, at: int) -> Obj | None:
    """Credit for the unused time of ``si`` from ``at`` to its period end."""
    price, qty = si["price"], si["quantity"]
    start, end = si["current_period_start"], si["current_period_end"]
    amount = -prorate(price["unit_amount"] * qty, start, end, at)
    if amount == 0:
        return None
    return invoice_item(e, at, sub=sub, si_id=si["id"], price=price, quantity=qty,
                        amount=amount, period_end=end, credited=_credited_line(e, sub, si["id"]),
                        description=f"Unused time on {qty} × {_product_name(e, price)} "
                                    f"after {_when(at)}")


def charge_remaining(e: Engine, sub: Obj, si: Obj, price: Obj, qty: int, at: int) -> Obj | None:
    """Charge for the remaining time of ``si``'s period at the new ``price`` x ``qty``."""
    start, end = si["current_period_start"], si["current_period_end"]
    amount = prorate(price["unit_amount"] * qty, start, end, at)
    if amount == 0:
        return None
    return invoice_item(e, at, sub=sub, si_id=si["id"], price=price, quantity=qty,
                        amount=amount, period_end=end,
                        description=f"Remaining time on {qty} × {_product_name(e, price)} "
                                    f"after {_when(at)}")


def pending_items(e: Engine, sub: Obj) -> list[Obj]:
    """The subscription's invoice items not yet on an invoice, newest first (Stripe's line
    order puts pending invoice items first, in reverse chronological order)."""
    # Bulk history generation cannot read the store back; it only leaves items pending
    # within one operation (always_invoice, invoice_now), so ``_dirty`` holds them all.
    rows = [] if e.bulk else e.store.query(
        "SELECT id FROM objects WHERE object='invoiceitem' AND subscription=? AND invoice IS NULL",
        (sub["id"],))
    ids = {r[0] for r in rows} | {o["id"] for o, _ in e._dirty.values()
                                  if o["object"] == "invoiceitem" and o["invoice"] is None
                                  and _sub_of(o) == sub["id"]}
    items = [e.load(i, "invoiceitem") for i in ids]
    items = [i for i in items if i["invoice"] is None]
    return sorted(items, key=lambda i: (-i["date"], i["id"]))


def _sub_of(item: Obj) -> str | None:
    return ((item["parent"] or {}).get("subscription_details") or {}).get("subscription")


def line_from_item(e: Engine, item: Obj, invoice_id: str) -> Obj:
    """The invoice line an invoice item becomes (basil: ``parent.subscription_item_details``
    with ``invoice_item`` and ``proration``); the item records its invoice."""
    details = item["parent"]["subscription_details"]
    price = e.load(item["pricing"]["price_details"]["price"], "price")
    line = render.line_item(
        e.ids.new("il"), invoice=invoice_id, amount=item["amount"], currency=item["currency"],
        description=item["description"], price=price, quantity=item["quantity"],
        period_start=item["period"]["start"], period_end=item["period"]["end"],
        subscription=details["subscription"], subscription_item=details["subscription_item"],
        metadata={})
    credited = (item["proration_details"] or {}).get("credited_items") or {}
    line_details = credited.get("invoice_line_item_details")
    line["discountable"] = item["discountable"]
    line["parent"]["subscription_item_details"].update(
        invoice_item=item["id"], proration=item["proration"],
        proration_details={"credited_items": line_details})
    item["invoice"] = invoice_id
    e.put(item)
    return e.put(line)
