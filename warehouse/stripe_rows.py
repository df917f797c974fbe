"""Stripe JSON objects -> rows of the mirror tables (typed columns only).

Timestamp columns carry epoch seconds here; ``mirror`` turns them into the
backend's ``TIMESTAMP WITH TIME ZONE`` values.  Field names follow the pinned API version (``2026-10-28.endive``, the one the
installed SDK pins).  A missing required field raises ``BadStripeObject``
naming the object and the field, before anything of its batch is written.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = dict[str, Any]


class BadStripeObject(ValueError):
    """A Stripe object lacks a field the mirror needs (names the object and field)."""

    def __init__(self, obj: Any, field: str, problem: str = "is missing") -> None:
        oid = obj.get("id", "?") if isinstance(obj, dict) else "?"
        kind = obj.get("object", "?") if isinstance(obj, dict) else type(obj).__name__
        super().__init__(f"Stripe {kind} {oid}: field '{field}' {problem}")
        self.object_id, self.field = oid, field


def ts(value: int | None) -> int | None:
    """A timestamp column's value: epoch seconds, converted per backend when written."""
    return value


def ref(value: Any) -> str | None:
    """An expandable field's id, whether it came as an id or as the expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def _get(obj: dict, path: str, required: bool = False) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            if required:
                raise BadStripeObject(obj, path)
            return None
        cur = cur[part]
    if required and cur is None:
        raise BadStripeObject(obj, path, "is null")
    return cur


def _int(obj: dict, path: str, required: bool = False) -> int | None:
    value = _get(obj, path, required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadStripeObject(obj, path, f"must be an integer, got {value!r}")
    return value


def base(obj: dict) -> Row:
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise BadStripeObject(obj if isinstance(obj, dict) else {}, "id")
    return {"id": obj["id"], "created": ts(_int(obj, "created", True)),
            "livemode": bool(obj.get("livemode", False))}


def customer(o: dict) -> Row:
    return {**base(o), "email": o.get("email"), "name": o.get("name"),
            "currency": o.get("currency"), "balance": _int(o, "balance"),
            "delinquent": o.get("delinquent"), "tax_exempt": o.get("tax_exempt")}


def product(o: dict) -> Row:
    return {**base(o), "name": o.get("name"), "active": o.get("active"),
            "default_price_id": ref(o.get("default_price"))}


def price(o: dict) -> Row:
    return {**base(o), "product_id": ref(o.get("product")),
            "currency": _get(o, "currency", True), "unit_amount": _int(o, "unit_amount"),
            "type": o.get("type"), "recurring_interval": _get(o, "recurring.interval"),
            "active": o.get("active"), "lookup_key": o.get("lookup_key")}


def charge(o: dict) -> Row:
    return {**base(o), "amount": _int(o, "amount", True),
            "amount_captured": _int(o, "amount_captured"),
            "amount_refunded": _int(o, "amount_refunded"),
            "currency": _get(o, "currency", True), "customer_id": ref(o.get("customer")),
            "payment_intent_id": ref(o.get("payment_intent")),
            "balance_transaction_id": ref(o.get("balance_transaction")),
            "status": o.get("status"), "paid": o.get("paid"), "captured": o.get("captured"),
            "refunded": o.get("refunded"), "disputed": o.get("disputed"),
            "payment_method_type": _get(o, "payment_method_details.type")}


def refund(o: dict) -> Row:
    return {**base(o), "amount": _int(o, "amount", True),
            "currency": _get(o, "currency", True), "charge_id": ref(o.get("charge")),
            "payment_intent_id": ref(o.get("payment_intent")),
            "balance_transaction_id": ref(o.get("balance_transaction")),
            "status": o.get("status"), "reason": o.get("reason")}


def dispute(o: dict) -> Row:
    return {**base(o), "amount": _int(o, "amount", True),
            "currency": _get(o, "currency", True), "charge_id": ref(o.get("charge")),
            "payment_intent_id": ref(o.get("payment_intent")),
            "status": o.get("status"), "reason": o.get("reason")}


def payout(o: dict) -> Row:
    return {**base(o), "amount": _int(o, "amount", True),
            "currency": _get(o, "currency", True),
            "arrival_date": ts(_int(o, "arrival_date")), "automatic": o.get("automatic"),
            "status": o.get("status"), "method": o.get("method"),
            "balance_transaction_id": ref(o.get("balance_transaction")),
            "failure_balance_transaction_id": ref(o.get("failure_balance_transaction")),
            "failure_code": o.get("failure_code"),
            "reconciliation_status": o.get("reconciliation_status")}


def balance_transaction(o: dict) -> Row:
    rate = o.get("exchange_rate")
    return {**base(o), "amount": _int(o, "amount", True), "fee": _int(o, "fee", True),
            "net": _int(o, "net", True), "currency": _get(o, "currency", True),
            "exchange_rate": None if rate is None else float(rate),
            "type": _get(o, "type", True), "reporting_category": o.get("reporting_category"),
            "status": o.get("status"), "available_on": ts(_int(o, "available_on")),
            "source_id": ref(o.get("source"))}


def subscription(o: dict) -> Row:
    return {**base(o), "customer_id": ref(o.get("customer")), "status": o.get("status"),
            "currency": o.get("currency"), "start_date": ts(_int(o, "start_date")),
            "cancel_at_period_end": o.get("cancel_at_period_end"),
            "canceled_at": ts(_int(o, "canceled_at")), "ended_at": ts(_int(o, "ended_at"))}


def subscription_item(o: dict) -> Row:
    return {**base(o), "subscription_id": _get(o, "subscription", True),
            "price_id": ref(o.get("price")), "quantity": _int(o, "quantity"),
            "current_period_start": ts(_int(o, "current_period_start")),
            "current_period_end": ts(_int(o, "current_period_end"))}


def invoice(o: dict) -> Row:
    return {**base(o), "customer_id": ref(o.get("customer")),
            "subscription_id": ref(_get(o, "parent.subscription_details.subscription")),
            "number": o.get("number"), "status": o.get("status"),
            "currency": _get(o, "currency", True), "subtotal": _int(o, "subtotal"),
            "total": _int(o, "total"), "amount_due": _int(o, "amount_due"),
            "amount_paid": _int(o, "amount_paid"),
            "amount_remaining": _int(o, "amount_remaining"),
            "period_start": ts(_int(o, "period_start")), "period_end": ts(_int(o, "period_end"))}


def invoice_line(o: dict, invoice_obj: dict) -> Row:
    """A line carries no ``created``; it takes its invoice's."""
    if not isinstance(o, dict) or not isinstance(o.get("id"), str):
        raise BadStripeObject(invoice_obj, "lines.data[].id")
    return {"id": o["id"], "created": ts(_int(invoice_obj, "created", True)),
            "livemode": bool(o.get("livemode", False)), "invoice_id": invoice_obj["id"],
            "amount": _int(o, "amount", True), "currency": _get(o, "currency", True),
            "quantity": _int(o, "quantity"),
            "price_id": ref(_get(o, "pricing.price_details.price")),
            "subscription_id": ref(o.get("subscription"))
            or ref(_get(o, "parent.subscription_item_details.subscription")),
            "period_start": ts(_int(o, "period.start")), "period_end": ts(_int(o, "period.end"))}


ROW_BUILDERS: dict[str, Callable[[dict], Row]] = {
    "stripe_customers": customer,
    "stripe_products": product,
    "stripe_prices": price,
    "stripe_charges": charge,
    "stripe_refunds": refund,
    "stripe_disputes": dispute,
    "stripe_payouts": payout,
    "stripe_balance_transactions": balance_transaction,
    "stripe_subscriptions": subscription,
    "stripe_subscription_items": subscription_item,
    "stripe_invoices": invoice,
}
