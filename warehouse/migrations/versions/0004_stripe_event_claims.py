"""Event ranges claimed by the sensor or the receiver's nudge (never launched twice).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 20:34:57.569548
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stripe_event_claims',
    sa.Column('hi', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('lo', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=16), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('hi')
    )


def downgrade() -> None:
    op.drop_table('stripe_event_claims')
