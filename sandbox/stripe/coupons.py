"""Coupons, discounts and the discounted totals of subscription invoices.

Shapes: stripe-python 16.1 ``Coupon`` (``percent_off``/``amount_off`` + ``currency``,
``duration`` once/repeating/forever, ``duration_in_months``, ``max_redemptions``,
``times_redeemed``, ``valid``) and ``Discount`` (``di_``; ``source: {coupon, type:
"coupon"}``, ``start``, ``end``, ``subscription``, ``customer``).  A subscription lists its
discounts in ``discounts`` (ids).  Its invoices carry them in ``discounts``, per discount in
``total_discount_amounts`` ("the aggregate amounts calculated per discount across all line
items") and per line in ``discount_amounts``; the lines' ``pretax_credit_amounts`` repeat
them (``type: "discount"``).

Rules: ``percent_off`` takes that share of each discountable line, half-up (*assumed*);
``amount_off`` ("taken off the subtotal of any invoices") is spread over the discountable
lines in proportion to their amounts, largest remainder, never more than they sum to
(*assumed*).  ``once`` applies to the first invoice after it was applied, ``repeating``
while the invoice is created before ``discount.end`` (start + ``duration_in_months``),
``forever`` always.  ``total_excluding_tax = subtotal - discounts``.  The subscription's
``default_tax_rates`` (exclusive) tax each line's discounted amount, half-up per line (as
:mod:`.invoicing`), in line ``taxes`` and invoice ``total_taxes``; ``total =
total_excluding_tax + tax``; a negative total is due as 0 (the customer's balance takes the
credit at finalization, ``billing._apply_balance``).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from . import render
from .clock import add_months
from .errors import invalid, missing
from .invoicing import line_tax, tax_entry
from .params import get_enum, get_int, get_metadata, get_str, merge_metadata
from .store_schema import ROW

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]

ROW["coupon"] = lambda o: (o["id"], o["created"], o["currency"], 1 if o.get("deleted") else None)
ROW["discount"] = lambda o: (o["id"], o["start"], o["customer"], o["subscription"])


# --------------------------------------------------------------------------- API


def create_coupon(e: Engine, params: dict[str, Any], t: int) -> Obj:
    percent = params.get("percent_off")
    amount_off = get_int(params, "amount_off", minimum=1)
    if (percent in (None, "")) == (amount_off is None):
        raise invalid("You must pass exactly one of percent_off or amount_off.",
                      param="percent_off")
    currency = (get_str(params, "currency") or "").lower() or None
    if amount_off is not None and currency is None:
        raise missing("currency")
    pct = None
    if percent not in (None, ""):
        pct = float(Decimal(str(percent)))
        if not 0 < pct <= 100:
            raise invalid("percent_off must be between 0 and 100.", param="percent_off")
    duration = get_enum(params, "duration", ("forever", "once", "repeating"), "once")
    months = get_int(params, "duration_in_months", minimum=1)
    if duration == "repeating" and months is None:
        raise missing("duration_in_months")
    cid = get_str(params, "id") or e.ids.secret(8)
    coupon = {
        "id": cid, "object": "coupon", "amount_off": amount_off, "applies_to": None,
        "created": t, "currency": currency if amount_off is not None else None,
        "currency_options": None, "duration": duration,
        "duration_in_months": months if duration == "repeating" else None,
        "livemode": False, "max_redemptions": get_int(params, "max_redemptions", minimum=1),
        "metadata": get_metadata(params) or {}, "name": get_str(params, "name"),
        "percent_off": pct, "redeem_by": get_int(params, "redeem_by"), "times_redeemed": 0,
        "valid": True,
    }
    e.put(coupon)
    e.emit("coupon.created", coupon, t)
    return coupon


def update_coupon(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    coupon = load_coupon(e, id)
    previous: dict[str, Any] = {}
    if "name" in params:
        previous["name"] = coupon["name"]
        coupon["name"] = get_str(params, "name")
    if "metadata" in params:
        previous["metadata"] = coupon["metadata"]
        coupon["metadata"] = merge_metadata(coupon["metadata"], get_metadata(params))
    e.put(coupon)
    e.emit("coupon.updated", coupon, t, previous)
    return coupon


def delete_coupon(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    """Deleting a coupon keeps the discounts already applied (the engine keeps the full
    coupon in memory for them); the API answers with the deleted stub."""
    coupon = load_coupon(e, id)
    coupon.update(valid=False, deleted=True)
    e.emit("coupon.deleted", e.put(coupon), t)
    stub = render.deleted(id, "coupon")
    e._dirty[id][1] = render.dumps(stub)
    return stub


def load_coupon(e: Engine, id: str, param: str = "id") -> Obj:
    coupon = e.load(id, "coupon", param)
    if coupon.get("deleted"):
        raise invalid(f"No such coupon: '{id}'", param=param, code="resource_missing")
    return coupon


# --------------------------------------------------------------------------- discounts


def parse_discounts(e: Engine, params: dict[str, Any], currency: str) -> list[Obj]:
    """The coupons named by ``discounts[i][coupon]`` (validated against ``currency``)."""
    raw = params.get("discounts")
    if raw in (None, ""):
        return []
    rows = [raw[k] for k in sorted(raw, key=int)] if isinstance(raw, dict) else raw
    coupons = []
    for i, row in enumerate(rows):
        cid = get_str(row, "coupon")
        if cid is None:
            raise invalid("Only discounts[][coupon] is supported by the sandbox.",
                          param=f"discounts[{i}]")
        coupon = load_coupon(e, cid, f"discounts[{i}][coupon]")
        if not coupon["valid"]:
            raise invalid(f"Coupon {cid} is no longer valid.", param=f"discounts[{i}][coupon]")
        if coupon["amount_off"] is not None and coupon["currency"] != currency:
            raise invalid(f"The coupon {cid} is in {coupon['currency']} and cannot be applied "
                          f"to a {currency} subscription.", param=f"discounts[{i}][coupon]")
        coupons.append(coupon)
    return coupons


def apply_discount(e: Engine, coupon: Obj, sub: Obj, t: int) -> Obj:
    """A ``discount`` of ``coupon`` on subscription ``sub`` starting at ``t``."""
    end = add_months(t, coupon["duration_in_months"]) if coupon["duration"] == "repeating" \
        else None
    di = {"id": e.ids.new("di"), "object": "discount", "checkout_session": None,
          "customer": sub["customer"], "customer_account": None, "end": end, "invoice": None,
          "invoice_item": None, "promotion_code": None,
          "source": {"coupon": coupon["id"], "type": "coupon"}, "start": t,
          "subscription": sub["id"], "subscription_item": None}
    coupon["times_redeemed"] += 1
    if coupon["max_redemptions"] and coupon["times_redeemed"] >= coupon["max_redemptions"]:
        coupon["valid"] = False
    e.put(coupon)
    e.put(di)
    e.emit("customer.discount.created", di, t)
    return di


def active_discounts(e: Engine, sub: Obj | None, t: int) -> list[tuple[Obj, Obj]]:
    """(discount, coupon) pairs that apply to an invoice of ``sub`` created at ``t``."""
    out = []
    for di_id in (sub or {}).get("discounts") or []:
        di = e.load(di_id, "discount")
        if di["end"] is not None and t >= di["end"]:
            continue
        out.append((di, e.load(di["source"]["coupon"], "coupon")))
    return out


def spent_once(e: Engine, sub: Obj, used: list[tuple[Obj, Obj]], t: int) -> None:
    """A ``once`` coupon's discount leaves the subscription after its first invoice
    (``customer.discount.deleted``)."""
    gone = [di for di, coupon in used if coupon["duration"] == "once"]
    if not gone:
        return
    for di in gone:
        di["end"] = t
        e.put(di)
        e.emit("customer.discount.deleted", di, t)
    ids = {di["id"] for di in gone}
    previous = {"discounts": sub["discounts"]}
    sub["discounts"] = [d for d in sub["discounts"] if d not in ids]
    e.put(sub)
    e.emit("customer.subscription.updated", sub, t, previous)


# --------------------------------------------------------------------------- totals


def _percent(amount: int, pct: float) -> int:
    return int((Decimal(amount) * Decimal(str(pct)) / 100).quantize(Decimal(1), ROUND_HALF_UP))


def _spread(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder, first wins ties)."""
    whole = sum(weights)
    if whole <= 0:
        return [0] * len(weights)
    parts = [total * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _tax(amount: int, rate: Obj) -> int:
    """Exclusive tax on a (possibly negative) amount, half away from zero."""
    return line_tax(amount, rate) if amount >= 0 else -line_tax(-amount, rate)


def settle(inv: Obj, discounts: list[tuple[Obj, Obj]], rates: list[Obj] | None = None) -> None:
    """Discount amounts per line, the subscription's tax rates on the discounted amounts, and
    the invoice's totals (see module docstring)."""
    lines = inv["lines"]["data"]
    left = {li["id"]: li["amount"] for li in lines}
    totals = []
    for li in lines:
        li["discount_amounts"], li["pretax_credit_amounts"] = [], []
    for di, coupon in discounts:
        eligible = [li for li in lines if li["discountable"] and left[li["id"]] > 0]
        if coupon["percent_off"] is not None:
            parts = [_percent(left[li["id"]], coupon["percent_off"]) for li in eligible]
        else:
            cap = min(coupon["amount_off"], sum(left[li["id"]] for li in eligible))
            parts = _spread(cap, [left[li["id"]] for li in eligible])
        for li, part in zip(eligible, parts):
            left[li["id"]] -= part
            li["discount_amounts"].append({"amount": part, "discount": di["id"]})
            li["pretax_credit_amounts"].append({"amount": part, "credit_balance_transaction":
                                                None, "discount": di["id"], "type": "discount"})
        totals.append({"amount": sum(parts), "discount": di["id"]})
    by_rate: dict[str, list[int]] = {}
    for li in lines:
        taxable = left[li["id"]]
        li["taxes"] = [tax_entry(_tax(taxable, r), taxable, r) for r in rates or ()]
        for r, x in zip(rates or (), li["taxes"]):
            acc = by_rate.setdefault(r["id"], [0, 0])
            acc[0] += x["amount"]
            acc[1] += taxable
    subtotal = sum(li["amount"] for li in lines)
    total = subtotal - sum(d["amount"] for d in totals)
    tax = sum(a for a, _ in by_rate.values())
    inv.update(
        discounts=[di["id"] for di, _ in discounts], total_discount_amounts=totals,
        total_pretax_credit_amounts=[{"amount": d["amount"], "credit_balance_transaction": None,
                                      "discount": d["discount"], "type": "discount"}
                                     for d in totals],
        subtotal=subtotal, subtotal_excluding_tax=subtotal, total_excluding_tax=total,
        total_taxes=[tax_entry(by_rate[r["id"]][0], by_rate[r["id"]][1], r) for r in rates or ()],
        default_tax_rates=list(rates or ()),
        total=total + tax, amount_due=max(total + tax, 0), amount_remaining=max(total + tax, 0))
