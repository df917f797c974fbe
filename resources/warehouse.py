"""The warehouse resource: ``WAREHOUSE_URL`` (SQLite file by default, or PostgreSQL).

The schema is brought to the latest Alembic revision on first use in a run.
"""
from __future__ import annotations

import sqlalchemy as sa
from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from warehouse.db import display_url, make_engine
from warehouse.migrate import upgrade


class WarehouseResource(ConfigurableResource):
    """Where the Stripe mirror, ERP links and reconciliation tables live."""

    url: str = Field(default="", description="SQLAlchemy URL; empty means data/warehouse.db.")

    _engine: sa.Engine | None = PrivateAttr(default=None)

    def engine(self) -> sa.Engine:
        if self._engine is None:
            engine = make_engine(self.url or None)
            upgrade(engine)
            self._engine = engine
        return self._engine

    @property
    def display_url(self) -> str:
        return display_url(self.url or None)

    def teardown_after_execution(self, context) -> None:  # noqa: ANN001 - Dagster hook
        if self._engine is not None:
            self._engine.dispose()
