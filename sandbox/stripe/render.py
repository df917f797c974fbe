"""Object templates, ids and row extraction.

Every builder returns a plain dict carrying exactly the top-level keys the
stripe-python 16.1 model declares for that object (API version
``2026-10-28.endive``), minus fields Stripe only returns when expanded or
included (``charge.refunds``, ``customer.sources`` ...; see ``OMITTED``).
Nested constant sub-objects are module-level and shared between objects:
orjson serialises them without copying, which keeps bulk generation cheap.
Builders never mutate shared constants; callers replace, not edit, nested
values (``obj["outcome"] = {...}``).

The indexed columns stored next to the rendered JSON are extracted by
``store_schema.ROW``.
"""

from __future__ import annotations

import base64
import random
from typing import Any

import orjson

API_VERSION = "2026-10-28.endive"

# Fields the SDK models declare that this sandbox does not render, and why.
OMITTED: dict[str, frozenset[str]] = {
    "customer": frozenset(
        {
            "cash_balance",
            "invoice_credit_balance",
            "sources",
            "subscriptions",
            "tax",
            "tax_ids",
            "deleted",
        }
    ),  # includable only; deleted: stub only
    "charge": frozenset({"refunds"}),  # only when expanded since 2022-11-15
    "price": frozenset({"currency_options", "tiers", "deleted"}),  # includable only
    "product": frozenset({"deleted"}),
    "subscription_item": frozenset({"deleted", "billed_until"}),  # includable since dahlia
    "invoice": frozenset({"deleted", "payments"}),  # payments: includable only
    "webhook_endpoint": frozenset({"secret", "deleted"}),  # secret: only in the create response
    "event": frozenset({"account"}),  # Connect only
    "balance": frozenset({"instant_available", "issuing"}),  # feature-gated
}

dumps = orjson.dumps
loads = orjson.loads

_B64 = bytes.maketrans(b"+/", b"Zq")


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # ASCII order


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(_BASE62[r])
    return "".join(reversed(out))


class Ids:
    """Stripe-looking ids, deterministic per seed: ``<prefix>_<head><random>``.

    Like Stripe's, the ids are roughly ordered by creation: the 6-character
    head counts up every 256 ids.  Besides looking right, this keeps the id
    indexes' inserts local (appends), a large part of bulk-load speed.
    Random bytes are drawn and encoded in blocks; an id is then one slice.
    """

    _BLOCK = 1024  # random suffixes per refill
    _HEAD = 6
    _HEAD_BASE = 3 * 62**5 + 812_345_678  # heads look like Stripe's ("3Pg...")

    def __init__(self, seed: int | str, start: int = 0) -> None:
        self._rng = random.Random(seed)
        self._chars = ""
        self._pos = 0
        self._count = start
        self._head = _base62(self._HEAD_BASE + (start >> 8), self._HEAD)

    def _random(self, length: int) -> str:
        pos = self._pos
        if pos + 24 > len(self._chars):
            raw = base64.b64encode(self._rng.randbytes(18 * self._BLOCK)).translate(_B64)
            self._chars, pos = raw.decode(), 0
        self._pos = pos + 24
        return self._chars[pos : pos + length]

    def new(self, prefix: str, length: int = 24) -> str:
        n = self._count
        self._count = n + 1
        if not n & 255:
            self._head = _base62(self._HEAD_BASE + (n >> 8), self._HEAD)
        pos = self._pos  # ``_random`` inlined: ids are the hottest call in bulk generation
        if pos + 24 > len(self._chars):
            return prefix + "_" + self._head + self._random(length - self._HEAD)
        self._pos = pos + 24
        return f"{prefix}_{self._head}{self._chars[pos : pos + length - self._HEAD]}"

    def short(self, prefix: str) -> str:
        return self.new(prefix, 14)

    def secret(self, length: int) -> str:
        """Random characters only (client secrets, invoice prefixes)."""
        return self._random(length)


