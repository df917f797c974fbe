"""What the API can do to each resource, and the engine's scheduled jobs.

Handlers follow the engine's convention ``handler(engine, [id,] params, t)``
and return the object to render; jobs are ``job(engine, ref, due)``.  The
HTTP layer routes only what is listed here (anything else 404s like Stripe).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import billing, catalog, charges, coupons, credit_notes, disputes, invoicing, payments, payouts
from . import refunds, subscriptions, webhook_endpoints
from . import subscription_cycle as cycle

Handler = Callable[..., dict[str, Any]]

# (resource, operation) -> handler(engine, [id,] params, t) returning the object to render.
CREATE: dict[str, Handler] = {
    "customers": catalog.create_customer,
    "products": catalog.create_product,
    "prices": catalog.create_price,
    "webhook_endpoints": webhook_endpoints.create_webhook_endpoint,
    "payment_intents": payments.create_payment_intent,
    "charges": charges.create_charge,
    "refunds": refunds.create_refund,
    "payouts": payouts.create_payout,
    "subscriptions": subscriptions.create_subscription,
    "invoices": billing.create_invoice,
    "coupons": coupons.create_coupon,
    "tax_rates": invoicing.create_tax_rate,
    "credit_notes": credit_notes.create_credit_note,
    # GET /v1/credit_notes/preview computes without storing (routed in app.py)
    "credit_notes/preview": credit_notes.preview_credit_note,
}
UPDATE: dict[str, Handler] = {
    "customers": catalog.update_customer,
    "products": catalog.update_product,
    "prices": catalog.update_price,
    "webhook_endpoints": webhook_endpoints.update_webhook_endpoint,
    "payment_intents": payments.update_payment_intent,
    "charges": charges.update_charge,
    "refunds": refunds.update_refund,
    "disputes": disputes.update_dispute,
    "payouts": payouts.update_payout,
    "subscriptions": subscriptions.update_subscription,
    "invoices": billing.update_invoice,
    "coupons": coupons.update_coupon,
    "credit_notes": credit_notes.update_credit_note,
}
DELETE: dict[str, Handler] = {
    "customers": catalog.delete_customer,
    "products": catalog.delete_product,
    "webhook_endpoints": webhook_endpoints.delete_webhook_endpoint,
    "subscriptions": subscriptions.cancel_subscription,
    "invoices": billing.delete_invoice,
    "coupons": coupons.delete_coupon,
}
ACTION: dict[tuple[str, str], Handler] = {
    ("payment_intents", "confirm"): payments.confirm_payment_intent,
    ("payment_intents", "capture"): payments.capture_payment_intent,
    ("payment_intents", "cancel"): payments.cancel_payment_intent,
    ("charges", "capture"): payments.capture_charge,
    ("disputes", "close"): disputes.close_dispute,
    ("payouts", "cancel"): payouts.cancel_payout,
    ("invoices", "finalize"): billing.finalize_invoice_action,
    ("invoices", "pay"): billing.pay_invoice_action,
    ("invoices", "void"): billing.void_invoice_action,
    ("invoices", "mark_uncollectible"): invoicing.mark_uncollectible_action,
    ("subscriptions", "cancel"): subscriptions.cancel_subscription,
    ("subscriptions", "resume"): subscriptions.resume_subscription,
    ("credit_notes", "void"): credit_notes.void_credit_note,
}
# Scheduled job kinds -> handler(engine, ref, due).
JOBS: dict[str, Callable[[Any, str, int], None]] = {
    "daily": payouts.daily_run,
    "sweep": payouts.sweep_run,
    "payout": payouts.payout_step,
    "dispute": disputes.resolve_dispute,
    "renew": cycle.renew_subscription,
    "collect": cycle.collect_invoice,
    "dunning": cycle.dunning_retry,
    "trial_will_end": cycle.trial_will_end,
    "resume_collection": cycle.resume_collection,
}
