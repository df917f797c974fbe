"""Stripe's documented balance-transaction types and reporting categories.

``TYPES`` is the ``BalanceTransaction.type`` enum of stripe-python 16.1.0
(51 values); ``CATEGORIES`` the ``reporting_category`` values of Stripe's
reporting-categories page (https://docs.stripe.com/reports/reporting-categories,
the enum stripe-python 15 carried for ``ReportRunCreateParams``; 37 values).
``DEFAULTS`` gives, per type, the reporting category Stripe files it under,
the sign of its amount and the prefix of its ``source`` object, from the
balance-transaction-types page
(https://docs.stripe.com/reports/balance-transaction-types) and the
reporting-categories page.  Where the pages do not pair a type with a
category explicitly the pairing is marked ``assumed`` (see the README).

``POST /_sandbox/balance_transactions`` creates one BT of any type (with any
documented category) through :func:`.adjustments.create_typed`.
"""
from __future__ import annotations

from typing import NamedTuple


class TypeInfo(NamedTuple):
    category: str      # default reporting_category
    sign: int          # +1 money in, -1 money out, 0 either
    source: str | None  # id prefix of the source object (None: no source)
    assumed: bool = False  # pairing not stated verbatim by the docs pages


TYPES: dict[str, TypeInfo] = {
    "adjustment": TypeInfo("other_adjustment", 0, None),
    "advance": TypeInfo("advance", +1, None),
    "advance_funding": TypeInfo("advance_funding", -1, None),
    "anticipation_repayment": TypeInfo("anticipation_repayment", -1, None),
    "application_fee": TypeInfo("platform_earning", +1, "fee"),
    "application_fee_refund": TypeInfo("platform_earning_refund", -1, "fr"),
    "charge": TypeInfo("charge", +1, "ch"),
    "climate_order_purchase": TypeInfo("climate_order_purchase", -1, "climorder"),
    "climate_order_refund": TypeInfo("climate_order_refund", +1, "climorder"),
    "connect_collection_transfer": TypeInfo("connect_collection_transfer", +1, None),
    "contribution": TypeInfo("contribution", -1, None),
    "fee_credit_funding": TypeInfo("fee", +1, None, assumed=True),
    "inbound_transfer": TypeInfo("topup", +1, "ibt", assumed=True),
    "inbound_transfer_reversal": TypeInfo("topup_reversal", -1, "ibt", assumed=True),
    "issuing_authorization_hold": TypeInfo("issuing_authorization_hold", -1, "iauth"),
    "issuing_authorization_release": TypeInfo("issuing_authorization_release", +1, "iauth"),
    "issuing_dispute": TypeInfo("issuing_dispute", +1, "idp"),
    "issuing_dispute_provisional_credit": TypeInfo("issuing_dispute", +1, "idp", assumed=True),
    "issuing_dispute_provisional_credit_reversal": TypeInfo("issuing_dispute", -1, "idp",
                                                            assumed=True),
    "issuing_transaction": TypeInfo("issuing_transaction", -1, "ipi"),
    "obligation_outbound": TypeInfo("other_adjustment", -1, None, assumed=True),
    "obligation_reversal_inbound": TypeInfo("other_adjustment", +1, None, assumed=True),
    "payment": TypeInfo("charge", +1, "py"),
    "payment_failure_refund": TypeInfo("charge_failure", -1, "py"),
    "payment_network_reserve_hold": TypeInfo("risk_reserved_funds", -1, None, assumed=True),
    "payment_network_reserve_release": TypeInfo("risk_reserved_funds", +1, None, assumed=True),
    "payment_refund": TypeInfo("refund", -1, "pyr"),
    "payment_reversal": TypeInfo("charge_failure", -1, "py", assumed=True),
    "payment_unreconciled": TypeInfo("unreconciled_customer_funds", +1, None),
    "payout": TypeInfo("payout", -1, "po"),
    "payout_cancel": TypeInfo("payout_reversal", +1, "po"),
    "payout_failure": TypeInfo("payout_reversal", +1, "po"),
    "payout_minimum_balance_hold": TypeInfo("payout", -1, None, assumed=True),
    "payout_minimum_balance_release": TypeInfo("payout", +1, None, assumed=True),
    "refund": TypeInfo("refund", -1, "re"),
    "refund_failure": TypeInfo("refund_failure", +1, "re"),
    "reserve_hold": TypeInfo("risk_reserved_funds", -1, None),
    "reserve_release": TypeInfo("risk_reserved_funds", +1, None),
    "reserve_transaction": TypeInfo("connect_reserved_funds", 0, "rtx"),
    "reserved_funds": TypeInfo("risk_reserved_funds", 0, None),
    "stripe_balance_payment_debit": TypeInfo("fee", -1, None, assumed=True),
    "stripe_balance_payment_debit_reversal": TypeInfo("fee", +1, None, assumed=True),
    "stripe_fee": TypeInfo("fee", -1, None),
    "stripe_fx_fee": TypeInfo("fee", -1, None),
    "tax_fee": TypeInfo("fee", -1, None),
    "tax_fund": TypeInfo("tax", 0, None, assumed=True),
    "topup": TypeInfo("topup", +1, "tu"),
    "topup_reversal": TypeInfo("topup_reversal", -1, "tu"),
    "transfer": TypeInfo("transfer", -1, "tr"),
    "transfer_cancel": TypeInfo("transfer_reversal", +1, "tr"),
    "transfer_failure": TypeInfo("transfer_reversal", +1, "tr"),
    "transfer_refund": TypeInfo("transfer_reversal", +1, "trr"),
}

CATEGORIES: frozenset[str] = frozenset(
    "advance advance_funding anticipation_repayment charge charge_failure "
    "climate_order_purchase climate_order_refund connect_collection_transfer "
    "connect_reserved_funds contribution dispute dispute_reversal fee financing_paydown "
    "financing_paydown_reversal financing_payout financing_payout_reversal "
    "issuing_authorization_hold issuing_authorization_release issuing_dispute "
    "issuing_transaction network_cost other_adjustment partial_capture_reversal payout "
    "payout_reversal platform_earning platform_earning_refund refund refund_failure "
    "risk_reserved_funds tax topup topup_reversal transfer transfer_reversal "
    "unreconciled_customer_funds".split())

# Categories no type defaults to, with the type Stripe files them under.
CATEGORY_TYPES: dict[str, str] = {
    "dispute": "adjustment", "dispute_reversal": "adjustment",
    "partial_capture_reversal": "refund", "network_cost": "stripe_fee",
    "financing_paydown": "adjustment", "financing_paydown_reversal": "adjustment",
    "financing_payout": "adjustment", "financing_payout_reversal": "adjustment",
    "tax": "tax_fund", "refund_failure": "refund_failure", "connect_reserved_funds":
    "reserve_transaction", "charge_failure": "payment_failure_refund",
}
assert {info.category for info in TYPES.values()} | set(CATEGORY_TYPES) == CATEGORIES
