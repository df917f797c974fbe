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

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from . import stripe_rows
from .db import PreSerialized
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


def serialize(obj: dict[str, Any]) -> tuple[PreSerialized, str]:
    """Canonical JSON text (sorted keys) and its digest."""
    text = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    return PreSerialized(text.decode()), hashlib.blake2b(text, digest_size=20).hexdigest()


def build_rows(table: str, objects: Iterable[dict[str, Any]], version: int,
               synced_at: datetime | None = None) -> list[dict[str, Any]]:
    """Typed row + raw + bookkeeping for each object (raises ``BadStripeObject``)."""
    builder = stripe_rows.ROW_BUILDERS[table]
    synced_at = synced_at or datetime.now(timezone.utc)
    rows = []
    for obj in objects:
        row = builder(obj)
        row["raw"], row["_hash"] = serialize(obj)
        row["_version"], row["_synced_at"] = version, synced_at
        rows.append(row)
    return rows


def build_invoice_line_rows(invoices: Sequence[dict[str, Any]], version: int,
                            synced_at: datetime | None = None) -> list[dict[str, Any]]:
    synced_at = synced_at or datetime.now(timezone.utc)
    rows = []
    for inv in invoices:
        for line in (inv.get("lines") or {}).get("data") or []:
            row = stripe_rows.invoice_line(line, inv)
            row["raw"], row["_hash"] = serialize(line)
            row["_version"], row["_synced_at"] = version, synced_at
            rows.append(row)
    return rows


def _insert(conn: sa.Connection, table: sa.Table):  # noqa: ANN202 - dialect-specific Insert
    return (postgresql.insert(table) if conn.dialect.name == "postgresql"
            else sqlite.insert(table))


def upsert(conn: sa.Connection, table_name: str, rows: list[dict[str, Any]]) -> UpsertCounts:
    """Write ``rows`` (from :func:`build_rows`) inside the caller's transaction."""
    counts = UpsertCounts()
    if not rows:
        return counts
    table = MIRROR_TABLES[table_name]
    # Keep the newest copy when a batch holds one id twice.
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        prev = latest.get(row["id"])
        if prev is None or row["_version"] >= prev["_version"]:
            latest[row["id"]] = row
    ids = list(latest)
    stored: dict[str, tuple[str, int]] = {}
    for i in range(0, len(ids), _SELECT_CHUNK):
        chunk = ids[i:i + _SELECT_CHUNK]
        for rid, h, v in conn.execute(
                sa.select(table.c.id, table.c._hash, table.c._version).where(table.c.id.in_(chunk))):
            stored[rid] = (h, v)
    to_write = []
    for rid, row in latest.items():
        old = stored.get(rid)
        if old is None:
            counts.inserted += 1
        elif old[0] == row["_hash"]:
            counts.unchanged += 1
            continue
        elif old[1] > row["_version"]:
            counts.stale += 1
            continue
        else:
            counts.updated += 1
        to_write.append(row)
    counts.unchanged += len(rows) - len(latest)
    if to_write:
        stmt = _insert(conn, table)
        cols = [c.name for c in table.columns if c.name != "id"]
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={c: stmt.excluded[c] for c in cols},
            where=sa.and_(table.c._version <= stmt.excluded._version,
                          table.c._hash != stmt.excluded._hash),
        )
        conn.execute(stmt, to_write)
    return counts
