"""Cards, charges, payment intents, fees and balance transactions."""
from __future__ import annotations

from typing import Any

from .base import NULL_ADDRESS

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
