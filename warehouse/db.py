"""Warehouse connections: one URL picks SQLite (embedded default) or PostgreSQL.

``WAREHOUSE_URL`` unset means ``sqlite:///<project>/data/warehouse.db``.  A
``postgresql://`` (or ``postgres://``) URL is pinned to psycopg2, the driver
dagster-postgres already ships (SQLAlchemy 2.1 would otherwise pick psycopg 3).
Passwords never leave this module in clear: use :func:`display_url`.
"""
from __future__ import annotations

import os
from pathlib import Path

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url

PROJECT_DIR = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    return Path(os.environ.get("STRIPE_ERP_DATA_DIR") or PROJECT_DIR / "data")


def default_url() -> str:
    return f"sqlite:///{data_dir() / 'warehouse.db'}"


def normalize_url(url: str | None) -> str:
    url = (url or "").strip() or default_url()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def display_url(url: str | None) -> str:
    """The URL with its password masked, safe for logs and metadata."""
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


def upsert_insert(conn: sa.Connection, table: sa.Table):  # noqa: ANN201 - dialect Insert
    """``INSERT`` with ``on_conflict_do_*`` for the connection's backend (SQLite or Postgres)."""
    from sqlalchemy.dialects import postgresql, sqlite
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _json_serializer(value: object) -> str:
    return orjson.dumps(value).decode()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - SQLAlchemy event API
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=60000")
    # Checkpoint every ~64 MB of WAL, not 4 MB: a bulk batch of Stripe objects (3 KB of raw
    # JSON each) would otherwise pay a checkpoint on every commit.
    cur.execute("PRAGMA wal_autocheckpoint=16000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache per connection
    cur.close()


def make_engine(url: str | None = None) -> sa.Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, json_serializer=_json_serializer,
                                  json_deserializer=orjson.loads,
                                  connect_args={"timeout": 60})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"WAREHOUSE_URL must be sqlite:// or postgresql://, got {display_url(url)}")
    return sa.create_engine(url, json_serializer=_json_serializer, json_deserializer=orjson.loads,
                            pool_pre_ping=True, pool_size=4, max_overflow=4)
