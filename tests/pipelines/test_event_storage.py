"""The embedded instance's event log (pipelines/event_storage.py, selected by
deploy/dagster.local.yaml) writes a range run's batched asset events at once, and what Dagster
reads back is what its stock SQLite storage gives: per-partition materializations with their own
metadata, planned events per partition (so a failed range shows its days failed), asset records."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from dagster import (AssetKey, AssetSpec, DagsterEventType, DagsterInstance,
                     DailyPartitionsDefinition, EventRecordsFilter, MaterializeResult,
                     materialize, multi_asset)
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

from pipelines.event_storage import BatchingSqliteEventLogStorage
from tests.support.processes import REPO

# get_event_records reads planned and materialization events alike (the other readers are per kind)
pytestmark = pytest.mark.filterwarnings("ignore:.*get_event_records")

DAYS = DailyPartitionsDefinition(start_date="2026-11-01")
KEYS = [AssetKey(["t", "a"]), AssetKey(["t", "b"])]
RANGE = {"dagster/asset_partition_range_start": "2026-11-02",
         "dagster/asset_partition_range_end": "2026-11-05"}


@multi_asset(specs=[AssetSpec(k, skippable=True) for k in KEYS], partitions_def=DAYS,
             can_subset=True)
def two_assets(context):
    for key in KEYS:
        for day in context.partition_keys:
            context.add_asset_metadata({"rows": int(day[-2:]) * 10 + len(key.path[1])},
                                       asset_key=key, partition_key=day)
        if context.run.tags.get("fail") == key.path[1]:
            raise RuntimeError("boom")
        yield MaterializeResult(asset_key=key, metadata={"run_total": 1})


def open_instance(home: Path, config: str | None, monkeypatch) -> DagsterInstance:
    home.mkdir()
    if config:
        shutil.copy(config, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def outcome(instance: DagsterInstance) -> dict:
    """What the UI reads: events per type, asset and partition with their metadata; the asset
    records; the materialized and failed partitions."""
    out: dict = {}
    for kind in (DagsterEventType.ASSET_MATERIALIZATION,
                 DagsterEventType.ASSET_MATERIALIZATION_PLANNED):
        for key in KEYS:
            records = instance.get_event_records(EventRecordsFilter(kind, asset_key=key))
            out[kind.value, key.path[1]] = sorted(
                (r.partition_key, r.run_id == records[0].run_id,
                 {k: v.value for k, v in (r.asset_materialization.metadata.items()
                                          if r.asset_materialization else [])}.get("rows"))
                for r in records)
    for key in KEYS:
        record = instance.get_asset_records([key])[0].asset_entry
        last = record.last_materialization_record
        out["record", key.path[1]] = last.partition_key if last else None
        cache = get_and_update_asset_status_cache_value(instance, key, DAYS)
        out["status", key.path[1]] = (
            sorted(cache.deserialize_materialized_partition_subsets(DAYS).get_partition_keys()),
            sorted(cache.deserialize_failed_partition_subsets(DAYS).get_partition_keys()))
    return out


def test_batched_event_log_reads_back_as_the_stock_one(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "10000")   # restored after the test
    results = {}
    for name, config in (("stock", None), ("local", REPO / "deploy" / "dagster.local.yaml")):
        with open_instance(tmp_path / name, config, monkeypatch) as instance:
            assert materialize([two_assets], instance=instance, tags=RANGE).success
            failed = materialize([two_assets], instance=instance, raise_on_error=False,
                                 tags={**RANGE, "dagster/asset_partition_range_start":
                                       "2026-11-07", "dagster/asset_partition_range_end":
                                       "2026-11-08", "fail": "b"})
            assert not failed.success
            results[name] = outcome(instance)
            if name == "local":
                assert isinstance(instance.event_log_storage, BatchingSqliteEventLogStorage)
    assert results["local"] == results["stock"]
    mats = results["local"][DagsterEventType.ASSET_MATERIALIZATION.value, "a"]
    assert [(day, rows) for day, _, rows in mats] == [
        ("2026-11-02", 21), ("2026-11-03", 31), ("2026-11-04", 41), ("2026-11-05", 51),
        ("2026-11-07", 71), ("2026-11-08", 81)]
    # b failed on 11-07 and 11-08: planned, not materialized, shown failed
    assert results["local"]["status", "b"] == (
        ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"], ["2026-11-07", "2026-11-08"])
    assert len(results["local"][DagsterEventType.ASSET_MATERIALIZATION_PLANNED.value, "b"]) == 6


def test_the_storage_turns_batching_on_where_the_instance_is_opened(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    try:
        with open_instance(tmp_path / "h", REPO / "deploy" / "dagster.local.yaml", monkeypatch):
            assert int(os.environ["DAGSTER_EVENT_BATCH_SIZE"]) >= 1000
    finally:
        os.environ.pop("DAGSTER_EVENT_BATCH_SIZE", None)
