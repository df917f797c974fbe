"""The Stripe event landing table: insert-once by event id, read by the sensor and the sync run."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from .db import upsert_insert
from .event_retry import EVENT_COLUMNS, due
from .event_shape import check_event
from .schema import stripe_events

# The run tag a stripe_event_sync run sets when it begins reading the landing table. A run of
# that job without it (queued, starting, or waiting for the erp_api pool) will apply every event
# pending when it begins, so neither the sensor nor the receiver's nudge launches another.
TAKING_TAG = "stripe/taking_events"
WAITING_STATUSES = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED")


def event_row(event: dict[str, Any], body: str, source: str = "webhook") -> dict[str, Any]:
    """A landing row for a parsed, verified event (raises EventShapeError naming the bad field)."""
    obj = check_event(event)
    return {"id": event["id"], "type": event["type"], "created": event["created"],
            "object_id": obj.get("id"), "object_type": obj["object"],
            "livemode": event.get("livemode", False), "payload": body,
            "received_at": datetime.now(timezone.utc), "source": source, "status": "pending"}


def insert_events(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert rows, ignoring ids already landed; returns the ids that were new."""
    if not rows:
        return set()
    ids = [r["id"] for r in rows]
    existing = set(conn.execute(sa.select(stripe_events.c.id).where(stripe_events.c.id.in_(ids)))
                   .scalars())
    fresh: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["id"] not in existing:
            fresh.setdefault(row["id"], row)
    if fresh:
        conn.execute(upsert_insert(conn, stripe_events).on_conflict_do_nothing(index_elements=["id"]),
                     list(fresh.values()))
    return set(fresh)


def pending_range(conn: sa.Connection) -> tuple[int | None, int]:
    """(max pending seq, pending count)."""
    hi, n = conn.execute(sa.select(sa.func.max(stripe_events.c.seq), sa.func.count())
                         .where(stripe_events.c.status == "pending")).one()
    return hi, n


def pending_events(conn: sa.Connection, up_to: int | None = None) -> list[dict[str, Any]]:
    """Pending events that are due (not waiting for a scheduled retry), up to ``up_to`` if given."""
    query = sa.select(*EVENT_COLUMNS).where(due(datetime.now(timezone.utc)))
    if up_to is not None:
        query = query.where(stripe_events.c.seq <= up_to)
    rows = conn.execute(query.order_by(stripe_events.c.seq))
    return [dict(r._mapping) for r in rows]


def mark(conn: sa.Connection, seqs: Sequence[int], status: str, run_id: str | None,
         error: str | None = None) -> None:
    now = datetime.now(timezone.utc)
    for i in range(0, len(seqs), 500):
        conn.execute(stripe_events.update().where(stripe_events.c.seq.in_(seqs[i:i + 500]))
                     .values(status=status, run_id=run_id, applied_at=now, error=error))


def claim_range(conn: sa.Connection, hi: int, by: str) -> tuple[int, int] | None:
    """Claim the events after the last claimed range up to ``hi``; None if already claimed.

    Serialised (Postgres advisory lock; SQLite's single writer), so two claimers
    (the sensor and the receiver's nudge) never get overlapping ranges.
    """
    from .schema import stripe_event_claims as claims
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(727275)"))
    last = conn.execute(sa.select(sa.func.max(claims.c.hi))).scalar() or 0
    if hi <= last:
        return None
    conn.execute(claims.insert().values(lo=last + 1, hi=hi, claimed_by=by,
                                        claimed_at=datetime.now(timezone.utc)))
    return last + 1, hi


def release_claim(conn: sa.Connection, hi: int) -> None:
    """Give a claim back (its run could not be launched) if nothing was claimed after it."""
    from .schema import stripe_event_claims as claims
    last = conn.execute(sa.select(sa.func.max(claims.c.hi))).scalar()
    if last == hi:
        conn.execute(claims.delete().where(claims.c.hi == hi))


def last_claimed(conn: sa.Connection) -> int:
    from .schema import stripe_event_claims as claims
    return conn.execute(sa.select(sa.func.max(claims.c.hi))).scalar() or 0
