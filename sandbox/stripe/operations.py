"""What the API can do to each resource, and the engine's scheduled jobs.

Handlers follow the engine's convention ``handler(engine, [id,] params, t)``
and return the object to render; jobs are ``job(engine, ref, due)``.  The
HTTP layer routes only what is listed here (anything else 404s like Stripe).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import billing, catalog, disputes, invoicing, payments, payouts

Handler = Callable[..., dict[str, Any]]

# (resource, operation) -> handler(engine, [id,] params, t) returning the object to render.
CREATE: dict[str, Handler] = {
    "customers": catalog.create_customer,
    "products": catalog.create_product,
    "prices": catalog.create_price,
    "webhook_endpoints": catalog.create_webhook_endpoint,
    "payment_intents": payments.create_payment_intent,
    "charges": payments.create_charge,
    "refunds": payments.create_refund,
    "payouts": payouts.create_payout,
    "subscriptions": billing.create_subscription,
    "invoices": billing.create_invoice,
}
UPDATE: dict[str, Handler] = {
    "customers": catalog.update_customer,
    "products": catalog.update_product,
    "prices": catalog.update_price,
    "webhook_endpoints": catalog.update_webhook_endpoint,
    "payment_intents": payments.update_payment_intent,
    "charges": payments.update_charge,
    "refunds": payments.update_refund,
    "disputes": disputes.update_dispute,
    "payouts": payouts.update_payout,
    "subscriptions": billing.update_subscription,
    "invoices": billing.update_invoice,
}
DELETE: dict[str, Handler] = {
    "customers": catalog.delete_customer,
    "products": catalog.delete_product,
    "webhook_endpoints": catalog.delete_webhook_endpoint,
    "subscriptions": billing.cancel_subscription,
    "invoices": billing.delete_invoice,
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
    ("subscriptions", "cancel"): billing.cancel_subscription,
}
# Scheduled job kinds -> handler(engine, ref, due).
JOBS: dict[str, Callable[[Any, str, int], None]] = {
    "daily": payouts.daily_run,
    "sweep": payouts.sweep_run,
    "payout": payouts.payout_step,
    "dispute": disputes.resolve_dispute,
    "renew": billing.renew_subscription,
    "collect": billing.collect_invoice,
}
