"""Bank debits (SEPA Direct Debit, ACH) that can fail after succeeding, and the
control-call helpers that create one BT of a payment-related type.

A bank debit is a ``py_`` charge of a local payment method: its BT has
``type=payment`` (category ``charge``); refunding it gives ``payment_refund``
(category ``refund``).  When the debit is returned after it succeeded, Stripe
records a ``payment_failure_refund`` BT (category ``charge_failure``) that
takes the money back, the charge turns ``failed`` with a ``failure_code``
and ``failure_balance_transaction``, and ``charge.failed`` is sent
(balance-transaction-types and reporting-categories pages).  What happens
to an invoice the debit paid is not documented: the sandbox leaves it
``paid`` (assumed, see the README).  The ``processing`` phase before success
is not modelled: the charge is created succeeded.
"""
from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from . import render
from .clock import DAY, midnight
from .currencies import from_usd, settle, settlement
from .ledger import new_bt
from .disputes import open_dispute, resolve_dispute
from .cards import Card
from .charges import attempt_charge
from .refunds import refund_charge

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]
FAILURES = {"insufficient_funds": "The customer's account has insufficient funds to cover "
            "this payment.", "debit_not_authorized": "The customer has notified their bank "
            "that this payment was unauthorized."}


def _details(kind: str, country: str, seed: str) -> Obj:
    h = f"{zlib.crc32(seed.encode()):08x}"
    if kind == "sepa_debit":
        return {"sepa_debit": {"bank_code": "37040044", "branch_code": None, "country": country,
                               "expected_debit_date": None, "fingerprint": h * 2,
                               "last4": "3000", "mandate": "mandate_" + h},
                "type": "sepa_debit"}
    return {"type": "us_bank_account", "us_bank_account": {
        "account_holder_type": "individual", "account_type": "checking",
        "bank_name": "STRIPE TEST BANK", "expected_debit_date": None, "fingerprint": h * 2,
        "last4": "6789", "mandate": "mandate_" + h, "payment_reference": None,
        "routing_number": "110000000"}}


def bank_debit(e: Engine, t: int, *, amount: int, currency: str, customer: Obj | None,
               description: str | None, metadata: dict[str, str] | None = None) -> Obj:
    """A succeeded SEPA (EUR) or ACH (USD) debit: a ``py_`` charge with a ``payment`` BT
    (0.8% capped at 5.00 USD, Stripe's US ACH pricing; assumed for SEPA)."""
    kind = "sepa_debit" if currency == "eur" else "us_bank_account"
    ch_id = e.ids.new("py")
    settled = settlement(currency, e.settlement_currencies)
    settled_amount, exchange_rate = settle(amount, currency, settled)
    fee = min((2 * settled_amount * 8 + 1000) // 2000, from_usd(500, settled))
    bt = new_bt(e, t, amount=settled_amount, fee=fee,
                fee_details=render.stripe_fee_details(fee, settled),
                available_on=midnight(t) + 4 * DAY, type="payment", category="charge",
                source=ch_id, description=description, exchange_rate=exchange_rate,
                currency=settled)
    ch = render.charge(
        ch_id, t, amount=amount, currency=currency,
        customer=customer["id"] if customer else None, payment_intent=None,
        payment_method=e.ids.new("pm"),
        pm_details=_details(kind, "DE" if kind == "sepa_debit" else "US", ch_id),
        description=description, metadata=metadata or {},
        billing=render.billing_details(customer["name"], customer["email"]) if customer
        else render.BILLING_EMPTY,
        receipt_email=None, captured=True, status="succeeded", outcome=render.OUTCOME_OK,
        failure_code=None, failure_message=None, balance_transaction=bt["id"])
    e.put(ch)
    e.emit("charge.succeeded", ch, t)
    return ch


def fail_after_success(e: Engine, ch: Obj, t: int, code: str = "insufficient_funds") -> Obj:
    """The bank returns a succeeded debit: ``payment_failure_refund`` takes the money back."""
    settled = settlement(ch["currency"], e.settlement_currencies)
    remaining = ch["amount"] - ch["amount_refunded"]
    settled_amount, exchange_rate = settle(remaining, ch["currency"], settled)
    bt = new_bt(e, t, amount=-settled_amount, fee=0, fee_details=[], available_on=t,
                type="payment_failure_refund", category="charge_failure", source=ch["id"],
                description=f"Payment failure refund for {ch['id']}",
                exchange_rate=exchange_rate, currency=settled)
    ch.update(status="failed", paid=False, failure_code=code, failure_message=FAILURES[code],
              failure_balance_transaction=bt["id"])
    e.put(ch)
    e.emit("charge.failed", ch, t)
    return bt


def typed_bt(e: Engine, t: int, type: str, category: str, amount: int, currency: str) -> Obj:
    """One BT of a payment-related ``type``/``category`` with real source objects."""
    def bt_of(obj: Obj) -> Obj:
        return e.load(obj["balance_transaction"], "balance_transaction")

    if type in ("payment", "payment_refund", "payment_failure_refund", "payment_reversal"):
        ch = bank_debit(e, t, amount=amount, currency=currency, customer=None,
                        description="Control-call bank debit")
        if type == "payment":
            return bt_of(ch)
        if type == "payment_refund":
            ref = refund_charge(e, ch, amount, t, reason=None, metadata={})
            bt = bt_of(ref)
            bt.update(type="payment_refund")
            return e.put(bt)
        bt = fail_after_success(e, ch, t)
        if type == "payment_reversal":
            bt["type"] = "payment_reversal"
        return e.put(bt)
    card = Card("visa", "4242", "US", "credit")
    ch = attempt_charge(e, t, amount=amount, currency=currency, customer=None, pi=None,
                        card=card, pm_id=e.ids.new("card"), capture=True,
                        description="Control-call charge", metadata={}, receipt_email=None)
    if type == "charge" and category == "charge":
        return bt_of(ch)
    if type == "refund_failure":  # the refund cannot reach the card: money comes back
        ref = refund_charge(e, ch, amount, t, reason=None, metadata={})
        settled_amount = -bt_of(ref)["amount"]
        bt = new_bt(e, t, amount=settled_amount, fee=0, fee_details=[], available_on=t,
                    type="refund_failure", category="refund_failure", source=ref["id"],
                    description=f"REFUND FAILURE FOR {ref['id']}", currency=bt_of(ref)["currency"])
        ref.update(status="failed", failure_reason="lost_or_stolen_card",
                   failure_balance_transaction=bt["id"])
        e.put(ref)
        e.emit("refund.failed", ref, t)
        return bt
    if category in ("dispute", "dispute_reversal"):
        dp = open_dispute(e, ch, t, "fraudulent")
        if category == "dispute":
            return dp["balance_transactions"][0]
        dp["evidence"] = {**dp["evidence"], "uncategorized_text": "winning_evidence"}
        e.unschedule("dispute", dp["id"])
        resolve_dispute(e, dp["id"], t)
        return e.load(dp["id"], "dispute")["balance_transactions"][-1]
    return bt_of(refund_charge(e, ch, amount, t, reason=None, metadata={}, category=category))
