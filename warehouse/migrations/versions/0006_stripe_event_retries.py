"""Bounded retry of landed events: attempts and the next attempt's time (failed = dead letter).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 06:40:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stripe_events') as batch:
        batch.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('stripe_events') as batch:
        batch.drop_column('next_attempt_at')
        batch.drop_column('attempts')
