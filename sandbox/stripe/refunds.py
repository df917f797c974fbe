"""Refunds: a refund of a captured charge, its BT, and the Refunds API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import render
from .currencies import check_amount, settle, settlement
from .errors import invalid, missing
from .ledger import new_bt
from .params import get_enum, get_int, get_metadata, get_str, merge_metadata

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]


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
