"""Which properties ``expand[]`` accepts, per object type.

Two kinds, as Stripe's docs put it ("Expanding responses"): *expandable*
properties hold the id of another object and are replaced by that object;
*includable* properties are not in the response unless asked for (a sub-list
or hash Stripe builds on request: ``customer.sources``, ``charge.refunds``).

``EXPANDABLE`` lists, for every object the sandbox serves, the dotted paths
the stripe-python 16.1.0 typed models annotate as ``ExpandableField``
(API version ``2026-10-28.endive``); nested paths such as
``invoice_settings.default_payment_method`` walk through sub-hashes.
``tests/sandbox/test_stripe_expand.py`` re-derives the table from the
installed SDK's sources and fails on any drift.

``INCLUDABLE`` lists the properties Stripe returns only when expanded:
``customer.sources``/``subscriptions``/``tax_ids`` (omitted by default since
API 2020-08-27; the OpenAPI spec 2023-08-16 lists them in the customer's
``x-expandableFields`` and outside its ``required`` set), ``cash_balance``,
``invoice_credit_balance`` and ``tax``; ``charge.refunds`` (since
2022-11-15); ``invoice.payments`` (basil); ``subscription_item.billed_until``
(includable since 2026-05-27.dahlia); ``price.currency_options``/``tiers``
and ``plan.tiers``; ``search_result.total_count`` is handled by the search
module.  How each is built is in :mod:`.http_expand`.
"""
from __future__ import annotations

EXPANDABLE: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "customer": ("default_source", "invoice_settings.default_payment_method", "test_clock"),
    "charge": (
        "application", "application_fee", "balance_transaction", "customer",
        "failure_balance_transaction", "on_behalf_of", "outcome.rule", "payment_intent",
        "payment_method_details.bancontact.generated_sepa_debit",
        "payment_method_details.bancontact.generated_sepa_debit_mandate",
        "payment_method_details.card.mandate",
        "payment_method_details.ideal.generated_sepa_debit",
        "payment_method_details.ideal.generated_sepa_debit_mandate",
        "payment_method_details.sofort.generated_sepa_debit",
        "payment_method_details.sofort.generated_sepa_debit_mandate",
        "payment_method_details.us_bank_account.mandate", "review", "source_transfer",
        "transfer", "transfer_data.destination"),
    "payment_intent": (
        "application", "customer", "latest_charge", "on_behalf_of", "payment_method",
        "payment_record", "review", "source", "transfer_data.destination"),
    "refund": (
        "balance_transaction", "charge", "customer", "failure_balance_transaction",
        "payment_intent", "payment_method", "source_transfer_reversal", "transfer_reversal"),
    "dispute": (
        "charge", "evidence.cancellation_policy", "evidence.customer_communication",
        "evidence.customer_signature", "evidence.duplicate_charge_documentation",
        "evidence.receipt", "evidence.refund_policy", "evidence.service_documentation",
        "evidence.shipping_documentation", "evidence.uncategorized_file", "payment_intent"),
    "payout": (
        "application_fee", "balance_transaction", "destination", "failure_balance_transaction",
        "original_payout", "reversed_by"),
    "balance_transaction": ("source",),
    "subscription": (
        "application", "automatic_tax.liability.account", "billing_schedules.applies_to.price",
        "cancellation_details.feedback_option", "customer", "default_payment_method",
        "default_source", "discounts", "invoice_settings.account_tax_ids",
        "invoice_settings.issuer.account", "latest_invoice", "on_behalf_of",
        "pending_setup_intent", "pending_update.discounts", "schedule", "test_clock",
        "transfer_data.destination"),
    "subscription_item": ("discounts",),
    "invoice": (
        "account_tax_ids", "application", "automatic_tax.liability.account", "customer",
        "default_payment_method", "default_source", "discounts", "from_invoice.invoice",
        "issuer.account", "latest_revision", "on_behalf_of",
        "parent.subscription_details.subscription", "shipping_cost.shipping_rate",
        "test_clock", "total_discount_amounts.discount",
        "total_pretax_credit_amounts.credit_balance_transaction",
        "total_pretax_credit_amounts.discount"),
    "line_item": (
        "discount_amounts.discount", "discounts", "pretax_credit_amounts.credit_balance_transaction",
        "pretax_credit_amounts.discount", "pricing.price_details.price", "subscription"),
    "invoice_payment": ("invoice", "payment.charge", "payment.payment_intent",
                        "payment.payment_record"),
    "price": ("product",),
    "product": ("default_price", "tax_code"),
    "transfer": ("balance_transaction", "destination", "destination_payment",
                 "source_transaction"),
    "transfer_reversal": ("balance_transaction", "destination_payment_refund", "source_refund",
                          "transfer"),
    "application_fee": ("account", "application", "balance_transaction", "charge",
                        "originating_transaction"),
    "fee_refund": ("balance_transaction", "fee"),
    "topup": ("balance_transaction", "payment_method"),
    "tax_id": ("customer", "owner.account", "owner.application", "owner.customer"),
    "checkout.session": (
        "automatic_tax.liability.account", "customer", "discounts.coupon",
        "discounts.promotion_code", "invoice", "invoice_creation.invoice_data.account_tax_ids",
        "invoice_creation.invoice_data.issuer.account", "payment_intent", "payment_link",
        "setup_intent", "shipping_cost.shipping_rate", "shipping_options.shipping_rate",
        "subscription"),
    "account": (
        "company.verification.document.back", "company.verification.document.front",
        "settings.branding.icon", "settings.branding.logo",
        "settings.invoices.default_account_tax_ids"),
    "tax_rate": (),
    "plan": ("product",),
    "event": (),
    "webhook_endpoint": (),
    "balance": (),
    "reserve_transaction": (),
    "credit_note": (
        "customer", "customer_balance_transaction", "discount_amounts.discount", "invoice",
        "pretax_credit_amounts.credit_balance_transaction", "pretax_credit_amounts.discount",
        "refunds.refund", "shipping_cost.shipping_rate"),
    "coupon": (),
    "discount": ("customer", "promotion_code", "source.coupon"),
    "invoiceitem": ("customer", "discounts", "invoice", "pricing.price_details.price",
                    "proration_details.discount_amounts.discount", "test_clock"),
    "customer_balance_transaction": ("checkout_session", "credit_note", "customer", "invoice"),
}.items()}

# (object, property) -> what is built on request (see ``http_expand.Expander._include``).
INCLUDABLE: frozenset[tuple[str, str]] = frozenset({
    ("customer", "sources"), ("customer", "subscriptions"), ("customer", "tax_ids"),
    ("customer", "cash_balance"), ("customer", "invoice_credit_balance"), ("customer", "tax"),
    ("charge", "refunds"),
    ("invoice", "payments"),
    ("subscription_item", "billed_until"),
    ("price", "currency_options"), ("price", "tiers"), ("plan", "tiers"),
})
# Stripe's own name for a few objects differs from the key used above.
TYPE_ALIASES = {"application_fee_refund": "fee_refund"}


def prefixes(paths: frozenset[str]) -> frozenset[str]:
    """Every proper prefix of the dotted ``paths`` (the sub-hashes one walks through)."""
    out = set()
    for path in paths:
        parts = path.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return frozenset(out)


PREFIXES: dict[str, frozenset[str]] = {k: prefixes(v) for k, v in EXPANDABLE.items()}
