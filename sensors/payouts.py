"""Reconcile a payout as soon as Stripe says it is paid or its reconciliation is complete.

Reads the landing table for ``payout.paid`` and ``payout.reconciliation_completed``
events past its cursor and requests a ``payout_reconciliation`` run for each
arrival date they touch (run key per date and event range).  The daily schedule
covers anything this misses.
"""
from datetime import datetime, timezone  # no __future__ annotations: Dagster inspects hints

import orjson
import sqlalchemy as sa
from dagster import (DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult,
                     SkipReason, sensor)

from pipelines.jobs import reconciliation_job
from pipelines.partitions import stripe_daily
from resources.warehouse import WarehouseResource
from warehouse.schema import stripe_events

TYPES = ("payout.paid", "payout.reconciliation_completed")


@sensor(job=reconciliation_job, minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING,
        description="Reconcile payouts when payout.paid / payout.reconciliation_completed land.")
def payout_reconciliation_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
    cursor = int(context.cursor or 0)
    with warehouse.engine().connect() as conn:
        rows = conn.execute(sa.select(stripe_events.c.seq, stripe_events.c.payload)
                            .where(stripe_events.c.seq > cursor, stripe_events.c.type.in_(TYPES))
                            .order_by(stripe_events.c.seq).limit(1000)).all()
    if not rows:
        return SkipReason("no payout events")
    keys = set(stripe_daily.get_partition_keys())
    days = set()
    for _, payload in rows:
        payout = orjson.loads(payload)["data"]["object"]
        if payout.get("arrival_date"):
            day = datetime.fromtimestamp(payout["arrival_date"], tz=timezone.utc).strftime("%Y-%m-%d")
            if day in keys:
                days.add(day)
    hi = rows[-1][0]
    return SensorResult(
        run_requests=[RunRequest(run_key=f"payout-reconciliation-{d}-{cursor + 1}-{hi}",
                                 partition_key=d) for d in sorted(days)],
        cursor=str(hi))


payout_sensors = [payout_reconciliation_sensor]
