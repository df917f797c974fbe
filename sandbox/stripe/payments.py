"""Payments: PaymentIntents, charges and refunds (disputes: ``disputes.py``).

Test payment methods behave like Stripe's test cards (``pm_card_visa``,
``tok_visa``, ``pm_card_chargeDeclined``, ``pm_card_createDispute`` ...).
A successful captured charge creates a ``charge`` BT (fee 2.9% + 30c, +1.5%
for international cards or non-USD presentment, computed on the settled
amount, half-up) that becomes available two days later at 00:00 UTC.  It
settles in its own currency when the account has a bank account in it (USD;
with ``--profile accrual`` also EUR and GBP), else in USD with
``exchange_rate``.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any, NamedTuple

from . import render
from .catalog import require_customer
from .clock import DAY, midnight
from .disputes import open_dispute
from .currencies import check_amount, check_currency, processing_fee, settle, settlement
from .errors import StripeError, invalid, missing
from .ledger import new_bt
from .params import get_bool, get_enum, get_int, get_list, get_metadata, get_str, merge_metadata

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]


class Card(NamedTuple):
    brand: str
    last4: str
    country: str
    funding: str
    decline: str | None = None  # decline_code when the card is declined
    dispute: str | None = None  # dispute reason opened right after success
    inquiry: bool = False


TEST_CARDS: dict[str, Card] = {
    "visa": Card("visa", "4242", "US", "credit"),
    "visa_debit": Card("visa", "5556", "US", "debit"),
    "mastercard": Card("mastercard", "4444", "US", "credit"),
    "amex": Card("amex", "8431", "US", "credit"),
    "discover": Card("discover", "1117", "US", "credit"),
    "gb": Card("visa", "0000", "GB", "credit"),
    "de": Card("visa", "0016", "DE", "credit"),
    "fr": Card("visa", "0003", "FR", "credit"),
    "jp": Card("visa", "0003", "JP", "credit"),
    "chargeDeclined": Card("visa", "0002", "US", "credit", decline="generic_decline"),
    "chargeDeclinedInsufficientFunds": Card(
        "visa", "9995", "US", "credit", decline="insufficient_funds"
    ),
    "createDispute": Card("visa", "0259", "US", "credit", dispute="fraudulent"),
    "createDisputeProductNotReceived": Card(
        "visa", "2685", "US", "credit", dispute="product_not_received"
    ),
    "createDisputeInquiry": Card(
        "visa", "1976", "US", "credit", dispute="fraudulent", inquiry=True
    ),
}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}


def resolve_card(pm: str, param: str = "payment_method") -> Card:
    """Map a test payment method / token id to its card behaviour, or 404."""
    for prefix in ("pm_card_", "tok_"):
        if pm.startswith(prefix) and pm[len(prefix) :] in TEST_CARDS:
            return TEST_CARDS[pm[len(prefix) :]]
    kind = "token" if pm.startswith("tok_") else "PaymentMethod"
    raise StripeError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{pm}'",
        code="resource_missing",
        param=param,
    )


def _card_template(name: str, card: Card) -> Obj:
    # A card number has one fingerprint and expiry: derive them from the card's name.
    h = zlib.crc32(name.encode())
    return render.card_template(
        card.brand,
        card.last4,
        card.country,
        card.funding,
        h % 12 + 1,
        2027 + h % 5,
        f"{h:016x}"[:16],
    )


_CARD_TEMPLATES = {card: _card_template(name, card) for name, card in TEST_CARDS.items()}


def _pm_details(card: Card, amount: int) -> Obj:
    return render.card_details(_CARD_TEMPLATES[card], amount)


# --------------------------------------------------------------------------- charging


def attempt_charge(
    e: Engine,
    t: int,
    *,
    amount: int,
    currency: str,
    customer: Obj | None,
    pi: Obj | None,
    card: Card,
    pm_id: str,
    capture: bool,
    description: str | None,
    metadata: dict[str, str],
    receipt_email: str | None,
) -> Obj:
    """Authorise (and capture) a card payment; returns the charge (maybe failed)."""
    ch_id = e.ids.new("ch")
    declined = card.decline
    billing = (
        render.billing_details(customer["name"], customer["email"])
        if customer
        else render.BILLING_EMPTY
    )
    ch = render.charge(
        ch_id,
        t,
        amount=amount,
        currency=currency,
        customer=customer["id"] if customer else None,
        payment_intent=pi["id"] if pi else None,
        payment_method=pm_id,
        pm_details=_pm_details(card, amount),
        description=description,
        metadata=metadata,
        billing=billing,
        receipt_email=receipt_email,
        captured=capture and not declined,
        status="failed" if declined else "succeeded",
        outcome=render.outcome_declined(declined) if declined else render.OUTCOME_OK,
        failure_code="card_declined" if declined else None,
        failure_message=DECLINE_MESSAGES[declined] if declined else None,
        balance_transaction=None,
    )
    if declined:
        e.put(ch)
        e.emit("charge.failed", ch, t)
        return ch
    if capture:
        ch["balance_transaction"] = _charge_bt(e, t, ch, amount, card)["id"]
    e.put(ch)
    e.emit("charge.succeeded", ch, t)
    if card.dispute:
        open_dispute(e, ch, t, card.dispute, inquiry=card.inquiry)
    return ch


def _charge_bt(e: Engine, t: int, ch: Obj, captured: int, card: Card | None = None) -> Obj:
    currency = ch["currency"]
    settled = settlement(currency, e.settlement_currencies)
    amount, exchange_rate = settle(ch["amount"], currency, settled)
    country = card.country if card else ch["payment_method_details"]["card"]["country"]
    fee = processing_fee(settle(captured, currency, settled)[0], settled, currency, country)
    return new_bt(
        e,
        t,
        amount=amount,
        fee=fee,
        fee_details=render.stripe_fee_details(fee, settled),
        available_on=midnight(t) + 2 * DAY,
        type="charge",
        category="charge",
        source=ch["id"],
        description=ch["description"],
        exchange_rate=exchange_rate,
        currency=settled,
    )


def card_error(ch: Obj, pi: Obj | None) -> StripeError:
    code = ch["outcome"]["reason"]
    extra: dict[str, Any] = {"charge": ch["id"], "payment_method_type": "card"}
    if pi is not None:
        extra["payment_intent"] = pi
    return StripeError(
        402,
        "card_error",
        ch["failure_message"],
        code="card_declined",
        decline_code=code,
        extra=extra,
    )


# --------------------------------------------------------------------------- payment intents


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


def payment_method_param(params: dict[str, Any]) -> str | None:
    """The test payment method of a create/confirm: ``payment_method`` (``pm_card_*``,
    or a ``tok_*`` token), or a card token in ``payment_method_data[card][token]``."""
    pm = get_str(params, "payment_method")
    if pm is not None:
        resolve_card(pm)
        return pm
    data = params.get("payment_method_data")
    if not isinstance(data, dict):
        return None
    if data.get("type") != "card":
        raise invalid(
            "The sandbox supports only payment_method_data[type]=card.",
            param="payment_method_data[type]",
        )
    card = data.get("card")
    token = get_str(card, "token") if isinstance(card, dict) else None
    if token is None or not token.startswith("tok_"):
        raise invalid(
            "Provide a test card token in payment_method_data[card][token] (e.g. tok_visa); "
            "raw card numbers are not accepted.",
            param="payment_method_data[card][token]",
        )
    resolve_card(token, "payment_method_data[card][token]")
    return token


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


def capture(e: Engine, ch: Obj, amount: int, t: int) -> None:
    """Capture ``amount`` of an authorised charge.

    The charge BT is for the authorised amount; the uncaptured remainder is
    returned by a refund whose BT has reporting category
    ``partial_capture_reversal`` (so charge.amount_refunded = uncaptured part).
    """
    ch.update(captured=True, amount_captured=amount)
    ch["balance_transaction"] = _charge_bt(e, t, ch, amount)["id"]
    e.put(ch)
    e.emit("charge.captured", ch, t)
    if amount < ch["amount"]:
        refund_charge(
            e,
            ch,
            ch["amount"] - amount,
            t,
            reason=None,
            metadata={},
            category="partial_capture_reversal",
        )


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


def create_charge(e: Engine, params: dict[str, Any], t: int) -> Obj:
    amount = get_int(params, "amount", required=True, minimum=1) or 0
    currency = check_currency(params.get("currency"))
    check_amount(amount, currency)
    customer = require_customer(e, get_str(params, "customer"))
    source = get_str(params, "source")
    if source is None:
        source = customer["invoice_settings"]["default_payment_method"] if customer else None
        if source is None:
            raise missing("source")
    card = resolve_card(source, "source")
    ch = attempt_charge(
        e,
        t,
        amount=amount,
        currency=currency,
        customer=customer,
        pi=None,
        card=card,
        pm_id=e.ids.new("card"),
        capture=bool(get_bool(params, "capture", True)),
        description=get_str(params, "description"),
        metadata=get_metadata(params) or {},
        receipt_email=get_str(params, "receipt_email"),
    )
    if ch["status"] == "failed":
        raise card_error(ch, None)
    return ch


def update_charge(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    ch = e.load(id, "charge")
    previous: dict[str, Any] = {}
    for key in ("description", "receipt_email"):
        if key in params:
            previous[key] = ch[key]
            ch[key] = get_str(params, key)
    if "metadata" in params:
        previous["metadata"] = ch["metadata"]
        ch["metadata"] = merge_metadata(ch["metadata"], get_metadata(params))
    e.put(ch)
    if previous:
        e.emit("charge.updated", ch, t, previous)
    return ch


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


# --------------------------------------------------------------------------- refunds


def refund_charge(
    e: Engine,
    ch: Obj,
    amount: int,
    t: int,
    *,
    reason: str | None,
    metadata: dict[str, str],
    category: str = "refund",
) -> Obj:
    """Refund ``amount`` of a captured charge (validated by the caller)."""
    currency = ch["currency"]
    settled = settlement(currency, e.settlement_currencies)
    settled_amount, exchange_rate = settle(amount, currency, settled)
    re_id = e.ids.new("re")
    bt = new_bt(
        e,
        t,
        amount=-settled_amount,
        fee=0,
        fee_details=[],
        available_on=t,
        type="refund",
        category=category,
        source=re_id,
        description=f"REFUND FOR CHARGE ({ch['description'] or 'Payment'})",
        exchange_rate=exchange_rate,
        currency=settled,
    )
    ref = render.refund(
        re_id,
        t,
        amount=amount,
        charge=ch["id"],
        currency=currency,
        payment_intent=ch["payment_intent"],
        customer=ch["customer"],
        payment_method=ch["payment_method"],
        balance_transaction=bt["id"],
        reason=reason,
        metadata=metadata,
    )
    e.put(ref)
    ch["amount_refunded"] += amount
    ch["refunded"] = ch["amount_refunded"] >= ch["amount"]
    e.put(ch)
    e.emit("charge.refunded", ch, t)
    e.emit("refund.created", ref, t)
    return ref


def create_refund(e: Engine, params: dict[str, Any], t: int) -> Obj:
    ch_id = get_str(params, "charge")
    pi_id = get_str(params, "payment_intent")
    if ch_id is None and pi_id is None:
        raise missing("charge")
    if ch_id is None:
        pi = e.load(pi_id or "", "payment_intent", "payment_intent")
        if pi["status"] != "succeeded" or not pi["latest_charge"]:
            raise invalid(
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                param="payment_intent",
                code="charge_not_refundable",
            )
        ch_id = pi["latest_charge"]
    ch = e.load(ch_id, "charge", "charge")
    if ch["status"] != "succeeded" or not ch["captured"]:
        raise invalid(
            f"Charge {ch_id} has not been captured and cannot be refunded.",
            param="charge",
            code="charge_not_refundable",
        )
    if ch["refunded"]:
        raise invalid(f"Charge {ch_id} has already been refunded.", code="charge_already_refunded")
    if ch["disputed"]:
        raise invalid(
            f"Charge {ch_id} has been charged back; cannot issue a refund.", code="charge_disputed"
        )
    remaining = ch["amount"] - ch["amount_refunded"]
    amount = get_int(params, "amount", minimum=1, default=remaining)
    assert amount is not None
    if amount > remaining:
        from .currencies import format_major

        raise invalid(
            f"Refund amount ({format_major(amount, ch['currency'])}) is greater than "
            f"unrefunded amount on charge ({format_major(remaining, ch['currency'])})",
            param="amount",
            code="amount_too_large",
        )
    check_amount(amount, ch["currency"], minimum=False)
    reason = get_enum(params, "reason", ("duplicate", "fraudulent", "requested_by_customer"))
    return refund_charge(e, ch, amount, t, reason=reason, metadata=get_metadata(params) or {})


def update_refund(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    ref = e.load(id, "refund")
    if "metadata" in params:
        previous = {"metadata": ref["metadata"]}
        ref["metadata"] = merge_metadata(ref["metadata"], get_metadata(params))
        e.put(ref)
        e.emit("refund.updated", ref, t, previous)
    return ref
