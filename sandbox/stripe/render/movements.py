"""Refunds, disputes and payouts."""
from __future__ import annotations

from typing import Any


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
