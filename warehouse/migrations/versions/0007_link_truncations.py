"""Link table: the values cut to the ERP's field lengths, as the mapping allowed.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-05 06:45:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable, no default: SQLite adds the column in place (no table rebuild)
    op.add_column('erp_links', sa.Column(
        'truncations', sa.JSON(none_as_null=True).with_variant(
            postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), 'postgresql'),
        nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('erp_links') as batch:
        batch.drop_column('truncations')
