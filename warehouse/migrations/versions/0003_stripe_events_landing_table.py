"""The landing table for Stripe events received by webhook (or caught up from /v1/events).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 20:09:07.306493
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stripe_events',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=128), nullable=False),
    sa.Column('created', sa.BigInteger(), nullable=False),
    sa.Column('object_id', sa.String(length=255), nullable=True),
    sa.Column('object_type', sa.String(length=64), nullable=True),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id')
    )
    op.create_index('ix_stripe_events_created', 'stripe_events', ['created'])
    op.create_index('ix_stripe_events_status_seq', 'stripe_events', ['status', 'seq'])


def downgrade() -> None:
    op.drop_index('ix_stripe_events_status_seq', table_name='stripe_events')
    op.drop_index('ix_stripe_events_created', table_name='stripe_events')

    op.drop_table('stripe_events')
