"""ERP link table (exactly-once posting) and dead letters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 20:01:04.543431
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erp_dead_letters',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('erp', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('source_id', sa.String(length=255), nullable=True),
    sa.Column('source_day', sa.Date(), nullable=True),
    sa.Column('error_type', sa.String(length=64), nullable=False),
    sa.Column('error_message', sa.Text(), nullable=False),
    sa.Column('error_field', sa.String(length=128), nullable=True),
    sa.Column('error_status', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='1', nullable=False),
    sa.Column('first_failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ux_erp_dead_letters_open', 'erp_dead_letters', ['erp', 'kind', 'external_id'], unique=True)

    op.create_table('erp_links',
    sa.Column('erp', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('erp_id', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.String(length=255), nullable=True),
    sa.Column('source_day', sa.Date(), nullable=True),
    sa.Column('created_in_erp', sa.Boolean(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('erp', 'kind', 'external_id')
    )
    op.create_index('ix_erp_links_source', 'erp_links', ['source_id'])
    op.create_index('ix_erp_links_status', 'erp_links', ['erp', 'status'])


def downgrade() -> None:
    op.drop_index('ix_erp_links_status', table_name='erp_links')
    op.drop_index('ix_erp_links_source', table_name='erp_links')

    op.drop_table('erp_links')
    op.drop_index('ux_erp_dead_letters_open', table_name='erp_dead_letters')

    op.drop_table('erp_dead_letters')
