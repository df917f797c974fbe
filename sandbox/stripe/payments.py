"""Payments: PaymentIntents (cards: ``cards.py``; charges and capture:
``charges.py``; refunds: ``refunds.py``; disputes: ``disputes.py``).

A PaymentIntent confirmed with a test card creates a charge; with
``capture_method=manual`` it waits in ``requires_capture`` until captured or
canceled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import render
from .cards import payment_method_param, resolve_card
from .catalog import require_customer
from .charges import attempt_charge, capture, card_error
from .currencies import check_amount, check_currency
from .errors import invalid
from .params import get_bool, get_enum, get_int, get_list, get_metadata, get_str, merge_metadata

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]


def new_payment_intent(
    e: Engine,
    t: int,
    *,
    amount: int,
    currency: str,
    customer: Obj | None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    capture_method: str = "automatic",
    payment_method: str | None = None,
    receipt_email: str | None = None,
    payment_method_types: list[str] | None = None,
    automatic_payment_methods: Obj | None = None,
    statement_descriptor: str | None = None,
    statement_descriptor_suffix: str | None = None,
    setup_future_usage: str | None = None,
) -> Obj:
    pi_id = e.ids.new("pi")
    pi = render.payment_intent(
        pi_id,
        t,
        amount=amount,
        currency=currency,
        customer=customer["id"] if customer else None,
        description=description,
        metadata=metadata or {},
        capture_method=capture_method,
        payment_method=payment_method,
        receipt_email=receipt_email,
        client_secret=pi_id + "_secret_" + e.ids.secret(24),
        payment_method_types=payment_method_types or ["card"],
        automatic_payment_methods=automatic_payment_methods,
        statement_descriptor=statement_descriptor,
        statement_descriptor_suffix=statement_descriptor_suffix,
        setup_future_usage=setup_future_usage,
    )
    e.put(pi)
    e.emit("payment_intent.created", pi, t)
    return pi


def confirm(e: Engine, pi: Obj, pm: str, t: int) -> Obj:
    """Confirm ``pi`` with test payment method ``pm``; returns the charge.

    The caller raises :func:`card_error` when the charge failed (the state
    changes are kept, as on Stripe).
    """
    card = resolve_card(pm)
    customer = e.load(pi["customer"], "customer", "customer") if pi["customer"] else None
    pm_id = e.ids.new("pm")
    manual = pi["capture_method"] == "manual"
    ch = attempt_charge(
        e,
        t,
        amount=pi["amount"],
        currency=pi["currency"],
        customer=customer,
        pi=pi,
        card=card,
        pm_id=pm_id,
        capture=not manual,
        description=pi["description"],
        metadata=pi["metadata"],
        receipt_email=pi["receipt_email"],
    )
    pi["latest_charge"] = ch["id"]
    if ch["status"] == "failed":
        pi.update(
            status="requires_payment_method",
            payment_method=None,
            last_payment_error={
                "advice_code": None,
                "charge": ch["id"],
                "code": "card_declined",
                "decline_code": card.decline,
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "message": ch["failure_message"],
                "network_advice_code": None,
                "network_decline_code": None,
                "param": None,
                "payment_method": None,
                "payment_method_type": "card",
                "type": "card_error",
            },
        )
        e.put(pi)
        e.emit("payment_intent.payment_failed", pi, t)
        return ch
    pi.update(payment_method=pm_id, last_payment_error=None)
    if manual:
        pi.update(status="requires_capture", amount_capturable=pi["amount"])
        e.put(pi)
        e.emit("payment_intent.amount_capturable_updated", pi, t)
    else:
        pi.update(status="succeeded", amount_received=pi["amount"])
        e.put(pi)
        e.emit("payment_intent.succeeded", pi, t)
    return ch


_PI_STATUSES_CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")


def create_payment_intent(e: Engine, params: dict[str, Any], t: int) -> Obj:
    amount = get_int(params, "amount", required=True, minimum=1) or 0
    currency = check_currency(params.get("currency"))
    check_amount(amount, currency)
    customer = require_customer(e, get_str(params, "customer"))
    pm = payment_method_param(params)
    do_confirm = get_bool(params, "confirm", False)
    if do_confirm and pm is None:
        pm = customer["invoice_settings"]["default_payment_method"] if customer else None
        if pm is None:
            raise invalid(
                "You cannot confirm this PaymentIntent because it's missing a payment "
                "method. You can either update the PaymentIntent with a payment method "
                "and then confirm it again, or confirm it again directly with a payment "
                "method.",
                code="payment_intent_unexpected_state",
            )
    apm = params.get("automatic_payment_methods")
    pi = new_payment_intent(
        e,
        t,
        amount=amount,
        currency=currency,
        customer=customer,
        description=get_str(params, "description"),
        metadata=get_metadata(params),
        capture_method=get_enum(
            params, "capture_method", ("automatic", "automatic_async", "manual"), "automatic_async"
        )
        or "automatic_async",
        payment_method=pm,
        receipt_email=get_str(params, "receipt_email"),
        payment_method_types=get_list(params, "payment_method_types"),
        automatic_payment_methods={
            "allow_redirects": None,
            "enabled": get_bool(apm, "enabled", False),
        }
        if apm
        else None,
        statement_descriptor=get_str(params, "statement_descriptor"),
        statement_descriptor_suffix=get_str(params, "statement_descriptor_suffix"),
        setup_future_usage=get_str(params, "setup_future_usage"),
    )
    if do_confirm and pm is not None:
        ch = confirm(e, pi, pm, t)
        if ch["status"] == "failed":
            raise card_error(ch, pi)
    return pi


def update_payment_intent(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    pi = e.load(id, "payment_intent")
    if "metadata" in params:
        pi["metadata"] = merge_metadata(pi["metadata"], get_metadata(params))
    if "description" in params:
        pi["description"] = get_str(params, "description")
    mutable = pi["status"] in _PI_STATUSES_CONFIRMABLE
    for key in ("amount", "currency", "payment_method", "customer"):
        if key in params and not mutable:
            raise invalid(
                f"You cannot update this PaymentIntent because it has a status of {pi['status']}.",
                param=key,
                code="payment_intent_unexpected_state",
            )
    if "currency" in params:
        pi["currency"] = check_currency(params["currency"])
    if "amount" in params:
        pi["amount"] = get_int(params, "amount", minimum=1)
        check_amount(pi["amount"], pi["currency"])
    if "payment_method" in params:
        pm = get_str(params, "payment_method")
        if pm is not None:
            resolve_card(pm)
        pi["payment_method"] = pm
        pi["status"] = "requires_confirmation" if pm else "requires_payment_method"
    if "customer" in params:
        pi["customer"] = require_customer(e, get_str(params, "customer"))["id"]  # type: ignore[index]
    return e.put(pi)


def confirm_payment_intent(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    pi = e.load(id, "payment_intent")
    if pi["status"] not in _PI_STATUSES_CONFIRMABLE:
        raise invalid(
            f"You cannot confirm this PaymentIntent because it has a status of {pi['status']}.",
            code="payment_intent_unexpected_state",
        )
    pm = payment_method_param(params) or pi["payment_method"]
    if pm is None:
        raise invalid(
            "You cannot confirm this PaymentIntent because it's missing a payment method.",
            code="payment_intent_unexpected_state",
        )
    ch = confirm(e, pi, pm, t)
    if ch["status"] == "failed":
        raise card_error(ch, pi)
    return pi


def capture_payment_intent(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    pi = e.load(id, "payment_intent")
    if pi["status"] != "requires_capture":
        raise invalid(
            f"This PaymentIntent could not be captured because it has a status of "
            f"{pi['status']}. Only a PaymentIntent with one of the following statuses "
            "may be captured: requires_capture.",
            code="payment_intent_unexpected_state",
        )
    amount = get_int(params, "amount_to_capture", minimum=1, default=pi["amount_capturable"])
    assert amount is not None
    if amount > pi["amount_capturable"]:
        raise invalid(
            "The amount_to_capture must be less than or equal to the amount_capturable "
            f"of {pi['amount_capturable']}.",
            param="amount_to_capture",
            code="amount_too_large",
        )
    ch = e.load(pi["latest_charge"], "charge")
    capture(e, ch, amount, t)
    pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
    e.put(pi)
    e.emit("payment_intent.succeeded", pi, t)
    return pi


def cancel_payment_intent(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    pi = e.load(id, "payment_intent")
    if pi["status"] in ("succeeded", "canceled"):
        raise invalid(
            f"You cannot cancel this PaymentIntent because it has a status of "
            f"{pi['status']}. Only a PaymentIntent with one of the following statuses "
            "may be canceled: requires_payment_method, requires_capture, "
            "requires_confirmation, requires_action, processing.",
            code="payment_intent_unexpected_state",
        )
    reason = get_enum(
        params,
        "cancellation_reason",
        ("duplicate", "fraudulent", "requested_by_customer", "abandoned"),
    )
    if pi["status"] == "requires_capture":
        ch = e.load(pi["latest_charge"], "charge")
        ch.update(amount_refunded=ch["amount"], refunded=True)
        e.put(ch)
        e.emit("charge.refunded", ch, t)
    pi.update(status="canceled", canceled_at=t, cancellation_reason=reason, amount_capturable=0)
    e.put(pi)
    e.emit("payment_intent.canceled", pi, t)
    return pi


# --------------------------------------------------------------------------- legacy charges


def capture_charge(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    ch = e.load(id, "charge")
    if ch["payment_intent"]:
        capture_payment_intent(
            e,
            ch["payment_intent"],
            {"amount_to_capture": params.get("amount")} if params.get("amount") else {},
            t,
        )
        return e.load(id, "charge")
    if ch["captured"] or ch["status"] != "succeeded":
        raise invalid(f"Charge {id} has already been captured.", code="charge_already_captured")
    amount = get_int(params, "amount", minimum=1, default=ch["amount"])
    assert amount is not None
    if amount > ch["amount"]:
        raise invalid(
            "The amount must be less than or equal to the authorized amount.",
            param="amount",
            code="amount_too_large",
        )
    capture(e, ch, amount, t)
    return ch
