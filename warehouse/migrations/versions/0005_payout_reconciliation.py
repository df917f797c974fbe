"""Payout reconciliation: payout -> balance transactions, results per payout, unmatched items.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 20:56:51.005270
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reconciliation_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('payout_id', sa.String(length=255), nullable=False),
    sa.Column('erp', sa.String(length=16), nullable=False),
    sa.Column('balance_transaction_id', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.String(length=255), nullable=True),
    sa.Column('expected', sa.BigInteger(), nullable=False),
    sa.Column('found', sa.BigInteger(), nullable=False),
    sa.Column('problem', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_reconciliation_items_payout', 'reconciliation_items', ['payout_id', 'erp'])

    op.create_table('reconciliation_payouts',
    sa.Column('payout_id', sa.String(length=255), nullable=False),
    sa.Column('erp', sa.String(length=16), nullable=False),
    sa.Column('arrival_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('expected', sa.BigInteger(), nullable=False),
    sa.Column('found', sa.BigInteger(), nullable=False),
    sa.Column('variance', sa.BigInteger(), nullable=False),
    sa.Column('transactions', sa.Integer(), nullable=False),
    sa.Column('unmatched_items', sa.Integer(), nullable=False),
    sa.Column('reconciled_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('payout_id', 'erp')
    )
    op.create_table('stripe_payout_transactions',
    sa.Column('payout_id', sa.String(length=255), nullable=False),
    sa.Column('balance_transaction_id', sa.String(length=255), nullable=False),
    sa.Column('_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('payout_id', 'balance_transaction_id')
    )
    op.create_index('ix_stripe_payout_transactions_bt', 'stripe_payout_transactions', ['balance_transaction_id'])


def downgrade() -> None:
    op.drop_index('ix_stripe_payout_transactions_bt', table_name='stripe_payout_transactions')

    op.drop_table('stripe_payout_transactions')
    op.drop_table('reconciliation_payouts')
    op.drop_index('ix_reconciliation_items_payout', table_name='reconciliation_items')

    op.drop_table('reconciliation_items')
