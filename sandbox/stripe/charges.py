"""Charges: card authorisation and capture, the charge BT, and the legacy Charges API.

A successful captured charge creates a ``charge`` BT (fee 2.9% + 30c, +1.5%
for international cards or non-USD presentment, computed on the settled
amount, half-up) that becomes available two days later at 00:00 UTC.  It
settles in its own currency when the account has a bank account in it (USD;
with ``--profile accrual`` also EUR and GBP), else in USD with
``exchange_rate``.  A capture below the authorised amount returns the rest
through a refund (``refunds.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import render
from .cards import DECLINE_MESSAGES, Card, pm_details, resolve_card
from .catalog import require_customer
from .clock import DAY, midnight
from .currencies import check_amount, check_currency, processing_fee, settle, settlement
from .disputes import open_dispute
from .errors import StripeError, missing
from .ledger import new_bt
from .params import get_bool, get_int, get_metadata, get_str, merge_metadata
from .refunds import refund_charge

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]


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
        pm_details=pm_details(card, amount),
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
