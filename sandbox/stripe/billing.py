"""Subscriptions and invoices (post-basil shapes).

A subscription bills in advance.  On creation its first invoice
(``subscription_create``) is finalized and paid at once; at each period end a
draft ``subscription_cycle`` invoice is created whose line periods are the
*new* service period, and it is finalized and charged an hour later (Stripe's
auto-advance delay).  Payment goes through a PaymentIntent, its charge and an
``invoice_payment`` linking invoice and PaymentIntent.  Periods follow the
billing-cycle anchor (Jan 31 → Feb 28 → Mar 31).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import render
from .catalog import require_customer
from .clock import DAY, add_months
from .currencies import format_major
from .errors import StripeError, invalid, missing
from .params import get_bool, get_enum, get_int, get_list, get_metadata, get_str, merge_metadata
from .payments import card_error, confirm, new_payment_intent, resolve_card

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]
AUTO_ADVANCE_DELAY = 3600


def period_after(anchor: int, recurring: Obj, current_end: int) -> int:
    """First period boundary after ``current_end`` counted from ``anchor``."""
    interval, count = recurring["interval"], recurring["interval_count"]
    if interval in ("day", "week"):
        step = count * (DAY if interval == "day" else 7 * DAY)
        return current_end + step
    months = count * (12 if interval == "year" else 1)
    n = 1
    while (end := add_months(anchor, n * months)) <= current_end:
        n += 1
    return end


# --------------------------------------------------------------------------- invoices


def _line_description(e: Engine, price: Obj, quantity: int) -> str:
    product = e.load(price["product"], "product")
    rec = price["recurring"]
    per = (
        rec["interval"]
        if rec["interval_count"] == 1
        else f"{rec['interval_count']} {rec['interval']}s"
    )
    amount = format_major(price["unit_amount"], price["currency"])
    return f"{quantity} × {product['name']} (at {amount} / {per})"


def new_invoice(
    e: Engine,
    t: int,
    *,
    customer: Obj,
    currency: str,
    billing_reason: str,
    subscription: Obj | None,
    items: list[Obj],
    period_start: int,
    period_end: int,
    collection_method: str,
    days_until_due: int | None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
) -> Obj:
    """Draft invoice with one line per subscription item (service period of the item)."""
    in_id = e.ids.new("in")
    sub_id = subscription["id"] if subscription else None
    lines = []
    for si in items:
        price = si["price"]
        line = render.line_item(
            e.ids.new("il"),
            invoice=in_id,
            amount=price["unit_amount"] * si["quantity"],
            currency=currency,
            description=_line_description(e, price, si["quantity"]),
            price=price,
            quantity=si["quantity"],
            period_start=si["current_period_start"],
            period_end=si["current_period_end"],
            subscription=sub_id,
            subscription_item=si["id"],
            metadata={},
        )
        lines.append(e.put(line))
    inv = render.invoice(
        in_id,
        t,
        customer=customer,
        currency=currency,
        lines=lines,
        billing_reason=billing_reason,
        subscription=sub_id,
        period_start=period_start,
        period_end=period_end,
        collection_method=collection_method,
        description=description,
        metadata=metadata or {},
        due_date=t + (days_until_due or 0) * DAY if collection_method == "send_invoice" else None,
    )
    e.put(inv)
    e.emit("invoice.created", inv, t)
    return inv


def finalize(e: Engine, inv: Obj, t: int) -> Obj | None:
    """Finalize a draft: number it and, for automatic collection, create its PaymentIntent.

    Returns the ``invoice_payment`` to pay (None when nothing is to be charged).
    """
    customer = e.load(inv["customer"], "customer", "customer")
    seq = customer["next_invoice_sequence"]
    customer["next_invoice_sequence"] = seq + 1
    e.put(customer)
    inv.update(
        number=f"{customer['invoice_prefix']}-{seq:04d}",
        status="open",
        effective_at=t,
        automatically_finalizes_at=None,
        hosted_invoice_url=f"https://invoice.stripe.com/i/{inv['id']}",
        invoice_pdf=f"https://pay.stripe.com/invoice/{inv['id']}/pdf",
        status_transitions={**inv["status_transitions"], "finalized_at": t},
    )
    ip = None
    if inv["amount_due"] > 0 and inv["collection_method"] == "charge_automatically":
        reason = "creation" if inv["billing_reason"] == "subscription_create" else "update"
        pi = new_payment_intent(
            e,
            t,
            amount=inv["amount_due"],
            currency=inv["currency"],
            customer=customer,
            description=f"Subscription {reason}" if inv["parent"] else f"Invoice {inv['number']}",
            capture_method="automatic",
        )
        ip = e.put(
            render.invoice_payment(
                e.ids.new("inpay"),
                t,
                invoice=inv["id"],
                amount=inv["amount_due"],
                currency=inv["currency"],
                payment_intent=pi["id"],
            )
        )
    e.put(inv)
    e.emit("invoice.finalized", inv, t)
    if inv["amount_due"] == 0:
        mark_paid(e, inv, None, t)
    return ip


def _invoice_payment(e: Engine, inv: Obj) -> Obj | None:
    """The open invoice_payment of an invoice finalized by an earlier request."""
    rows = e.store.query(
        "SELECT id FROM objects WHERE object='invoice_payment' AND invoice=? "
        "ORDER BY seq DESC LIMIT 1",
        (inv["id"],),
    )
    return e.load(rows[0][0], "invoice_payment") if rows else None


def pay(e: Engine, inv: Obj, ip: Obj | None, pm: str, t: int) -> Obj | None:
    """Charge an open invoice with ``pm``; returns the failed charge, or None on success."""
    if ip is None:
        mark_paid(e, inv, None, t)
        return None
    pi = e.load(ip["payment"]["payment_intent"], "payment_intent")
    ch = confirm(e, pi, pm, t)
    inv.update(attempted=True, attempt_count=inv["attempt_count"] + 1)
    if ch["status"] == "failed":
        e.put(inv)
        e.emit("invoice.payment_failed", inv, t)
        return ch
    mark_paid(e, inv, ip, t)
    return None


def mark_paid(e: Engine, inv: Obj, ip: Obj | None, t: int) -> None:
    inv.update(
        status="paid",
        amount_paid=inv["amount_due"],
        amount_remaining=0,
        status_transitions={**inv["status_transitions"], "paid_at": t},
    )
    e.put(inv)
    if ip is not None:
        ip.update(
            status="paid",
            amount_paid=ip["amount_requested"],
            status_transitions={"canceled_at": None, "paid_at": t},
        )
        e.put(ip)
        e.emit("invoice_payment.paid", ip, t)
    e.emit("invoice.paid", inv, t)
    e.emit("invoice.payment_succeeded", inv, t)



def _payment_method(e: Engine, sub: Obj | None, customer: Obj) -> str | None:
    if sub is not None and sub["default_payment_method"]:
        return sub["default_payment_method"]
    return customer["invoice_settings"]["default_payment_method"]


def create_invoice(e: Engine, params: dict[str, Any], t: int) -> Obj:
    customer = require_customer(e, get_str(params, "customer"))
    if customer is None:
        raise missing("customer")
    method = (
        get_enum(
            params,
            "collection_method",
            ("charge_automatically", "send_invoice"),
            "charge_automatically",
        )
        or "charge_automatically"
    )
    days = get_int(params, "days_until_due", minimum=0)
    if method == "send_invoice" and days is None and params.get("due_date") is None:
        raise invalid(
            "Invoices with `collection_method=send_invoice` must have a `due_date` or "
            "`days_until_due`.",
            param="days_until_due",
        )
    currency = (get_str(params, "currency") or customer["currency"] or "usd").lower()
    return new_invoice(
        e,
        t,
        customer=customer,
        currency=currency,
        billing_reason="manual",
        subscription=None,
        items=[],
        period_start=t,
        period_end=t,
        collection_method=method,
        days_until_due=days,
        description=get_str(params, "description"),
        metadata=get_metadata(params),
    )


def update_invoice(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    inv = e.load(id, "invoice")
    previous: dict[str, Any] = {}
    if "metadata" in params:
        previous["metadata"] = inv["metadata"]
        inv["metadata"] = merge_metadata(inv["metadata"], get_metadata(params))
    if "description" in params:
        if inv["status"] != "draft":
            raise invalid(
                "You can only update the description of a draft invoice.", param="description"
            )
        previous["description"] = inv["description"]
        inv["description"] = get_str(params, "description")
    e.put(inv)
    if previous:
        e.emit("invoice.updated", inv, t, previous)
    return inv


def delete_invoice(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    inv = e.load(id, "invoice")
    if inv["status"] != "draft":
        raise invalid("You can only delete draft invoices.", param="id")
    e.unschedule("collect", id)
    e.emit("invoice.deleted", e.put(inv), t)
    # Keep the dict (for the ``deleted`` column) but store the stub Stripe returns.
    stub = render.deleted(id, "invoice")
    e.put({**inv, "deleted": True})
    e._dirty[id][1] = render.dumps(stub)
    return stub


def finalize_invoice_action(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    inv = e.load(id, "invoice")
    if inv["status"] != "draft":
        raise invalid(
            "This invoice is already finalized, you can't re-finalize a non-draft invoice."
        )
    e.unschedule("collect", id)
    finalize(e, inv, t)
    return inv


def pay_invoice_action(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    inv = e.load(id, "invoice")
    if inv["status"] == "paid":
        raise invalid("Invoice is already paid")
    if inv["status"] in ("void", "uncollectible"):
        raise invalid(f"This invoice can't be paid because it is {inv['status']}.")
    if inv["status"] == "draft":
        e.unschedule("collect", id)
        ip = finalize(e, inv, t)
        if inv["status"] == "paid":
            return inv
    else:
        ip = _invoice_payment(e, inv)
    customer = e.load(inv["customer"], "customer")
    sub = _subscription_of(e, inv)
    pm = get_str(params, "payment_method") or _payment_method(e, sub, customer)
    if pm is None:
        raise invalid("This customer has no attached payment source or default payment method.")
    resolve_card(pm)
    failed = pay(e, inv, ip, pm, t)
    if failed is not None:
        raise card_error(failed, None)
    if sub is not None and sub["status"] in ("past_due", "incomplete"):
        _set_sub(e, sub, t, status="active")
    return inv


def void_invoice_action(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    inv = e.load(id, "invoice")
    if inv["status"] != "open":
        raise invalid(f"You can only void open invoices. This invoice is {inv['status']}.")
    return void(e, inv, _invoice_payment(e, inv), t)


def void(e: Engine, inv: Obj, ip: Obj | None, t: int) -> Obj:
    """Void an open invoice; its open ``invoice_payment`` (if any) is canceled."""
    if ip is not None:
        pi = e.load(ip["payment"]["payment_intent"], "payment_intent")
        if pi["status"] != "succeeded":
            pi.update(status="canceled", canceled_at=t, cancellation_reason="void_invoice")
            e.put(pi)
            e.emit("payment_intent.canceled", pi, t)
        ip.update(status="canceled", status_transitions={"canceled_at": t, "paid_at": None})
        e.put(ip)
    inv.update(
        status="void",
        amount_remaining=0,
        status_transitions={**inv["status_transitions"], "voided_at": t},
    )
    e.put(inv)
    e.emit("invoice.voided", inv, t)
    return inv


def _subscription_of(e: Engine, inv: Obj) -> Obj | None:
    parent = inv["parent"]
    if not parent or not parent.get("subscription_details"):
        return None
    return e.load(parent["subscription_details"]["subscription"], "subscription")


# --------------------------------------------------------------------------- subscriptions


def _set_sub(e: Engine, sub: Obj, t: int, **changes: Any) -> None:
    previous = {k: sub[k] for k, v in changes.items() if sub[k] != v}
    sub.update(changes)
    e.put(sub)
    if previous:
        e.emit("customer.subscription.updated", sub, t, previous)


def new_subscription(
    e: Engine,
    t: int,
    *,
    customer: Obj,
    items: list[tuple[Obj, int]],
    payment_method: str | None,
    metadata: dict[str, str] | None = None,
    description: str | None = None,
    collection_method: str = "charge_automatically",
    days_until_due: int | None = None,
) -> Obj:
    """Create, invoice and (for automatic collection) charge a new subscription."""
    sub_id = e.ids.new("sub")
    recurring = items[0][0]["recurring"]
    if customer["currency"] is None:  # Stripe fixes it with the first subscription
        customer["currency"] = items[0][0]["currency"]
        e.put(customer)
    end = period_after(t, recurring, t)
    sis = [
        e.put(
            render.subscription_item(
                e.ids.short("si"),
                t,
                price=price,
                quantity=qty,
                subscription=sub_id,
                period_start=t,
                period_end=end,
                metadata={},
            )
        )
        for price, qty in items
    ]
    sub = render.subscription(
        sub_id,
        t,
        customer=customer["id"],
        currency=items[0][0]["currency"],
        items=sis,
        anchor=t,
        default_payment_method=payment_method,
        metadata=metadata or {},
        description=description,
        collection_method=collection_method,
        days_until_due=days_until_due,
    )
    inv = new_invoice(
        e,
        t,
        customer=customer,
        currency=sub["currency"],
        billing_reason="subscription_create",
        subscription=sub,
        items=sis,
        period_start=t,
        period_end=t,
        collection_method=collection_method,
        days_until_due=days_until_due,
    )
    sub["latest_invoice"] = inv["id"]
    e.put(sub)
    e.emit("customer.subscription.created", sub, t)
    ip = finalize(e, inv, t)
    if collection_method == "send_invoice" or inv["status"] == "paid":
        _set_sub(e, sub, t, status="active")
    else:
        pm = payment_method or customer["invoice_settings"]["default_payment_method"]
        if pm is not None and pay(e, inv, ip, pm, t) is None:
            _set_sub(e, sub, t, status="active")
    e.schedule(end, "renew", sub_id)
    return sub


def create_subscription(e: Engine, params: dict[str, Any], t: int) -> Obj:
    customer = require_customer(e, get_str(params, "customer"))
    if customer is None:
        raise missing("customer")
    raw_items = get_list(params, "items")
    if not raw_items:
        raise missing("items")
    items: list[tuple[Obj, int]] = []
    for i, raw in enumerate(raw_items):
        price_id = get_str(raw, "price")
        if price_id is None:
            raise missing(f"items[{i}][price]")
        price = e.load(price_id, "price", f"items[{i}][price]")
        if price["recurring"] is None:
            raise invalid(
                "The price specified is set to `type=one_time` but this field only "
                "accepts prices with `type=recurring`.",
                param=f"items[{i}][price]",
            )
        items.append((price, get_int(raw, "quantity", minimum=1, default=1) or 1))
    first = items[0][0]
    for price, _ in items[1:]:
        if (
            price["currency"] != first["currency"]
            or price["recurring"]["interval"] != first["recurring"]["interval"]
            or price["recurring"]["interval_count"] != first["recurring"]["interval_count"]
        ):
            raise invalid(
                "Currency and interval fields must match across all plans on this subscription.",
                param="items",
            )
    method = (
        get_enum(
            params,
            "collection_method",
            ("charge_automatically", "send_invoice"),
            "charge_automatically",
        )
        or "charge_automatically"
    )
    days = get_int(params, "days_until_due", minimum=0)
    if method == "send_invoice" and days is None:
        raise invalid(
            "`days_until_due` is required when `collection_method` is `send_invoice`.",
            param="days_until_due",
        )
    pm = get_str(params, "default_payment_method")
    if pm is not None:
        resolve_card(pm, "default_payment_method")
    if (
        method == "charge_automatically"
        and pm is None
        and customer["invoice_settings"]["default_payment_method"] is None
    ):
        raise StripeError(
            400,
            "invalid_request_error",
            "This customer has no attached payment source or default payment "
            "method. Please consider adding a default payment method. For more "
            "information, visit https://stripe.com/docs/billing/subscriptions/"
            "payment-methods-setting#payment-method-priority.",
            code="resource_missing",
        )
    sub = new_subscription(
        e,
        t,
        customer=customer,
        items=items,
        payment_method=pm,
        metadata=get_metadata(params),
        description=get_str(params, "description"),
        collection_method=method,
        days_until_due=days,
    )
    return sub


def update_subscription(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    sub = e.load(id, "subscription")
    if sub["status"] == "canceled":
        raise invalid(
            "A canceled subscription can only update its cancellation_details and metadata.",
            param="id",
        )
    changes: dict[str, Any] = {}
    if "metadata" in params:
        changes["metadata"] = merge_metadata(sub["metadata"], get_metadata(params))
    if "description" in params:
        changes["description"] = get_str(params, "description")
    if "cancel_at_period_end" in params:
        flag = bool(get_bool(params, "cancel_at_period_end"))
        changes["cancel_at_period_end"] = flag
        changes["cancel_at"] = sub["items"]["data"][0]["current_period_end"] if flag else None
    if "default_payment_method" in params:
        pm = get_str(params, "default_payment_method")
        if pm is not None:
            resolve_card(pm, "default_payment_method")
        changes["default_payment_method"] = pm
    _set_sub(e, sub, t, **changes)
    return sub


def cancel_subscription(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    sub = e.load(id, "subscription")
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise invalid(
            f"No such subscription: '{id}'; it has already been canceled.",
            param="id",
            code="resource_missing",
        )
    return end_subscription(e, sub, t, "cancellation_requested")


def end_subscription(e: Engine, sub: Obj, t: int, reason: str) -> Obj:
    e.unschedule("renew", sub["id"])
    sub.update(
        status="canceled",
        canceled_at=t,
        ended_at=t,
        cancellation_details={"comment": None, "feedback": None, "reason": reason},
    )
    e.put(sub)
    e.emit("customer.subscription.deleted", sub, t)
    return sub


def renew_subscription(e: Engine, id: str, due: int) -> None:
    """Period end: roll item periods forward and create the cycle invoice (draft)."""
    sub = e.load(id, "subscription")
    if sub["status"] in ("canceled", "incomplete_expired"):
        return
    if sub["cancel_at_period_end"]:
        end_subscription(e, sub, due, "cancellation_requested")
        return
    old_items = sub["items"]
    first = old_items["data"][0]
    end = period_after(sub["billing_cycle_anchor"], first["price"]["recurring"], due)
    sis = [
        e.put({**si, "current_period_start": due, "current_period_end": end})
        for si in old_items["data"]
    ]
    customer = e.load(sub["customer"], "customer")
    inv = new_invoice(
        e,
        due,
        customer=customer,
        currency=sub["currency"],
        billing_reason="subscription_cycle",
        subscription=sub,
        items=sis,
        period_start=first["current_period_start"],
        period_end=due,
        collection_method=sub["collection_method"],
        days_until_due=sub["days_until_due"],
    )
    _set_sub(e, sub, due, items=render.sub_list(old_items["url"], sis), latest_invoice=inv["id"])
    e.schedule(due + AUTO_ADVANCE_DELAY, "collect", inv["id"])
    e.schedule(end, "renew", id)


def collect_invoice(e: Engine, id: str, due: int) -> None:
    """Auto-advance: finalize the draft and charge it (automatic collection)."""
    inv = e.load(id, "invoice")
    if inv["status"] != "draft":
        return
    ip = finalize(e, inv, due)
    if inv["status"] != "open" or inv["collection_method"] != "charge_automatically":
        return
    sub = _subscription_of(e, inv)
    customer = e.load(inv["customer"], "customer")
    pm = _payment_method(e, sub, customer)
    failed = pm is None or pay(e, inv, ip, pm, due) is not None
    if sub is not None:
        if failed and sub["status"] == "active":
            _set_sub(e, sub, due, status="past_due")
        elif not failed and sub["status"] == "past_due":
            _set_sub(e, sub, due, status="active")
