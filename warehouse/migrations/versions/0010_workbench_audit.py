"""Exceptions workbench: the audit table of every action taken in it; anomaly scores.

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-05 07:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('workbench_audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('who', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('erp', sa.String(length=16), nullable=True),
    sa.Column('dead_letter_ids', sa.Text(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('mapping_diff', sa.Text(), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_workbench_audit_at', 'workbench_audit', ['at'])
    op.create_table('anomaly_scores',
    sa.Column('object_id', sa.String(length=255), nullable=False),
    sa.Column('object_type', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('customer', sa.String(length=255), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('object_id')
    )
    op.create_index('ix_anomaly_scores_day', 'anomaly_scores', ['day'])


def downgrade() -> None:
    op.drop_index('ix_anomaly_scores_day', table_name='anomaly_scores')
    op.drop_table('anomaly_scores')
    op.drop_index('ix_workbench_audit_at', table_name='workbench_audit')
    op.drop_table('workbench_audit')
