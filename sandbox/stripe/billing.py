"""Invoices (post-basil shapes): drafts, finalization, payment, void.

A subscription invoice (built by :mod:`.subscription_cycle`) or a manual one is created as a
draft, finalized (numbered; the customer's balance applied: a credit reduces the amount due,
a negative total becomes credit) and, for automatic collection, paid through a
PaymentIntent, its charge and an ``invoice_payment`` linking invoice and PaymentIntent.
Subscriptions themselves live in :mod:`.subscriptions` and :mod:`.subscription_cycle`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from . import render
from .catalog import require_customer
from .clock import DAY
from .currencies import format_major
from .errors import invalid, missing
from .params import get_enum, get_int, get_metadata, get_str, merge_metadata
from .cards import resolve_card
from .charges import card_error
from .payments import confirm, new_payment_intent

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]
AUTO_ADVANCE_DELAY = 3600


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
    in_id: str | None = None,
    lines: list[Obj] | None = None,
    adjust: Callable[[Obj], None] | None = None,
) -> Obj:
    """Draft invoice with one line per subscription item (service period of the item).

    Callers that build their own lines (prorations, trials) pass ``in_id`` and ``lines``;
    ``adjust(invoice)`` settles discounts and totals before ``invoice.created`` is sent.
    """
    in_id = in_id or e.ids.new("in")
    sub_id = subscription["id"] if subscription else None
    lines = list(lines or [])
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
    inv["starting_balance"] = customer["balance"]
    if adjust is not None:
        adjust(inv)
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
    _apply_balance(inv, customer)
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


def _apply_balance(inv: Obj, customer: Obj) -> None:
    """Finalization applies the customer's balance: a credit (negative balance) reduces
    the amount due, a negative total becomes credit (``starting_balance``/``ending_balance``)."""
    start = customer["balance"]
    if start == 0 and inv["total"] >= 0:
        inv["ending_balance"] = 0
        return
    net = inv["total"] + start
    inv.update(starting_balance=start, ending_balance=min(net, 0), amount_due=max(net, 0),
               amount_remaining=max(net, 0))
    customer["balance"] = min(net, 0)


def invoice_payment_of(e: Engine, inv: Obj) -> Obj | None:
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



def payment_method(sub: Obj | None, customer: Obj) -> str | None:
    """Stripe's order: the subscription's default, then the customer's invoice default."""
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
        ip = invoice_payment_of(e, inv)
    customer = e.load(inv["customer"], "customer")
    sub = subscription_of(e, inv)
    pm = get_str(params, "payment_method") or payment_method(sub, customer)
    if pm is None:
        raise invalid("This customer has no attached payment source or default payment method.")
    resolve_card(pm)
    failed = pay(e, inv, ip, pm, t)
    if failed is not None:
        raise card_error(failed, None)
    if sub is not None and sub["status"] in ("past_due", "incomplete"):
        set_sub(e, sub, t, status="active")
    return inv


def void_invoice_action(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    inv = e.load(id, "invoice")
    if inv["status"] != "open":
        raise invalid(f"You can only void open invoices. This invoice is {inv['status']}.")
    return void(e, inv, invoice_payment_of(e, inv), t)


def void(e: Engine, inv: Obj, ip: Obj | None, t: int) -> Obj:
    """Void an open invoice; its open ``invoice_payment`` (if any) is canceled."""
    if ip is not None:
        void_payment(e, ip, t)
    inv.update(
        status="void",
        amount_remaining=0,
        status_transitions={**inv["status_transitions"], "voided_at": t},
    )
    e.put(inv)
    e.emit("invoice.voided", inv, t)
    return inv


def void_payment(e: Engine, ip: Obj, t: int) -> None:
    """Cancel an invoice's open ``invoice_payment`` and its PaymentIntent."""
    pi = e.load(ip["payment"]["payment_intent"], "payment_intent")
    if pi["status"] != "succeeded":
        pi.update(status="canceled", canceled_at=t, cancellation_reason="void_invoice")
        e.put(pi)
        e.emit("payment_intent.canceled", pi, t)
    ip.update(status="canceled", status_transitions={"canceled_at": t, "paid_at": None})
    e.put(ip)


def subscription_of(e: Engine, inv: Obj) -> Obj | None:
    parent = inv["parent"]
    if not parent or not parent.get("subscription_details"):
        return None
    return e.load(parent["subscription_details"]["subscription"], "subscription")


# --------------------------------------------------------------------------- subscription status


def set_sub(e: Engine, sub: Obj, t: int, **changes: Any) -> None:
    """Change subscription fields and emit ``customer.subscription.updated`` with the
    previous values (nothing when nothing changed)."""
    previous = {k: sub[k] for k, v in changes.items() if sub[k] != v}
    sub.update(changes)
    e.put(sub)
    if previous:
        e.emit("customer.subscription.updated", sub, t, previous)
