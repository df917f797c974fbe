"""Reading the exceptions back: open dead letters, for alerts and the operations views."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from warehouse.schema import erp_dead_letters as dl


def open_dead_letters_before(conn: sa.Connection, failed_before: datetime, after_id: int,
                             limit: int = 20) -> tuple[list[dict[str, Any]], int]:
    """Open dead letters first failed before ``failed_before`` with id > ``after_id`` (oldest
    first, at most ``limit``), and how many such there are in all."""
    where = (dl.c.resolved_at.is_(None), dl.c.first_failed_at < failed_before, dl.c.id > after_id)
    total = conn.execute(sa.select(sa.func.count()).select_from(dl).where(*where)).scalar_one()
    rows = conn.execute(sa.select(dl.c.id, dl.c.erp, dl.c.kind, dl.c.external_id, dl.c.source_id,
                                  dl.c.source_day, dl.c.error_type, dl.c.error_message,
                                  dl.c.error_field, dl.c.first_failed_at)
                        .where(*where).order_by(dl.c.id).limit(limit)).mappings().all()
    return [dict(r) for r in rows], int(total)


def max_open_dead_letter_id(conn: sa.Connection, failed_before: datetime) -> int:
    """The newest id among those open dead letters (0 when none)."""
    return int(conn.execute(sa.select(sa.func.max(dl.c.id)).where(
        dl.c.resolved_at.is_(None), dl.c.first_failed_at < failed_before)).scalar() or 0)


def open_dead_letters_in(conn: sa.Connection, erp: str, kind: str, first: date, last: date,
                         limit: int = 10) -> dict[str, Any]:
    """The open dead letters of one document kind whose Stripe source is dated in
    ``[first, last]``: how many, how many are ``Blocked`` (waiting on a refused prerequisite),
    the oldest blocked one's first failure, and the first ``limit`` (oldest first)."""
    where = (dl.c.erp == erp, dl.c.kind == kind, dl.c.resolved_at.is_(None),
             dl.c.source_day >= first, dl.c.source_day <= last)
    blocked = dl.c.error_type == "Blocked"
    total, n_blocked, oldest = conn.execute(sa.select(
        sa.func.count(), sa.func.count().filter(blocked),
        sa.func.min(dl.c.first_failed_at).filter(blocked)).where(*where)).one()
    rows = conn.execute(sa.select(dl.c.external_id, dl.c.source_id, dl.c.error_type,
                                  dl.c.error_message, dl.c.first_failed_at)
                        .where(*where).order_by(dl.c.id).limit(limit)).mappings().all()
    return {"total": int(total), "blocked": int(n_blocked), "oldest_blocked": oldest,
            "first": [dict(r) for r in rows]}


# ------------------------------------------------------------------------------ by cause
_VALUE = re.compile(r"'[^']*'|\"[^\"]*\"|\b[\w.-]*\d[\w.-]*")


def cause_of(error_type: str, message: str) -> str:
    """A dead letter's cause: its error type and message with the values taken out, so
    ``Item SKU_1042 does not exist`` and ``Item sku-9 does not exist`` are one cause."""
    return f"{error_type}: {' '.join(_VALUE.sub('…', message).split())}"


def open_dead_letters(conn: sa.Connection, erp: str | None = None,
                      ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Open dead letters with their payload (oldest first), of one ERP or all, or by id."""
    query = sa.select(dl).where(dl.c.resolved_at.is_(None)).order_by(dl.c.id)
    if erp:
        query = query.where(dl.c.erp == erp)
    if ids is not None:
        query = query.where(dl.c.id.in_(ids))
    return [dict(r) for r in conn.execute(query).mappings()]


def dead_letters_by_id(conn: sa.Connection, ids: list[int]) -> list[dict[str, Any]]:
    """Dead letters by id, open or resolved."""
    rows = conn.execute(sa.select(dl).where(dl.c.id.in_(ids)).order_by(dl.c.id)).mappings()
    return [dict(r) for r in rows]


def group_by_cause(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Dead letters grouped by cause, the largest group first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(cause_of(row["error_type"], row["error_message"]), []).append(row)
    return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))
