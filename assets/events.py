"""stripe/events: the landing table of Stripe events, kept complete by catch-up.

Webhooks can be missed (receiver down, endpoint disabled).  Materializing this
asset reads Stripe's event list from a little before the newest event landed
and lands whatever is absent (``source = catchup``); the sensor then syncs
them like any webhook.  Stripe keeps events for 30 days, so the asset check
``events_within_retention`` fails when the newest landed event is older than
25 days: past 30, what happened in between can no longer be caught up from
events (a date-range backfill still can).

The check ``no_failed_events`` (WARN) lists the events whose object Stripe would
not return after the bounded retries (warehouse/event_retry.py): the event id,
type, object id and Stripe's exact message.  The event sync and replay runs
report it after each run; the job ``stripe_event_replay`` retries them.
"""
import time  # no __future__ annotations: Dagster inspects the hints

import orjson
import sqlalchemy as sa
from dagster import (AssetCheckEvaluation, AssetCheckResult, AssetCheckSeverity, AssetCheckSpec,
                     AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset,
                     asset_check)

from resources.stripe import StripeResource
from resources.warehouse import WarehouseResource
from warehouse.event_retry import failed_summary
from warehouse.events import event_row, insert_events
from warehouse.schema import stripe_events

KEY = AssetKey(["stripe", "events"])
RETENTION_DAYS = 30
ALERT_DAYS = 25
OVERLAP_SECONDS = 600          # re-read this much before the newest landed event
FIRST_LOOKBACK_DAYS = 3        # an empty landing table starts this far back
FAILED_LISTED = 10             # failed events listed in the check's metadata


@asset(key=KEY, group_name="stripe", owners=["team:finance-data"], kinds={"stripe", "sql"},
       description=__doc__.split("\n\n")[0].strip(),
       check_specs=[AssetCheckSpec("events_within_retention", asset=KEY,
                                   description="The newest landed event is within 25 days "
                                               "(Stripe keeps events 30 days).")])
def stripe_events_catchup(context: AssetExecutionContext, stripe: StripeResource,
                          warehouse: WarehouseResource) -> MaterializeResult:
    engine = warehouse.engine()
    with engine.connect() as conn:
        newest = conn.execute(sa.select(sa.func.max(stripe_events.c.created))).scalar()
    now = int(time.time())
    start = (newest - OVERLAP_SECONDS) if newest else now - FIRST_LOOKBACK_DAYS * 86400
    api = stripe.api()
    rows, pages = [], 0
    for page in api.pages("/v1/events", {"created": {"gte": start}}):
        pages += 1
        rows += [event_row(ev, orjson.dumps(ev).decode(), "catchup") for ev in page["data"]]
    with engine.begin() as conn:
        fresh = insert_events(conn, rows)
    gap_days = (now - newest) / 86400 if newest else 0.0
    passed = gap_days < ALERT_DAYS
    context.log.info(f"catch-up from {start}: {len(rows)} events listed, {len(fresh)} were missing")
    return MaterializeResult(
        metadata={"events_listed": len(rows), "events_caught_up": len(fresh), "pages": pages,
                  "gap_days": round(gap_days, 2)},
        check_results=[AssetCheckResult(
            check_name="events_within_retention", passed=passed,
            severity=AssetCheckSeverity.ERROR,
            metadata={"gap_days": round(gap_days, 2), "alert_days": ALERT_DAYS,
                      "retention_days": RETENTION_DAYS},
            description=None if passed else
            f"newest landed event is {gap_days:.1f} days old; Stripe keeps {RETENTION_DAYS} "
            f"days of events: run a date-range backfill of the gap")])


def _cell(value: object) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def failed_events_result(engine: sa.Engine) -> AssetCheckResult:
    """``no_failed_events`` from the landing table: passes when no event is failed."""
    with engine.connect() as conn:
        total, first = failed_summary(conn, FAILED_LISTED)
    table = ["| event | type | object | attempts | Stripe's message |", "|---|---|---|---|---|"]
    table += [f"| {_cell(r['id'])} | {_cell(r['type'])} | {_cell(r['object_id'])} | "
              f"{r['attempts']} | {_cell(r['error'])} |" for r in first]
    metadata = {"failed_events": total,
                "first_failed_events": MetadataValue.md("\n".join(table)),
                "first_failed_event_ids": MetadataValue.json([r["id"] for r in first])}
    description = None if not total else (
        f"{total} Stripe events failed (first: {first[0]['id']}, {first[0]['type']} for "
        f"{first[0]['object_id']}: {first[0]['error']}); fix the cause, then launch "
        f"stripe_event_replay")
    return AssetCheckResult(asset_key=KEY, check_name="no_failed_events", passed=not total,
                            severity=AssetCheckSeverity.WARN, metadata=metadata,
                            description=description)


def failed_events_evaluation(engine: sa.Engine) -> AssetCheckEvaluation:
    """The same result as an event an op run logs (``context.log_event``)."""
    r = failed_events_result(engine)
    return AssetCheckEvaluation(asset_key=KEY, check_name="no_failed_events", passed=r.passed,
                                metadata=r.metadata, severity=r.severity,
                                description=r.description)


@asset_check(asset=KEY, name="no_failed_events", blocking=False,
             description="No landed Stripe event is failed (its object could not be fetched "
                         "after the bounded retries); lists the first ones with Stripe's message.")
def no_failed_events(warehouse: WarehouseResource) -> AssetCheckResult:
    return failed_events_result(warehouse.engine())


event_assets = [stripe_events_catchup]
event_checks = [no_failed_events]
