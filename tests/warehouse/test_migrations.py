"""Alembic migrations build exactly the schema in warehouse/schema.py, on both backends."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from warehouse.db import make_engine
from warehouse.migrate import (current_revision, head_on_disk, head_revision, stored_revision,
                               upgrade)
from warehouse.schema import MIRROR_TABLES, metadata


def test_upgrade_creates_the_declared_schema(warehouse_url: str) -> None:
    engine = make_engine(warehouse_url)
    assert stored_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision() == head_on_disk() == stored_revision(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []
    names = set(sa.inspect(engine).get_table_names())
    assert set(MIRROR_TABLES) <= names
    assert {"stripe_charges", "stripe_balance_transactions", "stripe_invoice_lines"} <= names


def test_upgrade_is_idempotent(warehouse_url: str) -> None:
    engine = make_engine(warehouse_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO stripe_products (id, created, livemode, raw, _version, "
                             "_hash, _synced_at) VALUES ('prod_1', :t, false, '{}', 1, 'h', :t)"),
                     {"t": "2026-01-01 00:00:00+00:00"})
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM stripe_products")).scalar() == 1
