"""The sensor that turns webhook-landed Stripe events into incremental sync runs.

Each tick reads the landing table: if events beyond the last claimed range are
pending, it claims them (``stripe_event_claims``, shared with the receiver's
nudge, so ranges never overlap) and requests ONE run for all of them (never one
run per event) with the run key ``stripe-events-<from>-<to>``.  The run applies every
pending event when it begins, including any that committed late with a lower sequence
number and any that landed after ``<to>``.  Pending
events a run left behind (it failed, or they landed late) are swept by a
retry request once they are a minute old.  An event waiting for a scheduled
retry (its object could not be fetched: ``next_attempt_at``) counts only once
that time has come, and a ``failed`` event never does, so one bad event cannot
make the sensor request the same range forever.  While a sync run has not yet begun
reading the landing table (queued, starting, or waiting for the ``erp_api`` pool behind a
backfill), the sensor launches nothing: that run will take every pending event.
"""
import time  # no __future__ annotations: Dagster inspects the hints
from datetime import datetime, timezone

import sqlalchemy as sa
from dagster import (DagsterInstance, DagsterRunStatus, DefaultSensorStatus, RunRequest,
                     RunsFilter, SensorEvaluationContext, SensorResult, SkipReason, sensor)

from pipelines.ops import stripe_event_sync
from resources.warehouse import WarehouseResource
from warehouse.event_retry import due
from warehouse.events import TAKING_TAG, WAITING_STATUSES, claim_range, last_claimed
from warehouse.schema import stripe_events

STALE_SECONDS = 60


def waiting_run(instance: DagsterInstance) -> str | None:
    """A stripe_event_sync run that has not begun reading the landing table, if any."""
    runs = instance.get_runs(RunsFilter(job_name=stripe_event_sync.name,
                                        statuses=[DagsterRunStatus(s) for s in WAITING_STATUSES]),
                             limit=50)
    return next((r.run_id for r in runs if TAKING_TAG not in r.tags), None)


def run_request(lo: int, hi: int, pending: int, key: str) -> RunRequest:
    return RunRequest(run_key=key,
                      run_config={"ops": {"apply_stripe_events": {"config": {"up_to": hi}}}},
                      tags={"stripe/events_from": str(lo), "stripe/events_to": str(hi),
                            "stripe/events_pending": str(pending),
                            "stripe/launched_by": "stripe_events_sensor"})


@sensor(job=stripe_event_sync, minimum_interval_seconds=1,
        default_status=DefaultSensorStatus.RUNNING,
        description="Launch one incremental sync run for all newly landed Stripe events.")
def stripe_events_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
    engine = warehouse.engine()
    with engine.connect() as conn:
        hi, pending, oldest, retries = conn.execute(
            sa.select(sa.func.max(stripe_events.c.seq), sa.func.count(),
                      sa.func.min(stripe_events.c.received_at),
                      sa.func.count(stripe_events.c.next_attempt_at))
            .where(due(datetime.now(timezone.utc)))).one()
        cursor = max(int(context.cursor or 0), last_claimed(conn))
    if not pending:
        return SkipReason(f"no pending events (cursor {cursor})")
    waiting = waiting_run(context.instance)
    if waiting is not None:
        return SkipReason(f"run {waiting} has not begun applying events yet; it will take "
                          f"the {pending} pending")
    if hi > cursor:
        with engine.begin() as conn:
            claimed = claim_range(conn, hi, "sensor")
        if claimed is None:
            return SkipReason(f"events up to {hi} were claimed meanwhile")
        lo, hi = claimed
        return SensorResult(run_requests=[run_request(lo, hi, pending, f"stripe-events-{lo}-{hi}")],
                            cursor=str(hi))
    age = time.time() - oldest.timestamp() if oldest is not None else 0
    if age > STALE_SECONDS or retries:   # left behind, or a scheduled retry is due
        bucket = int(time.time() // STALE_SECONDS)
        return SensorResult(run_requests=[run_request(0, cursor, pending,
                                                      f"stripe-events-sweep-{cursor}-{bucket}")],
                            cursor=str(cursor))
    return SkipReason(f"{pending} pending events up to {hi} already requested")


sensors = [stripe_events_sensor]
