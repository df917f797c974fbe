"""The Stripe mirror: one table per Stripe object type (see warehouse/schema.py).

Revision ID: 0001
Revises:
Create Date: 2026-11-22 19:29:12.426911
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stripe_balance_transactions',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('fee', sa.BigInteger(), nullable=False),
    sa.Column('net', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('exchange_rate', sa.Float(), nullable=True),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('reporting_category', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('available_on', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source_id', sa.String(length=255), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('_version', sa.BigInteger(), nullable=False),
    sa.Column('_hash', sa.String(length=40), nullable=False),
    sa.Column('_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_stripe_balance_transactions_available_on', 'stripe_balance_transactions', ['available_on'])
    op.create_index('ix_stripe_balance_transactions_created', 'stripe_balance_transactions', ['created'])
    op.create_index('ix_stripe_balance_transactions_source_id', 'stripe_balance_transactions', ['source_id'])

    op.create_table('stripe_charges',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('amount_captured', sa.BigInteger(), nullable=True),
    sa.Column('amount_refunded', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('customer_id', sa.String(length=255), nullable=True),
    sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('balance_transaction_id', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('paid', sa.Boolean(), nullable=True),
    sa.Column('captured', sa.Boolean(), nullable=True),
    sa.Column('refunded', sa.Boolean(), nullable=True),
    sa.Column('disputed', sa.Boolean(), nullable=True),
    sa.Column('payment_method_type', sa.String(length=64), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('_version', sa.BigInteger(), nullable=False),
    sa.Column('_hash', sa.String(length=40), nullable=False),
    sa.Column('_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_stripe_charges_balance_transaction_id', 'stripe_charges', ['balance_transaction_id'])
    op.create_index('ix_stripe_charges_created', 'stripe_charges', ['created'])
    op.create_index('ix_stripe_charges_customer_id', 'stripe_charges', ['customer_id'])
    op.create_index('ix_stripe_charges_payment_intent_id', 'stripe_charges', ['payment_intent_id'])

    op.create_table('stripe_customers',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('email', sa.String(length=512), nullable=True),
    sa.Column('name', sa.String(length=512), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('balance', sa.BigInteger(), nullable=True),
    sa.Column('delinquent', sa.Boolean(), nullable=True),
    sa.Column('tax_exempt', sa.String(length=16), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('_version', sa.BigInteger(), nullable=False),
    sa.Column('_hash', sa.String(length=40), nullable=False),
    sa.Column('_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_stripe_customers_created', 'stripe_customers', ['created'])
    op.create_index('ix_stripe_customers_email', 'stripe_customers', ['email'])

    op.create_table('stripe_disputes',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('charge_id', sa.String(length=255), nullable=True),
    sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('_version', sa.BigInteger(), nullable=False),
    sa.Column('_hash', sa.String(length=40), nullable=False),
    sa.Column('_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_stripe_disputes_charge_id', 'stripe_disputes', ['charge_id'])
    op.create_index('ix_stripe_disputes_created', 'stripe_disputes', ['created'])

    op.create_table('stripe_invoice_lines',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('invoice_id', sa.String(length=255), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=True),
    sa.Column('price_id', sa.String(length=255), nullable=True),
    sa.Column('subscription_id', sa.String(length=255), nullable=True),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('_version', sa.BigInteger(), nullable=False),
    sa.Column('_hash', sa.String(length=40), nullable=False),
    sa.Column('_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_stripe_invoice_lines_created', 'stripe_invoice_lines', ['created'])
    op.create_index('ix_stripe_invoice_lines_invoice_id', 'stripe_invoice_lines', ['invoice_id'])

    op.create_table('stripe_invoices',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('customer_id', sa.String(length=255), nullable=True),
    sa.Column('subscription_id', sa.String(length=255), nullable=True),
    sa.Column('number', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal', sa.BigInteger(), nullable=True),
    sa.Column('total', sa.BigInteger(), nullable=True),
    sa.Column('amount_due', sa.BigInteger(), nullable=True),
    sa.Column('amount_paid', sa.BigInteger(), nullable=True),
    sa.Column('amount_remaining', sa.BigInteger(), nullable=True),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('_version', sa.BigInteger(), nullable=False),
    sa.Column('_hash', sa.String(length=40), nullable=False),
    sa.Column('_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_stripe_invoices_created', 'stripe_invoices', ['created'])
    op.create_index('ix_stripe_invoices_customer_id', 'stripe_invoices', ['customer_id'])
    op.create_index('ix_stripe_invoices_subscription_id', 'stripe_invoices', ['subscription_id'])

    op.create_table('stripe_payouts',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('arrival_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('automatic', sa.Boolean(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=True),
    sa.Column('balance_transaction_id', sa.String(length=255), nullable=True),
    sa.Column('failure_balance_transaction_id', sa.String(length=255), nullable=True),
    sa.Column('failure_code', sa.String(length=64), nullable=True),
    sa.Column('reconciliation_status', sa.String(length=16), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('_version', sa.BigInteger(), nullable=False),
    sa.Column('_hash', sa.String(length=40), nullable=False),
    sa.Column('_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_stripe_payouts_arrival_date', 'stripe_payouts', ['arrival_date'])
    op.create_index('ix_stripe_payouts_created', 'stripe_payouts', ['created'])

    op.create_table('stripe_prices',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('product_id', sa.String(length=255), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('unit_amount', sa.BigInteger(), nullable=True),
    sa.Column('type', sa.String(length=16), nullable=True),
    sa.Column('recurring_interval', sa.String(length=16), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('lookup_key', sa.String(length=255), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('_version', sa.BigInteger(), nullable=False),
    sa.Column('_hash', sa.String(length=40), nullable=False),
    sa.Column('_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_stripe_prices_created', 'stripe_prices', ['created'])
    op.create_index('ix_stripe_prices_product_id', 'stripe_prices', ['product_id'])

    op.create_table('stripe_products',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('default_price_id', sa.String(length=255), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('_version', sa.BigInteger(), nullable=False),
    sa.Column('_hash', sa.String(length=40), nullable=False),
    sa.Column('_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_stripe_products_created', 'stripe_products', ['created'])

    op.create_table('stripe_refunds',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('charge_id', sa.String(length=255), nullable=True),
    sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('balance_transaction_id', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('_version', sa.BigInteger(), nullable=False),
    sa.Column('_hash', sa.String(length=40), nullable=False),
    sa.Column('_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_stripe_refunds_charge_id', 'stripe_refunds', ['charge_id'])
    op.create_index('ix_stripe_refunds_created', 'stripe_refunds', ['created'])

    op.create_table('stripe_subscription_items',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('subscription_id', sa.String(length=255), nullable=False),
    sa.Column('price_id', sa.String(length=255), nullable=True),
    sa.Column('quantity', sa.BigInteger(), nullable=True),
    sa.Column('current_period_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('current_period_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('_version', sa.BigInteger(), nullable=False),
    sa.Column('_hash', sa.String(length=40), nullable=False),
    sa.Column('_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_stripe_subscription_items_created', 'stripe_subscription_items', ['created'])
    op.create_index('ix_stripe_subscription_items_subscription_id', 'stripe_subscription_items', ['subscription_id'])

    op.create_table('stripe_subscriptions',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('customer_id', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('start_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_at_period_end', sa.Boolean(), nullable=True),
    sa.Column('canceled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('_version', sa.BigInteger(), nullable=False),
    sa.Column('_hash', sa.String(length=40), nullable=False),
    sa.Column('_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_stripe_subscriptions_created', 'stripe_subscriptions', ['created'])
    op.create_index('ix_stripe_subscriptions_customer_id', 'stripe_subscriptions', ['customer_id'])


def downgrade() -> None:
    op.drop_index('ix_stripe_subscriptions_customer_id', table_name='stripe_subscriptions')
    op.drop_index('ix_stripe_subscriptions_created', table_name='stripe_subscriptions')

    op.drop_table('stripe_subscriptions')
    op.drop_index('ix_stripe_subscription_items_subscription_id', table_name='stripe_subscription_items')
    op.drop_index('ix_stripe_subscription_items_created', table_name='stripe_subscription_items')

    op.drop_table('stripe_subscription_items')
    op.drop_index('ix_stripe_refunds_created', table_name='stripe_refunds')
    op.drop_index('ix_stripe_refunds_charge_id', table_name='stripe_refunds')

    op.drop_table('stripe_refunds')
    op.drop_index('ix_stripe_products_created', table_name='stripe_products')

    op.drop_table('stripe_products')
    op.drop_index('ix_stripe_prices_product_id', table_name='stripe_prices')
    op.drop_index('ix_stripe_prices_created', table_name='stripe_prices')

    op.drop_table('stripe_prices')
    op.drop_index('ix_stripe_payouts_created', table_name='stripe_payouts')
    op.drop_index('ix_stripe_payouts_arrival_date', table_name='stripe_payouts')

    op.drop_table('stripe_payouts')
    op.drop_index('ix_stripe_invoices_subscription_id', table_name='stripe_invoices')
    op.drop_index('ix_stripe_invoices_customer_id', table_name='stripe_invoices')
    op.drop_index('ix_stripe_invoices_created', table_name='stripe_invoices')

    op.drop_table('stripe_invoices')
    op.drop_index('ix_stripe_invoice_lines_invoice_id', table_name='stripe_invoice_lines')
    op.drop_index('ix_stripe_invoice_lines_created', table_name='stripe_invoice_lines')

    op.drop_table('stripe_invoice_lines')
    op.drop_index('ix_stripe_disputes_created', table_name='stripe_disputes')
    op.drop_index('ix_stripe_disputes_charge_id', table_name='stripe_disputes')

    op.drop_table('stripe_disputes')
    op.drop_index('ix_stripe_customers_email', table_name='stripe_customers')
    op.drop_index('ix_stripe_customers_created', table_name='stripe_customers')

    op.drop_table('stripe_customers')
    op.drop_index('ix_stripe_charges_payment_intent_id', table_name='stripe_charges')
    op.drop_index('ix_stripe_charges_customer_id', table_name='stripe_charges')
    op.drop_index('ix_stripe_charges_created', table_name='stripe_charges')
    op.drop_index('ix_stripe_charges_balance_transaction_id', table_name='stripe_charges')

    op.drop_table('stripe_charges')
    op.drop_index('ix_stripe_balance_transactions_source_id', table_name='stripe_balance_transactions')
    op.drop_index('ix_stripe_balance_transactions_created', table_name='stripe_balance_transactions')
    op.drop_index('ix_stripe_balance_transactions_available_on', table_name='stripe_balance_transactions')

    op.drop_table('stripe_balance_transactions')
