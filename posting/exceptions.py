"""Reading the exceptions back: open dead letters, for alerts and the operations views."""
from __future__ import annotations

from datetime import datetime
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
