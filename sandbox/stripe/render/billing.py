"""Subscriptions, subscription items, invoices, their lines and payments."""
from __future__ import annotations

from typing import Any

from .base import sub_list
from .catalog import plan_from_price

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
