"""Idempotent, stale-safe upserts into the Stripe mirror.

A batch (one list page, or the objects of a webhook run) is classified
against what is stored, by id:

* new id -> inserted;
* same ``_hash`` -> unchanged: nothing is written (re-running a range changes
  no row);
* different content, newer ``_version`` -> updated;
* different content, older ``_version`` -> stale: skipped, the newer copy stays.

The write itself is an ``INSERT .. ON CONFLICT (id) DO UPDATE .. WHERE`` with
the same version guard, so two writers racing on one row still cannot let
the older copy win.  Every row of a batch is built (and validated) before
anything is written: a bad object fails its batch with nothing half-written.
"""
from __future__ import annotations

import functools
import hashlib
import operator
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timezone
from typing import Any

import orjson
import sqlalchemy as sa

from . import stripe_rows
from .schema import MIRROR_TABLES

# SQLite allows 32766 bound parameters; ids per SELECT stay far below.
_SELECT_CHUNK = 500


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0

    def add(self, other: UpsertCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def written(self) -> int:
        return self.inserted + self.updated

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def serialize(obj: dict[str, Any]) -> tuple[str, str]:
    """JSON text and its digest (Stripe renders keys in a stable order)."""
    text = orjson.dumps(obj)
    return text.decode(), hashlib.blake2b(text, digest_size=20).hexdigest()


def now_epoch() -> int:
    return int(time.time())


def build_rows(table: str, objects: Iterable[dict[str, Any]], version: int,
               synced_at: int | None = None) -> list[dict[str, Any]]:
    """Typed row + raw + bookkeeping for each object (raises ``BadStripeObject``)."""
    builder = stripe_rows.ROW_BUILDERS[table]
    synced_at = synced_at or now_epoch()
    rows = []
    for obj in objects:
        row = builder(obj)
        row["raw"], row["_hash"] = serialize(obj)
        row["_version"], row["_synced_at"] = version, synced_at
        rows.append(row)
    return rows


def build_invoice_line_rows(invoices: Sequence[dict[str, Any]], version: int,
                            synced_at: int | None = None) -> list[dict[str, Any]]:
    synced_at = synced_at or now_epoch()
    rows = []
    for inv in invoices:
        for line in (inv.get("lines") or {}).get("data") or []:
            row = stripe_rows.invoice_line(line, inv)
            row["raw"], row["_hash"] = serialize(line)
            row["_version"], row["_synced_at"] = version, synced_at
            rows.append(row)
    return rows


# ---------------------------------------------------------------------------- fast writes
# Rows go to the driver as tuples through one cached statement per table and
# backend, skipping SQLAlchemy's per-row parameter processing (which cost
# more than the database itself at 10,000 rows/s).  Timestamps travel as
# epoch seconds in rows and are converted here: to SQLAlchemy's own SQLite
# text format, or to aware datetimes for psycopg2.

_DAYS: dict[int, str] = {}


def _sqlite_ts(value: int | None) -> str | None:
    if value is None:
        return None
    days, secs = divmod(int(value), 86400)
    day = _DAYS.get(days)
    if day is None:
        day = _DAYS[days] = date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
    h, rem = divmod(secs, 3600)
    m, sec = divmod(rem, 60)
    return f"{day} {h:02d}:{m:02d}:{sec:02d}.000000"


def _pg_ts(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class _Statement:
    columns: tuple[str, ...]
    values: Any                              # operator.itemgetter over columns
    converters: tuple[tuple[int, Any], ...]  # (column index, converter) for timestamps
    upsert: str                  # ... VALUES (?, ...) or VALUES %s (execute_values)
    select: str


@functools.cache
def _statement(table_name: str, dialect: str) -> _Statement:
    table = MIRROR_TABLES[table_name]
    cols = tuple(c.name for c in table.columns)
    to_ts = _sqlite_ts if dialect == "sqlite" else _pg_ts
    conv = tuple((i, to_ts) for i, c in enumerate(cols) if isinstance(table.c[c].type, sa.DateTime))
    values = "(" + ", ".join("?" for _ in cols) + ")" if dialect == "sqlite" else "%s"
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id")
    upsert_sql = (f"INSERT INTO {table_name} ({', '.join(cols)}) VALUES {values} "
                  f"ON CONFLICT (id) DO UPDATE SET {updates} "
                  f"WHERE {table_name}._version <= excluded._version "
                  f"AND {table_name}._hash <> excluded._hash")
    select = (f"SELECT id, _hash, _version FROM {table_name} WHERE id IN ({{marks}})"
              if dialect == "sqlite" else
              f"SELECT id, _hash, _version FROM {table_name} WHERE id = ANY(%s)")
    return _Statement(cols, operator.itemgetter(*cols), conv, upsert_sql, select)


def _stored(conn: sa.Connection, st: _Statement, ids: list[str]) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    cur = conn.connection.cursor()
    try:
        for i in range(0, len(ids), _SELECT_CHUNK):
            chunk = ids[i:i + _SELECT_CHUNK]
            if conn.dialect.name == "sqlite":
                cur.execute(st.select.format(marks=", ".join("?" * len(chunk))), chunk)
            else:
                cur.execute(st.select, (chunk,))
            for rid, h, v in cur.fetchall():
                out[rid] = (h, v)
    finally:
        cur.close()
    return out


def _write(conn: sa.Connection, st: _Statement, rows: list[dict[str, Any]]) -> None:
    tuples = []
    for row in rows:
        values = list(st.values(row))
        for i, convert in st.converters:
            values[i] = convert(values[i])
        tuples.append(values)
    cur = conn.connection.cursor()
    try:
        if conn.dialect.name == "sqlite":
            cur.executemany(st.upsert, tuples)
        else:
            from psycopg2.extras import execute_values
            execute_values(cur, st.upsert, tuples, page_size=1000)
    finally:
        cur.close()


def upsert(conn: sa.Connection, table_name: str, rows: list[dict[str, Any]],
           by_day: dict[int, UpsertCounts] | None = None) -> UpsertCounts:
    """Write ``rows`` (from :func:`build_rows`) inside the caller's transaction.

    ``by_day``, when given, also receives each row's outcome under the UTC day (days since
    the epoch) of its ``created``: a range's figures split into its days' own.
    """
    counts = UpsertCounts()
    if not rows:
        return counts
    # Keep the newest copy when a batch holds one id twice.
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        prev = latest.get(row["id"])
        if prev is None or row["_version"] >= prev["_version"]:
            latest[row["id"]] = row
    st = _statement(table_name, conn.dialect.name)
    stored = _stored(conn, st, list(latest))
    to_write = []

    def tally(row: dict[str, Any], outcome: str) -> None:
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        if by_day is not None:
            day = by_day.setdefault((row.get("created") or 0) // 86400, UpsertCounts())
            setattr(day, outcome, getattr(day, outcome) + 1)
    for rid, row in latest.items():
        old = stored.get(rid)
        if old is None:
            tally(row, "inserted")
        elif old[0] == row["_hash"]:
            tally(row, "unchanged")
            continue
        elif old[1] > row["_version"]:
            tally(row, "stale")
            continue
        else:
            tally(row, "updated")
        to_write.append(row)
    for row in rows:                      # the older copies of an id the batch held twice
        if latest[row["id"]] is not row:
            tally(row, "unchanged")
    if to_write:
        _write(conn, st, to_write)
    return counts