NULL_ADDRESS = {
    "city": None,
    "country": None,
    "line1": None,
    "line2": None,
    "postal_code": None,
    "state": None,
}
EMPTY_LIST_META: dict[str, Any] = {}


def sub_list(url: str, data: list[Any], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


# --------------------------------------------------------------------------- customers & catalog


def customer(
    id: str,
    created: int,
    *,
    email: str | None,
    name: str | None,
    phone: str | None,
    description: str | None,
    address: dict | None,
    metadata: dict,
    currency: str | None,
    invoice_prefix: str,
    default_payment_method: str | None,
    preferred_locales: list[str],
    tax_exempt: str = "none",
    shipping: dict | None = None,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "customer",
        "address": address,
        "balance": 0,
        "business_name": None,
        "created": created,
        "currency": currency,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": description,
        "discount": None,
        "email": email,
        "individual_name": None,
        "invoice_prefix": invoice_prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": default_payment_method,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": metadata,
        "name": name,
        "next_invoice_sequence": 1,
        "phone": phone,
        "preferred_locales": preferred_locales,
        "shipping": shipping,
        "tax_exempt": tax_exempt,
        "test_clock": None,
    }


def product(
    id: str,
    created: int,
    *,
    name: str,
    description: str | None,
    metadata: dict,
    active: bool,
    type: str,
    unit_label: str | None,
    url: str | None,
    images: list[str],
    shippable: bool | None,
    statement_descriptor: str | None,
    tax_code: str | None,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "product",
        "active": active,
        "created": created,
        "default_price": None,
        "description": description,
        "images": images,
        "livemode": False,
        "marketing_features": [],
        "metadata": metadata,
        "name": name,
        "package_dimensions": None,
        "shippable": shippable,
        "statement_descriptor": statement_descriptor,
        "tax_code": tax_code,
        "tax_details": None,
        "type": type,
        "unit_label": unit_label,
        "updated": created,
        "url": url,
    }


def price(
    id: str,
    created: int,
    *,
    product: str,
    currency: str,
    unit_amount: int,
    recurring: dict | None,
    nickname: str | None,
    lookup_key: str | None,
    metadata: dict,
    active: bool,
    tax_behavior: str,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "price",
        "active": active,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": metadata,
        "nickname": nickname,
        "product": product,
        "recurring": recurring,
        "tax_behavior": tax_behavior,
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def recurring(interval: str, interval_count: int) -> dict[str, Any]:
    return {
        "interval": interval,
        "interval_count": interval_count,
        "meter": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def plan_from_price(p: dict[str, Any]) -> dict[str, Any]:
    """Legacy ``plan`` mirror of a recurring price, still rendered on subscription items."""
    rec = p["recurring"] or {}
    return {
        "id": p["id"],
        "object": "plan",
        "active": p["active"],
        "amount": p["unit_amount"],
        "amount_decimal": p["unit_amount_decimal"],
        "billing_scheme": "per_unit",
        "created": p["created"],
        "currency": p["currency"],
        "interval": rec.get("interval"),
        "interval_count": rec.get("interval_count"),
        "livemode": False,
        "metadata": p["metadata"],
        "meter": None,
        "nickname": p["nickname"],
        "product": p["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


# --------------------------------------------------------------------------- payments

CARD_CHECKS = {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"}


def card_template(
    brand: str,
    last4: str,
    country: str,
    funding: str,
    exp_month: int,
    exp_year: int,
    fingerprint: str,
) -> dict[str, Any]:
    """``payment_method_details.card`` of one test card, minus the amount fields."""
    return {
        "amount_authorized": None,
        "authorization_code": None,
        "brand": brand,
        "checks": CARD_CHECKS,
        "country": country,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "extended_authorization": {"status": "disabled"},
        "fingerprint": fingerprint,
        "funding": funding,
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "last4": last4,
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": brand,
        "network_token": {"used": False},
        "network_transaction_id": None,
        "overcapture": None,
        "regulated_status": "unregulated",
        "three_d_secure": None,
        "wallet": None,
    }


def card_details(template: dict[str, Any], amount: int) -> dict[str, Any]:
    return {
        "card": {
            **template,
            "amount_authorized": amount,
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
        },
        "type": "card",
    }


OUTCOME_OK = {
    "advice_code": None,
    "network_advice_code": None,
    "network_decline_code": None,
    "network_status": "approved_by_network",
    "reason": None,
    "risk_level": "normal",
    "risk_score": 32,
    "rule": None,
    "seller_message": "Payment complete.",
    "type": "authorized",
}


def outcome_declined(decline_code: str) -> dict[str, Any]:
    return {
        "advice_code": "try_again_later" if decline_code == "insufficient_funds" else None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "declined_by_network",
        "reason": decline_code,
        "risk_level": "normal",
        "risk_score": 40,
        "rule": None,
        "seller_message": "The bank did not return any further details with this decline.",
        "type": "issuer_declined",
    }


BILLING_EMPTY = {
    "address": NULL_ADDRESS,
    "email": None,
    "name": None,
    "phone": None,
    "tax_id": None,
}


def billing_details(name: str | None, email: str | None) -> dict[str, Any]:
    if name is None and email is None:
        return BILLING_EMPTY
    return {"address": NULL_ADDRESS, "email": email, "name": name, "phone": None, "tax_id": None}


# Large objects are built by copying a template (a dict copy is a fraction of
# the cost of a 50-key literal) and setting the per-object fields; the key
# order, and so the rendered JSON, is the template's.  Mutable values in a
# template are replaced per object, never shared.
_CHARGE: dict[str, Any] = {
    "id": None,
    "object": "charge",
    "amount": None,
    "amount_captured": None,
    "amount_refunded": 0,
    "application": None,
    "application_fee": None,
    "application_fee_amount": None,
    "authorization_code": None,
    "balance_transaction": None,
    "billing_details": None,
    "calculated_statement_descriptor": None,
    "captured": None,
    "created": None,
    "currency": None,
    "customer": None,
    "description": None,
    "disputed": False,
    "failure_balance_transaction": None,
    "failure_code": None,
    "failure_message": None,
    "fraud_details": None,
    "level3": None,
    "livemode": False,
    "metadata": None,
    "on_behalf_of": None,
    "outcome": None,
    "paid": None,
    "payment_intent": None,
    "payment_method": None,
    "payment_method_details": None,
    "presentment_details": None,
    "radar_options": None,
    "receipt_email": None,
    "receipt_number": None,
    "receipt_url": None,
    "refunded": False,
    "review": None,
    "shipping": None,
    "source": None,
    "source_transfer": None,
    "statement_descriptor": None,
    "statement_descriptor_suffix": None,
    "status": None,
    "transfer": None,
    "transfer_data": None,
    "transfer_group": None,
}


def charge(
    id: str,
    created: int,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    payment_intent: str | None,
    payment_method: str,
    pm_details: dict,
    description: str | None,
    metadata: dict,
    billing: dict,
    receipt_email: str | None,
    captured: bool,
    status: str,
    outcome: dict,
    failure_code: str | None,
    failure_message: str | None,
    balance_transaction: str | None,
    statement_descriptor_suffix: str | None = None,
) -> dict[str, Any]:
    succeeded = status == "succeeded"
    ch = _CHARGE.copy()
    ch["id"] = id
    ch["amount"] = amount
    ch["amount_captured"] = amount if captured else 0
    ch["balance_transaction"] = balance_transaction
    ch["billing_details"] = billing
    if succeeded:
        ch["calculated_statement_descriptor"] = "SANDBOX* STRIPE"
        ch["receipt_url"] = f"https://pay.stripe.com/receipts/payment/{id}"
    ch["captured"] = captured
    ch["created"] = created
    ch["currency"] = currency
    ch["customer"] = customer
    ch["description"] = description
    ch["failure_code"] = failure_code
    ch["failure_message"] = failure_message
    ch["fraud_details"] = {}
    ch["metadata"] = metadata
    ch["outcome"] = outcome
    ch["paid"] = succeeded
    ch["payment_intent"] = payment_intent
    ch["payment_method"] = payment_method
    ch["payment_method_details"] = pm_details
    ch["receipt_email"] = receipt_email
    ch["statement_descriptor_suffix"] = statement_descriptor_suffix
    ch["status"] = status
    return ch


PMO_CARD = {
    "card": {
        "installments": None,
        "mandate_options": None,
        "network": None,
        "request_three_d_secure": "automatic",
    }
}
AMOUNT_DETAILS = {"tip": {}}


_PAYMENT_INTENT: dict[str, Any] = {
    "id": None,
    "object": "payment_intent",
    "allowed_payment_method_types": None,
    "amount": None,
    "amount_capturable": 0,
    "amount_details": AMOUNT_DETAILS,
    "amount_received": 0,
    "application": None,
    "application_fee_amount": None,
    "automatic_payment_methods": None,
    "canceled_at": None,
    "cancellation_reason": None,
    "capture_method": None,
    "client_secret": None,
    "confirmation_method": "automatic",
    "created": None,
    "currency": None,
    "customer": None,
    "customer_account": None,
    "description": None,
    "excluded_payment_method_types": None,
    "hooks": None,
    "last_payment_error": None,
    "latest_charge": None,
    "livemode": False,
    "managed_payments": None,
    "metadata": None,
    "next_action": None,
    "on_behalf_of": None,
    "payment_details": None,
    "payment_method": None,
    "payment_method_configuration_details": None,
    "payment_method_options": PMO_CARD,
    "payment_method_types": None,
    "payment_record": None,
    "presentment_details": None,
    "processing": None,
    "receipt_email": None,
    "review": None,
    "setup_future_usage": None,
    "shipping": None,
    "source": None,
    "statement_descriptor": None,
    "statement_descriptor_suffix": None,
    "status": None,
    "transfer_data": None,
    "transfer_group": None,
}


def payment_intent(
    id: str,
    created: int,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    description: str | None,
    metadata: dict,
    capture_method: str,
    payment_method: str | None,
    receipt_email: str | None,
    client_secret: str,
    payment_method_types: list[str],
    automatic_payment_methods: dict | None,
    statement_descriptor: str | None,
    statement_descriptor_suffix: str | None,
    setup_future_usage: str | None,
) -> dict[str, Any]:
    pi = _PAYMENT_INTENT.copy()
    pi["id"] = id
    pi["amount"] = amount
    pi["automatic_payment_methods"] = automatic_payment_methods
    pi["capture_method"] = capture_method
    pi["client_secret"] = client_secret
    pi["created"] = created
    pi["currency"] = currency
    pi["customer"] = customer
    pi["description"] = description
    pi["metadata"] = metadata
    pi["payment_method"] = payment_method
    pi["payment_method_types"] = payment_method_types
    pi["receipt_email"] = receipt_email
    pi["setup_future_usage"] = setup_future_usage
    pi["statement_descriptor"] = statement_descriptor
    pi["statement_descriptor_suffix"] = statement_descriptor_suffix
    pi["status"] = "requires_payment_method" if payment_method is None else "requires_confirmation"
    return pi


def stripe_fee_details(fee: int, currency: str = "usd") -> list[dict[str, Any]]:
    if not fee:
        return []
    return [
        {
            "amount": fee,
            "application": None,
            "currency": currency,
            "description": "Stripe processing fees",
            "type": "stripe_fee",
        }
    ]


def balance_transaction(
    id: str,
    created: int,
    *,
    amount: int,
    fee: int,
    fee_details: list[dict[str, Any]],
    available_on: int,
    status: str,
    type: str,
    reporting_category: str,
    source: str | None,
    description: str | None,
    exchange_rate: float | None,
    currency: str = "usd",
    balance_type: str = "payments",
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": available_on,
        "balance_type": balance_type,
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": exchange_rate,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": reporting_category,
        "source": source,
        "status": status,
        "type": type,
    }


REFUND_DEST_CARD = {
    "card": {
        "reference": None,
        "reference_status": "pending",
        "reference_type": "acquirer_reference_number",
        "type": "refund",
    },
    "type": "card",
}


def refund(
    id: str,
    created: int,
    *,
    amount: int,
    charge: str,
    currency: str,
    payment_intent: str | None,
    customer: str | None,
    payment_method: str | None,
    balance_transaction: str | None,
    reason: str | None,
    metadata: dict,
    description: str | None = None,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": balance_transaction,
        "charge": charge,
        "created": created,
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "description": description,
        "destination_details": REFUND_DEST_CARD,
        "failure_balance_transaction": None,
        "failure_reason": None,
        "instructions_email": None,
        "metadata": metadata,
        "next_action": None,
        "payment_intent": payment_intent,
        "payment_method": payment_method,
        "pending_reason": None,
        "presentment_details": None,
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


EVIDENCE = dict.fromkeys(
    (
        "access_activity_log billing_address cancellation_policy cancellation_policy_disclosure "
        "cancellation_rebuttal customer_communication customer_email_address customer_name "
        "customer_purchase_ip customer_signature duplicate_charge_documentation "
        "duplicate_charge_explanation duplicate_charge_id product_description receipt "
        "refund_policy refund_policy_disclosure refund_refusal_explanation service_date "
        "service_documentation "
        "shipping_address shipping_carrier shipping_date shipping_documentation "
        "shipping_tracking_number uncategorized_file uncategorized_text"
    ).split()
)
EVIDENCE["enhanced_evidence"] = {}
REASON_CODES = {
    "fraudulent": "10.4",
    "product_not_received": "13.1",
    "duplicate": "12.6.1",
    "subscription_canceled": "13.2",
    "general": "13.3",
    "unrecognized": "10.4",
    "credit_not_processed": "13.6",
    "product_unacceptable": "13.3",
}


def dispute(
    id: str,
    created: int,
    *,
    amount: int,
    currency: str,
    charge: str,
    payment_intent: str | None,
    reason: str,
    brand: str,
    due_by: int,
    balance_transactions: list[dict[str, Any]],
    status: str = "needs_response",
    case_type: str = "chargeback",
) -> dict[str, Any]:
    code = REASON_CODES.get(reason, "13.3")
    return {
        "id": id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": balance_transactions,
        "charge": charge,
        "created": created,
        "currency": currency,
        "enhanced_eligibility_types": [],
        "evidence": EVIDENCE,
        "evidence_details": {
            "due_by": due_by,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "intended_submission_method": None,
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": code,
        "payment_intent": payment_intent,
        "payment_method_details": {
            "card": {"brand": brand, "case_type": case_type, "network_reason_code": code},
            "type": "card",
        },
        "reason": reason,
        "status": status,
    }


TRACE_PENDING = {"status": "pending", "value": None}


def payout(
    id: str,
    created: int,
    *,
    amount: int,
    arrival_date: int,
    automatic: bool,
    balance_transaction: str,
    destination: str,
    description: str | None,
    metadata: dict,
    method: str,
    statement_descriptor: str | None,
    currency: str = "usd",
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": arrival_date,
        "automatic": automatic,
        "balance_transaction": balance_transaction,
        "created": created,
        "currency": currency,
        "description": description,
        "destination": destination,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": metadata,
        "method": method,
        "original_payout": None,
        "payout_method": None,
        "reconciliation_status": "in_progress" if automatic else "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": statement_descriptor,
        "status": "pending",
        "trace_id": TRACE_PENDING,
        "type": "bank_account",
    }


# --------------------------------------------------------------------------- billing

AUTOMATIC_TAX_OFF = {"disabled_reason": None, "enabled": False, "liability": None}
INVOICE_AUTOMATIC_TAX_OFF = {
    "disabled_reason": None,
    "enabled": False,
    "liability": None,
    "provider": None,
    "status": None,
}
BILLING_MODE_CLASSIC = {"flexible": None, "type": "classic"}
SUB_INVOICE_SETTINGS = {"account_tax_ids": None, "issuer": {"type": "self"}}
SUB_PAYMENT_SETTINGS = {
    "payment_method_options": None,
    "payment_method_types": None,
    "save_default_payment_method": "off",
}
CANCELLATION_NONE = {"comment": None, "feedback": None, "reason": None}
TRIAL_SETTINGS = {"end_behavior": {"missing_payment_method": "create_invoice"}}


def subscription_item(
    id: str,
    created: int,
    *,
    price: dict[str, Any],
    quantity: int,
    subscription: str,
    period_start: int,
    period_end: int,
    metadata: dict,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": created,
        "current_period_end": period_end,
        "current_period_start": period_start,
        "current_trial": None,
        "discounts": [],
        "metadata": metadata,
        "plan": plan_from_price(price),
        "price": price,
        "quantity": quantity,
        "subscription": subscription,
        "tax_rates": [],
    }


def subscription(
    id: str,
    created: int,
    *,
    customer: str,
    currency: str,
    items: list[dict[str, Any]],
    anchor: int,
    default_payment_method: str | None,
    metadata: dict,
    description: str | None,
    collection_method: str,
    days_until_due: int | None,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": AUTOMATIC_TAX_OFF,
        "billing_cycle_anchor": anchor,
        "billing_cycle_anchor_config": None,
        "billing_mode": BILLING_MODE_CLASSIC,
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": CANCELLATION_NONE,
        "collection_method": collection_method,
        "created": created,
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "days_until_due": days_until_due,
        "default_payment_method": default_payment_method,
        "default_source": None,
        "default_tax_rates": [],
        "description": description,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": SUB_INVOICE_SETTINGS,
        "items": sub_list(f"/v1/subscription_items?subscription={id}", items),
        "latest_invoice": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": metadata,
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": SUB_PAYMENT_SETTINGS,
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "presentment_details": None,
        "schedule": None,
        "start_date": created,
        "status": "incomplete",
        "status_details": None,
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": TRIAL_SETTINGS,
        "trial_start": None,
    }


def line_item(
    id: str,
    *,
    invoice: str,
    amount: int,
    currency: str,
    description: str,
    price: dict[str, Any],
    quantity: int,
    period_start: int,
    period_end: int,
    subscription: str | None,
    subscription_item: str | None,
    metadata: dict,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice,
        "livemode": False,
        "metadata": metadata,
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription,
                "subscription_item": subscription_item,
            },
            "type": "subscription_item_details",
        },
        "period": {"end": period_end, "start": period_start},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price["unit_amount_decimal"],
        },
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "subscription": subscription,
        "subtotal": amount,
        "taxes": [],
    }


INVOICE_PAYMENT_SETTINGS = {
    "default_mandate": None,
    "payment_method_options": None,
    "payment_method_types": None,
}
INVOICE_RENDERING = {
    "amount_tax_display": None,
    "pdf": {"page_size": "auto"},
    "template": None,
    "template_version": None,
}
ISSUER_SELF = {"type": "self"}


def invoice(
    id: str,
    created: int,
    *,
    customer: dict[str, Any],
    currency: str,
    lines: list[dict[str, Any]],
    billing_reason: str,
    subscription: str | None,
    period_start: int,
    period_end: int,
    collection_method: str,
    description: str | None,
    metadata: dict,
    due_date: int | None,
) -> dict[str, Any]:
    total = sum(li["amount"] for li in lines)
    return {
        "id": id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Sandbox Inc.",
        "account_tax_ids": None,
        "amount_due": total,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_paid_off_stripe": 0,
        "amount_remaining": total,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": INVOICE_AUTOMATIC_TAX_OFF,
        "automatically_finalizes_at": created + 3600,
        "billing_reason": billing_reason,
        "collection_method": collection_method,
        "confirmation_secret": None,
        "created": created,
        "currency": currency,
        "custom_fields": None,
        "customer": customer["id"],
        "customer_account": None,
        "customer_address": customer["address"],
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": customer["phone"],
        "customer_shipping": customer["shipping"],
        "customer_tax_exempt": customer["tax_exempt"],
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": description,
        "discounts": [],
        "due_date": due_date,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": ISSUER_SELF,
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": sub_list(f"/v1/invoices/{id}/lines", lines),
        "livemode": False,
        "metadata": metadata,
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": None
        if subscription is None
        else {
            "quote_details": None,
            "type": "subscription_details",
            "subscription_details": {
                "metadata": {},
                "subscription": subscription,
                "subscription_proration_date": None,
            },
        },
        "payment_settings": INVOICE_PAYMENT_SETTINGS,
        "period_end": period_end,
        "period_start": period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": INVOICE_RENDERING,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_details": None,
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "test_clock": None,
        "threshold_reason": None,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": total,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }


def invoice_payment(
    id: str, created: int, *, invoice: str, amount: int, currency: str, payment_intent: str
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "invoice_payment",
        "amount_paid": None,
        "amount_requested": amount,
        "created": created,
        "currency": currency,
        "invoice": invoice,
        "is_default": True,
        "livemode": False,
        "payment": {
            "charge": None,
            "payment_intent": payment_intent,
            "payment_record": None,
            "type": "payment_intent",
        },
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }


def webhook_endpoint(
    id: str,
    created: int,
    *,
    url: str,
    enabled_events: list[str],
    description: str | None,
    metadata: dict,
    api_version: str | None,
) -> dict:
    return {
        "id": id,
        "object": "webhook_endpoint",
        "api_version": api_version,
        "application": None,
        "created": created,
        "description": description,
        "enabled_events": enabled_events,
        "livemode": False,
        "metadata": metadata,
        "status": "enabled",
        "url": url,
    }


def deleted(id: str, object: str) -> dict[str, Any]:
    return {"id": id, "object": object, "deleted": True}


# --------------------------------------------------------------------------- events

_EVT_HEAD = (
    b'{"id":"%s","object":"event","api_version":"'
    + API_VERSION.encode()
    + b'","context":null,"created":%d,"data":{"object":'
)


_NO_REQUEST = dumps({"id": None, "idempotency_key": None})


def event_parts(
    id: str,
    created: int,
    type: str,
    previous_attributes: dict[str, Any] | None,
    pending_webhooks: int,
    request_id: str | None,
    idempotency_key: str | None,
) -> tuple[bytes, bytes]:
    """The bytes before and after the object snapshot in an event's JSON.

    Snapshots are immutable ("The contents of ``data`` never change"), so an
    event is ``head + snapshot + tail``: the object's already-rendered bytes
    are reused verbatim instead of being serialised again.
    """
    request = (
        _NO_REQUEST
        if request_id is None and idempotency_key is None
        else dumps({"id": request_id, "idempotency_key": idempotency_key})
    )
    tail = b'},"livemode":false,"pending_webhooks":%d,"request":%s,"type":"%s"}' % (
        pending_webhooks,
        request,
        type.encode(),
    )
    if previous_attributes is not None:
        tail = b',"previous_attributes":' + dumps(previous_attributes) + tail
    return _EVT_HEAD % (id.encode(), created), tail


def event_bytes(
    id: str,
    created: int,
    type: str,
    snapshot: bytes,
    previous_attributes: dict[str, Any] | None,
    pending_webhooks: int,
    request_id: str | None,
    idempotency_key: str | None,
) -> bytes:
    """An event's JSON around the snapshot bytes of its object (see ``event_parts``)."""
    head, tail = event_parts(
        id, created, type, previous_attributes, pending_webhooks, request_id, idempotency_key
    )
    return head + snapshot + tail
