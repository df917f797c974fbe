"""The link table and the dead-letter table (SQLAlchemy Core, SQLite and Postgres)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa

from domain.erp import DocKind
from warehouse.db import upsert_insert
from warehouse.schema import erp_dead_letters, erp_links

Key = tuple[DocKind, str]
_CHUNK = 500


def _now() -> datetime:
    return datetime.now(timezone.utc)


def linked(conn: sa.Connection, erp: str, keys: Iterable[Key]) -> dict[Key, str]:
    """Status ("posted"/"dead") of the given documents that have a link row."""
    by_kind: dict[DocKind, list[str]] = {}
    for kind, ext in keys:
        by_kind.setdefault(kind, []).append(ext)
    out: dict[Key, str] = {}
    for kind, exts in by_kind.items():
        for i in range(0, len(exts), _CHUNK):
            rows = conn.execute(sa.select(erp_links.c.external_id, erp_links.c.status).where(
                erp_links.c.erp == erp, erp_links.c.kind == kind.value,
                erp_links.c.external_id.in_(exts[i:i + _CHUNK])))
            out.update({(kind, ext): status for ext, status in rows})
    return out


def record_posted(conn: sa.Connection, erp: str, rows: list[dict[str, Any]]) -> None:
    """rows: kind, external_id, erp_id, created_in_erp, source_id, source_day, and
    optionally truncations (the values cut to the ERP's limits, as the mapping allowed)."""
    if not rows:
        return
    now = _now()
    values = [{"erp": erp, "status": "posted", "attempts": 1, "last_error": None,
               "updated_at": now, "truncations": None, **r, "kind": r["kind"].value}
              for r in rows]
    stmt = upsert_insert(conn, erp_links)
    stmt = stmt.on_conflict_do_update(
        index_elements=[erp_links.c.erp, erp_links.c.kind, erp_links.c.external_id],
        set_={"erp_id": stmt.excluded.erp_id, "status": "posted",
              "created_in_erp": stmt.excluded.created_in_erp, "last_error": None,
              "truncations": stmt.excluded.truncations,
              "attempts": erp_links.c.attempts + 1, "updated_at": now})
    conn.execute(stmt, values)
    _resolve(conn, erp, rows, now)


def _resolve(conn: sa.Connection, erp: str, rows: list[dict[str, Any]], now: datetime) -> None:
    """Close the open dead letters of these documents."""
    for kind in {r["kind"] for r in rows}:
        exts = [r["external_id"] for r in rows if r["kind"] == kind]
        for i in range(0, len(exts), _CHUNK):
            conn.execute(erp_dead_letters.update().where(
                erp_dead_letters.c.erp == erp, erp_dead_letters.c.kind == kind.value,
                erp_dead_letters.c.external_id.in_(exts[i:i + _CHUNK]),
                erp_dead_letters.c.resolved_at.is_(None)).values(resolved_at=now))


def _link(conn: sa.Connection, erp: str, rows: list[dict[str, Any]], status: str,
          message: str, now: datetime) -> None:
    """Link rows with ``status`` and ``row[message]`` as last error, unless posted."""
    link_rows = [{"erp": erp, "kind": r["kind"].value, "external_id": r["external_id"],
                  "status": status, "source_id": r.get("source_id"),
                  "source_day": r.get("source_day"), "attempts": 1,
                  "last_error": r[message][:2000], "updated_at": now} for r in rows]
    stmt = upsert_insert(conn, erp_links)
    stmt = stmt.on_conflict_do_update(
        index_elements=[erp_links.c.erp, erp_links.c.kind, erp_links.c.external_id],
        set_={"status": status, "last_error": stmt.excluded.last_error,
              "attempts": erp_links.c.attempts + 1, "updated_at": now},
        where=erp_links.c.status != "posted")
    conn.execute(stmt, link_rows)


def record_dead(conn: sa.Connection, erp: str, rows: list[dict[str, Any]]) -> None:
    """rows: kind, external_id, source_id, source_day, error_type, error_message,
    error_field, error_status, payload.  One dead letter per document: a repeat
    failure updates it (attempts + 1) and re-opens it if it had been resolved."""
    if not rows:
        return
    now = _now()
    letters = [{"erp": erp, "first_failed_at": now, "last_failed_at": now, "attempts": 1,
                "resolved_at": None, **r, "kind": r["kind"].value} for r in rows]
    stmt = upsert_insert(conn, erp_dead_letters)
    stmt = stmt.on_conflict_do_update(
        index_elements=[erp_dead_letters.c.erp, erp_dead_letters.c.kind,
                        erp_dead_letters.c.external_id],
        set_={c: stmt.excluded[c] for c in ("error_type", "error_message", "error_field",
                                             "error_status", "payload", "last_failed_at",
                                             "source_id", "source_day")}
        | {"attempts": erp_dead_letters.c.attempts + 1, "resolved_at": None})
    conn.execute(stmt, letters)
    _link(conn, erp, rows, "dead", "error_message", now)


def record_waiting(conn: sa.Connection, erp: str, rows: list[dict[str, Any]]) -> None:
    """rows: kind, external_id, source_id, source_day, reason.  Documents the ERP has not
    produced yet (an M3 invoice before M3's invoicing job ran) or that wait for one: their
    link says ``waiting`` with the reason, and later runs post them (``resume_waiting``).
    Not refused, so any open dead letter of theirs is closed."""
    if not rows:
        return
    now = _now()
    _link(conn, erp, rows, "waiting", "reason", now)
    _resolve(conn, erp, rows, now)


def waiting_days(conn: sa.Connection, erp: str) -> list[date]:
    """The source days of the documents that wait for the ERP."""
    rows = conn.execute(sa.select(erp_links.c.source_day).distinct().where(
        erp_links.c.erp == erp, erp_links.c.status == "waiting"))
    return sorted(d for (d,) in rows if d is not None)


def waiting_count(conn: sa.Connection, erp: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(erp_links).where(
        erp_links.c.status == "waiting")
    if erp:
        query = query.where(erp_links.c.erp == erp)
    return conn.execute(query).scalar() or 0


def open_dead_letters(conn: sa.Connection, erp: str) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(erp_dead_letters).where(
        erp_dead_letters.c.erp == erp, erp_dead_letters.c.resolved_at.is_(None))
        .order_by(erp_dead_letters.c.id))
    return [dict(r._mapping) for r in rows]


def dead_letter_days(conn: sa.Connection, erp: str) -> list[date]:
    rows = conn.execute(sa.select(erp_dead_letters.c.source_day).distinct().where(
        erp_dead_letters.c.erp == erp, erp_dead_letters.c.resolved_at.is_(None)))
    return sorted(d for (d,) in rows if d is not None)
