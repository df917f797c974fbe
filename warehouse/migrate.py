"""Bring a warehouse to the latest schema with Alembic (idempotent).

    python -m warehouse.migrate            # WAREHOUSE_URL, or the SQLite default
    python -m warehouse.migrate --url postgresql://...

The Dagster warehouse resource calls :func:`upgrade` before its first use, so
a fresh SQLite file or an empty Postgres database needs no manual step.
"""
from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path

from typing import TYPE_CHECKING

import sqlalchemy as sa

from .db import display_url, make_engine, normalize_url

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only when a migration has to run: every run's first use of the
# warehouse checks the stored revision with one query, which keeps run start-up light.

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_lock = threading.Lock()


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def head_on_disk() -> str:
    """The newest revision id from the file names (revisions are numbered 0001, 0002, …)."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def stored_revision(engine: sa.Engine) -> str | None:
    """The revision recorded in the database (None for an empty one), without Alembic."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine) -> None:
    """Upgrade to head unless already there (safe to call from every run)."""
    with _lock:
        if stored_revision(engine) == head_on_disk():
            return
        from alembic import command
        if current_revision(engine) == head_revision():
            return
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Serialise concurrent first runs on one database.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(727274)"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m warehouse.migrate")
    p.add_argument("--url", default=os.environ.get("WAREHOUSE_URL"))
    args = p.parse_args()
    engine = make_engine(args.url)
    upgrade(engine)
    print(f"{display_url(args.url)} at revision {current_revision(engine)}")


if __name__ == "__main__":
    main()
