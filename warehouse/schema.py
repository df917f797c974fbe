"""The warehouse's tables: the Stripe mirror, one table per object type.

SQLAlchemy Core, identical on SQLite and PostgreSQL (Alembic migrations in
``warehouse/migrations`` create exactly these; a test compares them).

Every mirror table is keyed by the Stripe id and carries:

* typed columns for what the pipelines use: amounts as integers in the
  currency's minor unit, ``currency`` lowercase ISO, timestamps as UTC
  ``TIMESTAMP WITH TIME ZONE``;
* ``raw``: the object exactly as Stripe returned it (JSONB on PostgreSQL);
* ``_version``: when the copy was observed (microseconds since the epoch: the
  request time for list pages, the event time for webhooks).  A copy with an
  older version never overwrites a newer one;
* ``_hash``: a digest of ``raw``; a copy identical to the stored one changes
  nothing (re-running a backfill leaves every row as it was);
* ``_synced_at``: when this row last changed.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

RawJSON = sa.JSON().with_variant(JSONB(), "postgresql")
Ts = sa.DateTime(timezone=True)
Money = sa.BigInteger  # integer minor units; 12 digits (cards) fit comfortably


def _mirror(name: str, *columns: sa.Column, indexes: tuple[str, ...] = ()) -> sa.Table:
    table = sa.Table(
        name,
        metadata,
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("created", Ts, nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
        *columns,
        sa.Column("raw", RawJSON, nullable=False),
        sa.Column("_version", sa.BigInteger, nullable=False),
        sa.Column("_hash", sa.String(40), nullable=False),
        sa.Column("_synced_at", Ts, nullable=False),
    )
    sa.Index(f"ix_{name}_created", table.c.created)
    for col in indexes:
        sa.Index(f"ix_{name}_{col}", table.c[col])
    return table


stripe_customers = _mirror(
    "stripe_customers",
    sa.Column("email", sa.String(512)),
    sa.Column("name", sa.String(512)),
    sa.Column("currency", sa.String(3)),
    sa.Column("balance", Money),
    sa.Column("delinquent", sa.Boolean),
    sa.Column("tax_exempt", sa.String(16)),
    indexes=("email",),
)

stripe_products = _mirror(
    "stripe_products",
    sa.Column("name", sa.String(512)),
    sa.Column("active", sa.Boolean),
    sa.Column("default_price_id", sa.String(255)),
)

stripe_prices = _mirror(
    "stripe_prices",
    sa.Column("product_id", sa.String(255)),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("unit_amount", Money),
    sa.Column("type", sa.String(16)),
    sa.Column("recurring_interval", sa.String(16)),
    sa.Column("active", sa.Boolean),
    sa.Column("lookup_key", sa.String(255)),
    indexes=("product_id",),
)

stripe_charges = _mirror(
    "stripe_charges",
    sa.Column("amount", Money, nullable=False),
    sa.Column("amount_captured", Money),
    sa.Column("amount_refunded", Money),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("customer_id", sa.String(255)),
    sa.Column("payment_intent_id", sa.String(255)),
    sa.Column("balance_transaction_id", sa.String(255)),
    sa.Column("status", sa.String(16)),
    sa.Column("paid", sa.Boolean),
    sa.Column("captured", sa.Boolean),
    sa.Column("refunded", sa.Boolean),
    sa.Column("disputed", sa.Boolean),
    sa.Column("payment_method_type", sa.String(64)),
    indexes=("customer_id", "payment_intent_id", "balance_transaction_id"),
)

stripe_refunds = _mirror(
    "stripe_refunds",
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("charge_id", sa.String(255)),
    sa.Column("payment_intent_id", sa.String(255)),
    sa.Column("balance_transaction_id", sa.String(255)),
    sa.Column("status", sa.String(32)),
    sa.Column("reason", sa.String(64)),
    indexes=("charge_id",),
)

stripe_disputes = _mirror(
    "stripe_disputes",
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("charge_id", sa.String(255)),
    sa.Column("payment_intent_id", sa.String(255)),
    sa.Column("status", sa.String(32)),
    sa.Column("reason", sa.String(64)),
    indexes=("charge_id",),
)

stripe_payouts = _mirror(
    "stripe_payouts",
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("arrival_date", Ts),
    sa.Column("automatic", sa.Boolean),
    sa.Column("status", sa.String(16)),
    sa.Column("method", sa.String(16)),
    sa.Column("balance_transaction_id", sa.String(255)),
    sa.Column("failure_balance_transaction_id", sa.String(255)),
    sa.Column("failure_code", sa.String(64)),
    sa.Column("reconciliation_status", sa.String(16)),
    indexes=("arrival_date",),
)

stripe_balance_transactions = _mirror(
    "stripe_balance_transactions",
    sa.Column("amount", Money, nullable=False),
    sa.Column("fee", Money, nullable=False),
    sa.Column("net", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("exchange_rate", sa.Float),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("reporting_category", sa.String(64)),
    sa.Column("status", sa.String(16)),
    sa.Column("available_on", Ts),
    sa.Column("source_id", sa.String(255)),
    indexes=("source_id", "available_on"),
)

stripe_subscriptions = _mirror(
    "stripe_subscriptions",
    sa.Column("customer_id", sa.String(255)),
    sa.Column("status", sa.String(32)),
    sa.Column("currency", sa.String(3)),
    sa.Column("start_date", Ts),
    sa.Column("cancel_at_period_end", sa.Boolean),
    sa.Column("canceled_at", Ts),
    sa.Column("ended_at", Ts),
    indexes=("customer_id",),
)

stripe_subscription_items = _mirror(
    "stripe_subscription_items",
    sa.Column("subscription_id", sa.String(255), nullable=False),
    sa.Column("price_id", sa.String(255)),
    sa.Column("quantity", sa.BigInteger),
    sa.Column("current_period_start", Ts),
    sa.Column("current_period_end", Ts),
    indexes=("subscription_id",),
)

stripe_invoices = _mirror(
    "stripe_invoices",
    sa.Column("customer_id", sa.String(255)),
    sa.Column("subscription_id", sa.String(255)),
    sa.Column("number", sa.String(255)),
    sa.Column("status", sa.String(32)),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("subtotal", Money),
    sa.Column("total", Money),
    sa.Column("amount_due", Money),
    sa.Column("amount_paid", Money),
    sa.Column("amount_remaining", Money),
    sa.Column("period_start", Ts),
    sa.Column("period_end", Ts),
    indexes=("customer_id", "subscription_id"),
)

# Invoice lines have no ``created`` of their own on Stripe; they take the invoice's.
stripe_invoice_lines = _mirror(
    "stripe_invoice_lines",
    sa.Column("invoice_id", sa.String(255), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("quantity", sa.BigInteger),
    sa.Column("price_id", sa.String(255)),
    sa.Column("subscription_id", sa.String(255)),
    sa.Column("period_start", Ts),
    sa.Column("period_end", Ts),
    indexes=("invoice_id",),
)

MIRROR_TABLES: dict[str, sa.Table] = {t.name: t for t in (
    stripe_customers, stripe_products, stripe_prices, stripe_charges, stripe_refunds,
    stripe_disputes, stripe_payouts, stripe_balance_transactions, stripe_subscriptions,
    stripe_subscription_items, stripe_invoices, stripe_invoice_lines)}


# ------------------------------------------------------------------------------ ERP posting
# One row per (ERP, document kind, Stripe-derived external id): what was posted, where.
erp_links = sa.Table(
    "erp_links",
    metadata,
    sa.Column("erp", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("external_id", sa.String(255), primary_key=True),
    sa.Column("erp_id", sa.String(255)),
    sa.Column("status", sa.String(16), nullable=False),      # posted | dead | waiting
    sa.Column("source_id", sa.String(255)),                  # the Stripe object it came from
    sa.Column("source_day", sa.Date),                        # partition of that object
    sa.Column("created_in_erp", sa.Boolean),                 # False: found already there
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("updated_at", Ts, nullable=False),
    # values cut to the ERP's field lengths, as the mapping's field_policies allowed:
    # [{"field", "length", "limit", "original"}]; NULL when nothing was cut
    sa.Column("truncations", sa.JSON(none_as_null=True).with_variant(
        JSONB(none_as_null=True), "postgresql")),
)
sa.Index("ix_erp_links_status", erp_links.c.erp, erp_links.c.status)
sa.Index("ix_erp_links_source", erp_links.c.source_id)

# Documents an ERP refused (or that wait on one it refused), with its exact answer.
erp_dead_letters = sa.Table(
    "erp_dead_letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("erp", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("source_id", sa.String(255)),
    sa.Column("source_day", sa.Date),
    sa.Column("error_type", sa.String(64), nullable=False),
    sa.Column("error_message", sa.Text, nullable=False),
    sa.Column("error_field", sa.String(128)),
    sa.Column("error_status", sa.Integer),
    sa.Column("payload", RawJSON, nullable=False),           # the canonical document sent
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("first_failed_at", Ts, nullable=False),
    sa.Column("last_failed_at", Ts, nullable=False),
    sa.Column("resolved_at", Ts),                            # set when a replay posted it
)
sa.Index("ux_erp_dead_letters_open", erp_dead_letters.c.erp, erp_dead_letters.c.kind,
         erp_dead_letters.c.external_id, unique=True)


# ------------------------------------------------------------------------------ webhooks
# Stripe events as the webhook receiver landed them, verified, before any processing.
# ``seq`` is the sensor's cursor; ``status`` is pending -> applied | dead.
stripe_events = sa.Table(
    "stripe_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(255), nullable=False, unique=True),   # evt_…
    sa.Column("type", sa.String(128), nullable=False),
    sa.Column("created", sa.BigInteger, nullable=False),              # Stripe's epoch seconds
    sa.Column("object_id", sa.String(255)),                           # data.object.id
    sa.Column("object_type", sa.String(64)),                          # data.object.object
    sa.Column("livemode", sa.Boolean, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),                    # the body exactly as received
    sa.Column("received_at", Ts, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),               # webhook | catchup
    sa.Column("status", sa.String(16), nullable=False),               # pending | applied | ignored | failed
    sa.Column("run_id", sa.String(64)),
    sa.Column("applied_at", Ts),
    sa.Column("error", sa.Text),                                      # Stripe's message, last failure
    # bounded retry of an event whose object could not be fetched (warehouse/event_retry.py)
    sa.Column("attempts", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("next_attempt_at", Ts),                                 # not retried before this
)
sa.Index("ix_stripe_events_status_seq", stripe_events.c.status, stripe_events.c.seq)
sa.Index("ix_stripe_events_created", stripe_events.c.created)

# Event ranges handed to sync runs, by the sensor or by the receiver's nudge: ranges never
# overlap, so no range of events is ever launched twice whoever launches it.
stripe_event_claims = sa.Table(
    "stripe_event_claims",
    metadata,
    sa.Column("hi", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("lo", sa.Integer, nullable=False),
    sa.Column("claimed_by", sa.String(16), nullable=False),   # sensor | nudge
    sa.Column("claimed_at", Ts, nullable=False),
)


# ------------------------------------------------------------------------------ reconciliation
# Which balance transactions an automatic payout settled (GET /v1/balance_transactions?payout=).
stripe_payout_transactions = sa.Table(
    "stripe_payout_transactions",
    metadata,
    sa.Column("payout_id", sa.String(255), primary_key=True),
    sa.Column("balance_transaction_id", sa.String(255), primary_key=True),
    sa.Column("_synced_at", Ts, nullable=False),
)
sa.Index("ix_stripe_payout_transactions_bt", stripe_payout_transactions.c.balance_transaction_id)

# One row per payout: the latest reconciliation result.
reconciliation_payouts = sa.Table(
    "reconciliation_payouts",
    metadata,
    sa.Column("payout_id", sa.String(255), primary_key=True),
    sa.Column("erp", sa.String(16), primary_key=True),
    sa.Column("arrival_date", sa.Date),
    sa.Column("status", sa.String(16), nullable=False),      # matched | variance | pending | failed
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("expected", Money, nullable=False),
    sa.Column("found", Money, nullable=False),
    sa.Column("variance", Money, nullable=False),
    sa.Column("transactions", sa.Integer, nullable=False),
    sa.Column("unmatched_items", sa.Integer, nullable=False),
    sa.Column("reconciled_at", Ts, nullable=False),
)

# The items behind a payout's variance (replaced at every reconciliation of that payout).
reconciliation_items = sa.Table(
    "reconciliation_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("payout_id", sa.String(255), nullable=False),
    sa.Column("erp", sa.String(16), nullable=False),
    sa.Column("balance_transaction_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),        # receipt | fee | journal | deposit | stripe_net
    sa.Column("source_id", sa.String(255)),
    sa.Column("expected", Money, nullable=False),
    sa.Column("found", Money, nullable=False),
    sa.Column("problem", sa.String(64), nullable=False),
)
sa.Index("ix_reconciliation_items_payout", reconciliation_items.c.payout_id, reconciliation_items.c.erp)


# ------------------------------------------------------------------------------ workbench
# Every action taken in the exceptions workbench: who, when, what changed (mapping diff, run).
workbench_audit = sa.Table(
    "workbench_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", Ts, nullable=False),
    sa.Column("who", sa.String(128), nullable=False),        # the name given at login
    sa.Column("action", sa.String(32), nullable=False),      # login | apply_mapping | replay ...
    sa.Column("erp", sa.String(16)),
    sa.Column("dead_letter_ids", sa.Text),                   # comma-separated ids acted on
    sa.Column("summary", sa.Text, nullable=False),           # what changed, in words
    sa.Column("mapping_diff", sa.Text),                      # unified diff of the mapping file
    sa.Column("run_id", sa.String(64)),                      # the Dagster run launched
)
sa.Index("ix_workbench_audit_at", workbench_audit.c.at)

# Anomaly scores of charges, refunds and disputes (assets/anomalies.py), latest per object.
anomaly_scores = sa.Table(
    "anomaly_scores",
    metadata,
    sa.Column("object_id", sa.String(255), primary_key=True),
    sa.Column("object_type", sa.String(16), nullable=False),   # charge | refund | dispute
    sa.Column("day", sa.Date, nullable=False),                 # partition (UTC day created)
    sa.Column("customer", sa.String(255)),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),
    sa.Column("scored_at", Ts, nullable=False),
)
sa.Index("ix_anomaly_scores_day", anomaly_scores.c.day)
