"""Benchmark: a 30-day backfill of every Stripe asset against a rate-limited sandbox.

Starts the Stripe sandbox with 30 days of history (``--scale``, default 10),
limited to 100 requests/s like a live Stripe account, then materializes the
30 daily partitions of all ten Stripe assets as one run (the single-run
backfill the UI launches), into a fresh SQLite warehouse (or ``--warehouse-url``),
on a fresh Dagster instance configured by the product's deploy/dagster.local.yaml
(``--instance stock`` for Dagster's default SQLite storage, to compare).

Prints objects per second and API requests per object next to the ceiling the
rate limit implies: 100 requests/s x 100 objects per page = 10,000 objects/s.
Targets: >= 90% of the ceiling, <= 0.0101 requests per object.

    .venv/bin/python bench/bench_backfill.py [--scale 10] [--rate-limit 100] [--instance stock]

"Whole Dagster run" is the wall time of the run from the call that creates it to its end:
creating the run (its "materialization planned" events), starting it, the step (resources,
extraction, a materialization event per asset and day), and ending it.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dagster import DagsterInstance, materialize  # noqa: E402
from dagster._core.instance.ref import InstanceRef  # noqa: E402

from assets.stripe import stripe_mirror  # noqa: E402
from resources import StripeResource, WarehouseResource  # noqa: E402
from tests.sandbox.fixtures import start_stripe_sandbox  # noqa: E402

DAY = 86400


def day(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scale", default="10")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--rate-limit", type=int, default=100)
    p.add_argument("--warehouse-url", default="")
    p.add_argument("--instance", choices=["local", "stock"], default="local",
                   help="deploy/dagster.local.yaml (default) or Dagster's stock SQLite storage")
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    t0 = time.monotonic()
    sb = start_stripe_sandbox(work, history_days=args.days + 2, scale=args.scale, seed=3,
                              rate_limit=args.rate_limit, timeout=600)
    print(f"sandbox: {args.days + 2} days at scale {args.scale} generated and serving in "
          f"{time.monotonic() - t0:.1f}s, limited to {args.rate_limit} req/s")
    try:
        clock = sb.control("GET", "health")["clock"]
        lt = (clock // DAY) * DAY
        gte = lt - args.days * DAY
        truth = sb.control("GET", "ground_truth", created_gte=gte, created_lt=lt)["objects"]
        url = args.warehouse_url or f"sqlite:///{work / 'warehouse.db'}"
        resources = {"stripe": StripeResource(api_key=sb.api_key, api_base=sb.base_url,
                                              rate_limit=args.rate_limit),
                     "warehouse": WarehouseResource(url=url)}
        WarehouseResource(url=url).engine()  # migrate outside the timed run
        sb.reset_stats()
        home = work / "dagster_home"
        home.mkdir()
        if args.instance == "local":
            shutil.copy(REPO / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
        os.environ["DAGSTER_HOME"] = str(home)
        with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            print(f"instance: {args.instance}, event log "
                  f"{type(instance.event_log_storage).__name__}, DAGSTER_EVENT_BATCH_SIZE={os.environ.get('DAGSTER_EVENT_BATCH_SIZE', '-')}")
            called = time.time()
            started = time.monotonic()
            result = materialize([stripe_mirror], resources=resources, instance=instance,
                                 tags={"dagster/asset_partition_range_start": day(gte),
                                       "dagster/asset_partition_range_end": day(lt - 1)})
            run_seconds = time.monotonic() - started
            ended = time.time()
            stamps: dict[str, float] = {}
            for e in instance.all_logs(result.run_id):
                if e.dagster_event:
                    stamps.setdefault(e.dagster_event.event_type_value, e.timestamp)
        assert result.success
        step_start, step_end = stamps["STEP_START"], stamps["STEP_SUCCESS"]
        run_start = stamps.get("RUN_START", stamps.get("PIPELINE_START", step_start))
        planned = stamps.get("ASSET_MATERIALIZATION_PLANNED", run_start)
        stats = sb.stats()
        mats = result.asset_materializations_for_node("stripe_mirror")
        per_asset = {}
        for m in mats:
            per_asset[m.asset_key.path[1]] = {k: v.value for k, v in m.metadata.items()}
        objects = sum(a["run_objects"] for a in per_asset.values())
        sync_seconds = max(a["run_seconds"] for a in per_asset.values())
        requests = stats["requests"]
        expected = sum(truth[o]["count"] for o in (
            "customer", "product", "price", "charge", "refund", "dispute", "payout",
            "balance_transaction", "subscription", "invoice"))
        assert objects == expected, (objects, expected)
        ceiling = args.rate_limit * 100
        ops = objects / sync_seconds
        breakdown = ", ".join(f"{k} {v['run_objects']:,}" for k, v in per_asset.items())
        print(f"objects: {objects:,} over {args.days} days ({breakdown})")
        print(f"API requests: {requests:,} (429s: {stats['rate_limited']}), "
              f"requests/object: {requests / objects:.5f} (target <= 0.0101)")
        print(f"extraction + load: {sync_seconds:.1f}s -> {ops:,.0f} objects/s; ceiling "
              f"{ceiling:,} objects/s; {100 * ops / ceiling:.1f}% of ceiling (target >= 90%)")
        print(f"whole Dagster run (process start, migrations check, events): {run_seconds:.1f}s "
              f"-> {objects / run_seconds:,.0f} objects/s "
              f"({100 * objects / run_seconds / ceiling:.1f}% of ceiling)")
        print(f"API request rate during extraction: {requests / sync_seconds:.1f} req/s")
        print(f"Dagster step (resources, extraction, {len(mats)} materialization events): "
              f"{step_end - step_start:.1f}s -> {objects / (step_end - step_start):,.0f} objects/s "
              f"({100 * objects / (step_end - step_start) / ceiling:.1f}% of ceiling); "
              f"run start to step start {step_start - run_start:.1f}s")
        print(f"where the whole run goes: creating the run {planned - called:.1f}s, "
              f"planned events {run_start - planned:.1f}s, start {step_start - run_start:.1f}s, "
              f"step {step_end - step_start:.1f}s, ending {ended - step_end:.1f}s")
    finally:
        sb.stop()


if __name__ == "__main__":
    main()
