"""Every known state of every subscription, for the subscription metrics.

A subscription's history is what the landed ``customer.subscription.*`` events say (each
event's ``data.object`` is the state from the event's ``created``; webhooks and catch-up land
them, Stripe keeps 30 days of events). A mirrored subscription with no landed event at all
(backfilled from before the events) is known only by its current state: it counts from its
``created`` with its current items (``trialing`` until ``trial_end`` if it had a trial) and,
once ended, as ``canceled`` from ``ended_at``; changes between are not known (README).

A state whose MRR cannot be valued (a tiered price, a discount not expanded) is left out and
reported by subscription id with the reason.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
import sqlalchemy as sa

from domain.revenue.metrics import SubscriptionVersion, version_from_stripe
from domain.revenue.schedules import RevenueError

from .schema import stripe_events, stripe_subscriptions

ENDED = ("canceled", "incomplete_expired")


def _raw(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else orjson.loads(value)


def subscription_versions(conn: sa.Connection, until: int
                          ) -> tuple[list[SubscriptionVersion], dict[str, str]]:
    """States valid before ``until`` (epoch seconds), oldest first; and the problems."""
    versions: list[tuple[int, int, SubscriptionVersion]] = []
    problems: dict[str, str] = {}
    e = stripe_events
    rows = conn.execute(sa.select(e.c.seq, e.c.created, e.c.object_id, e.c.payload)
                        .where(e.c.type.like("customer.subscription.%"), e.c.created < until,
                               e.c.object_type == "subscription"))
    evented: set[str] = set()
    for seq, created, sid, payload in rows:
        evented.add(sid)
        obj = (orjson.loads(payload).get("data") or {}).get("object") or {}
        try:
            versions.append((created, seq, version_from_stripe(obj, created)))
        except (RevenueError, KeyError, TypeError, ValueError) as exc:
            problems.setdefault(sid, f"event at {created}: {exc}")
    s = stripe_subscriptions
    for (raw,) in conn.execute(sa.select(s.c.raw).where(
            s.c.created < datetime.fromtimestamp(until, tz=timezone.utc))):
        sub = _raw(raw)
        if sub["id"] in evented:
            continue
        created = int(sub["created"])
        trial_end = sub.get("trial_end")
        first = "trialing" if trial_end and int(trial_end) > created else "active"
        try:
            states = [(created, {**sub, "status": first, "cancel_at_period_end": False,
                                 "cancel_at": None})]
            if first == "trialing" and int(trial_end) < until:
                states.append((int(trial_end), {**sub, "status": "active",
                                                "cancel_at_period_end": False,
                                                "cancel_at": None}))
            if sub.get("status") in ENDED and sub.get("ended_at"):
                states.append((int(sub["ended_at"]), sub))
            elif sub.get("status") not in ("active", "trialing"):
                states.append((created, sub))      # past_due, paused...: as it is now
            versions += [(t, 0, version_from_stripe(state, t)) for t, state in states
                         if t < until]
        except (RevenueError, KeyError, TypeError, ValueError) as exc:
            problems.setdefault(sub["id"], f"mirrored state: {exc}")
    versions.sort(key=lambda v: (v[0], v[1]))
    return [v for _, _, v in versions], problems
