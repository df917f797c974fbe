"""The audit table: every workbench action, who took it, when, what changed."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from warehouse.schema import workbench_audit


def record(engine: sa.Engine, who: str, action: str, summary: str, *, erp: str | None = None,
           dead_letter_ids: list[int] | None = None, mapping_diff: str | None = None,
           run_id: str | None = None) -> int:
    with engine.begin() as conn:
        return conn.execute(workbench_audit.insert().values(
            at=datetime.now(timezone.utc), who=who[:128], action=action, erp=erp,
            dead_letter_ids=",".join(map(str, dead_letter_ids or [])) or None,
            summary=summary, mapping_diff=mapping_diff or None, run_id=run_id)
        ).inserted_primary_key[0]


def update(engine: sa.Engine, audit_id: int, **values: Any) -> None:
    """Complete an entry: the run it launched, or why it launched none."""
    with engine.begin() as conn:
        conn.execute(workbench_audit.update().where(workbench_audit.c.id == audit_id)
                     .values(**values))


def latest(engine: sa.Engine, limit: int = 200) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(workbench_audit)
                            .order_by(workbench_audit.c.id.desc()).limit(limit)).mappings()
        return [dict(r) for r in rows]
