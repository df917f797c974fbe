"""Reading the exceptions back: open dead letters, for alerts and the operations views."""
from __future__ import annotations

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
