"""Bounded retry of landed events, and their dead letters (``status = 'failed'``).

An event is applied on its own merits: when the object it names cannot be
fetched, only that event (and any other event naming the same object) waits;
every other event of the run is applied and posted.  What happens next depends
on why the fetch failed:

* permanent (Stripe answered 4xx, e.g. 404 ``No such charge: 'ch_…'`` for an
  object of another account or mode, or since deleted; or the object lacks a
  field the mirror needs): the attempt is counted.  Below ``max_attempts`` the
  event stays ``pending`` with ``next_attempt_at`` pushed back exponentially
  (Stripe is eventually consistent: a brand-new object may not be readable at
  once); at ``max_attempts`` it is marked ``failed`` with Stripe's exact
  message in ``error``.  Failed events are never picked up again by the sensor;
  the ``stripe_event_replay`` job retries them on request;
* transient (5xx, 409, 429, timeouts, dropped connections, after the client's own
  retries): the attempt is not counted (the event is not burnt by an outage);
  it stays ``pending`` and is retried after ``base_seconds``.

The schedule lives on the row (``attempts``, ``next_attempt_at``), so a run
never sleeps waiting for a retry; the sensor launches a run when one is due.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
import stripe

from .schema import stripe_events

FAILED = "failed"


@dataclass(frozen=True)
class EventFailure:
    """Why the object of an event could not be applied in this attempt."""

    message: str          # Stripe's exact message (or the mirror's, naming the field)
    transient: bool       # True: retry later without counting the attempt


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5        # permanent failures before the event is marked failed
    base_seconds: float = 60     # first retry delay; doubles per attempt
    max_seconds: float = 3600    # cap of one delay

    def delay(self, attempts: int) -> timedelta:
        """Wait before attempt ``attempts + 1`` (``attempts`` permanent failures so far)."""
        seconds = self.base_seconds * 2 ** max(attempts - 1, 0)
        return timedelta(seconds=min(seconds, self.max_seconds))


def classify(exc: stripe.StripeError) -> EventFailure:
    """Transient or permanent; re-raises what no event can fix (key refused or lacking rights)."""
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        raise exc
    message = exc.user_message or str(exc)
    if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError)):
        return EventFailure(message, transient=True)
    status = exc.http_status
    return EventFailure(message, transient=status is None or status >= 500 or status in (409, 429))


def due(now: datetime) -> sa.ColumnElement[bool]:
    """Pending events whose retry time (if any) has come."""
    return sa.and_(stripe_events.c.status == "pending",
                   sa.or_(stripe_events.c.next_attempt_at.is_(None),
                          stripe_events.c.next_attempt_at <= now))


def record_failures(conn: sa.Connection, failures: dict[int, EventFailure], policy: RetryPolicy,
                    run_id: str | None, now: datetime | None = None) -> dict[str, list[int]]:
    """Count the attempt of each failed event and schedule its retry or mark it failed.

    Returns the seqs by outcome: ``failed`` (dead letters now), ``retry`` (permanent
    failure, attempts left), ``deferred`` (transient, attempt not counted).
    """
    now = now or datetime.now(timezone.utc)
    out: dict[str, list[int]] = {"failed": [], "retry": [], "deferred": []}
    if not failures:
        return out
    seqs = sorted(failures)
    attempts = dict(conn.execute(sa.select(stripe_events.c.seq, stripe_events.c.attempts)
                                 .where(stripe_events.c.seq.in_(seqs))).all())
    for seq in seqs:
        failure, tried = failures[seq], attempts.get(seq, 0)
        values: dict[str, Any] = {"error": failure.message, "run_id": run_id}
        if failure.transient:
            values |= {"next_attempt_at": now + policy.delay(0)}
            out["deferred"].append(seq)
        elif tried + 1 >= policy.max_attempts:
            values |= {"attempts": tried + 1, "status": FAILED, "applied_at": now,
                       "next_attempt_at": None}
            out["failed"].append(seq)
        else:
            values |= {"attempts": tried + 1, "next_attempt_at": now + policy.delay(tried + 1)}
            out["retry"].append(seq)
        conn.execute(stripe_events.update().where(stripe_events.c.seq == seq).values(**values))
    return out


def record_replay_failures(conn: sa.Connection, failures: dict[int, EventFailure],
                           run_id: str | None) -> None:
    """A replayed event that fails again stays failed, with this attempt counted and its message."""
    now = datetime.now(timezone.utc)
    for seq, failure in failures.items():
        conn.execute(stripe_events.update().where(stripe_events.c.seq == seq).values(
            status=FAILED, attempts=stripe_events.c.attempts + 1, error=failure.message,
            run_id=run_id, applied_at=now, next_attempt_at=None))


EVENT_COLUMNS = (stripe_events.c.seq, stripe_events.c.id, stripe_events.c.type,
                 stripe_events.c.created, stripe_events.c.object_id, stripe_events.c.object_type,
                 stripe_events.c.payload)


def failed_events(conn: sa.Connection, event_ids: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Failed events (all, or those of ``event_ids``), oldest first, with payload for replay."""
    query = sa.select(*EVENT_COLUMNS).where(stripe_events.c.status == FAILED)
    ids = list(event_ids)
    if ids:
        query = query.where(stripe_events.c.id.in_(ids))
    return [dict(r._mapping) for r in conn.execute(query.order_by(stripe_events.c.seq))]


def failed_summary(conn: sa.Connection, limit: int = 10) -> tuple[int, list[dict[str, Any]]]:
    """(number of failed events, the first ``limit`` of them: id, type, object, attempts, error)."""
    total = conn.execute(sa.select(sa.func.count()).select_from(stripe_events)
                         .where(stripe_events.c.status == FAILED)).scalar() or 0
    rows = conn.execute(sa.select(stripe_events.c.id, stripe_events.c.type,
                                  stripe_events.c.object_id, stripe_events.c.attempts,
                                  stripe_events.c.error)
                        .where(stripe_events.c.status == FAILED)
                        .order_by(stripe_events.c.seq).limit(limit))
    return total, [dict(r._mapping) for r in rows]


def unknown_ids(found: Sequence[dict[str, Any]], asked: Sequence[str]) -> list[str]:
    """Asked event ids that are not failed events (replay names them instead of guessing)."""
    return sorted(set(asked) - {r["id"] for r in found})
