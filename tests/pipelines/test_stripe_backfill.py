"""Date-range backfills of the Stripe assets land exactly the sandbox's ground truth.

Ranges run as one run (single-run backfill policy), in process with the range
tags as the UI's backfill sets them, and through ``dagster asset materialize``
as a user would, on SQLite and on PostgreSQL (warehouse and Dagster instance).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from dagster import DagsterInstance, EnvVar, instance_for_test, materialize
from dagster._serdes import serialize_value

from assets.stripe import stripe_mirror
from resources import StripeResource, WarehouseResource
from tests.support.processes import REPO
from tests.support.truth import dump_tables, recent_window, truth_summary, warehouse_summary
from warehouse.db import make_engine


def day(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d")


def range_tags(gte: int, lt: int) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": day(gte),
            "dagster/asset_partition_range_end": day(lt - 1)}


def run_range(sb, warehouse_url: str, gte: int, lt: int, instance: DagsterInstance):
    resources = {"stripe": StripeResource(api_key=EnvVar("STRIPE_API_KEY"),
                                          api_base=sb.base_url, rate_limit=1000),
                 "warehouse": WarehouseResource(url=warehouse_url)}
    return materialize([stripe_mirror], resources=resources, instance=instance,
                       tags=range_tags(gte, lt))


def test_five_day_range_lands_ground_truth_each_day_its_own_figures_rerun_changes_nothing(
        stripe_sb, warehouse_url, monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", stripe_sb.api_key)
    gte, lt = recent_window(stripe_sb.control("GET", "health")["clock"], days=5)
    truth = stripe_sb.control("GET", "ground_truth", created_gte=gte, created_lt=lt)
    with instance_for_test() as instance:
        result = run_range(stripe_sb, warehouse_url, gte, lt, instance)
        assert result.success
        engine = make_engine(warehouse_url)
        assert warehouse_summary(engine, gte, lt) == truth_summary(truth)
        assert truth["objects"]["charge"]["count"] > 100  # real days, not empty ones

        # One run, one materialization per asset per day, each with that day's own figures.
        mats = result.asset_materializations_for_node("stripe_mirror")
        assert len(mats) == 10 * 5
        charges = {m.partition: m.metadata for m in mats if m.asset_key.path == ["stripe", "charges"]}
        days = [gte + i * 86400 for i in range(5)]
        assert set(charges) == {day(d) for d in days}
        per_day = [stripe_sb.control("GET", "ground_truth", created_gte=d, created_lt=d + 86400)
                   ["objects"]["charge"]["count"] for d in days]
        assert len(set(per_day)) > 1                       # days differ, so the test can tell
        assert [charges[day(d)]["rows_inserted"].value for d in days] == per_day
        assert [charges[day(d)]["objects"].value for d in days] == per_day
        assert [charges[day(d)]["window_start"].value for d in days] == days
        assert sum(charges[day(d)]["api_requests"].value for d in days) == \
            charges[day(gte)]["run_api_requests"].value
        assert all(charges[day(d)]["run_rows_inserted"].value == sum(per_day) for d in days)

        before = dump_tables(engine)
        again = run_range(stripe_sb, warehouse_url, gte, lt, instance)
        assert again.success
        assert dump_tables(engine) == before
        meta = [m for m in again.asset_materializations_for_node("stripe_mirror")
                if m.asset_key.path == ["stripe", "charges"]][0].metadata
        assert meta["rows_inserted"].value == 0 and meta["rows_updated"].value == 0

        # The key never reaches the event log (messages, metadata, config).
        for record in instance.all_logs(result.run_id) + instance.all_logs(again.run_id):
            assert stripe_sb.api_key not in serialize_value(record)
        run = instance.get_run_by_id(result.run_id)
        assert stripe_sb.api_key not in serialize_value(run)


def test_backfill_with_429s_and_5xx_lands_the_same_result(stripe_sb, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", stripe_sb.api_key)
    gte, lt = recent_window(stripe_sb.control("GET", "health")["clock"], days=7)
    truth = stripe_sb.control("GET", "ground_truth", created_gte=gte, created_lt=lt)
    stripe_sb.fault(kind="429", rate=0.2)
    stripe_sb.fault(kind="500", rate=0.1)
    stripe_sb.fault(kind="502", rate=0.05)
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    with instance_for_test() as instance:
        assert run_range(stripe_sb, url, gte, lt, instance).success
    assert stripe_sb.stats()["faults_injected"] > 0
    assert warehouse_summary(make_engine(url), gte, lt) == truth_summary(truth)


def _cli_materialize(env: dict[str, str], gte: int, lt: int) -> subprocess.CompletedProcess:
    selection = ",".join(f"stripe/{n}" for n in (
        "customers", "products", "prices", "charges", "refunds", "disputes", "payouts",
        "balance_transactions", "subscriptions", "invoices"))
    cmd = [str(Path(sys.executable).with_name("dagster")), "asset", "materialize",
           "-m", "pipelines.definitions", "--select", selection,
           "--partition-range", f"{day(gte)}...{day(lt - 1)}"]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_dagster_cli_range_on_each_backend(stripe_sb, tmp_path, backend, request) -> None:
    """`dagster asset materialize --partition-range` as the README shows it.

    SQLite: the embedded default instance and warehouse.  Postgres: the
    production deploy/dagster.yaml (dagster-postgres storage) and a Postgres
    warehouse, on the throwaway cluster.
    """
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "STRIPE_API_KEY": stripe_sb.api_key,
           "STRIPE_API_BASE": stripe_sb.base_url, "STRIPE_RATE_LIMIT": "1000"}
    if backend == "sqlite":
        shutil.copy(REPO / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
        env["WAREHOUSE_URL"] = f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        cluster = request.getfixturevalue("pg_cluster")
        shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
        env["DAGSTER_POSTGRES_URL"] = cluster.create_database("dagster_cli")
        env["WAREHOUSE_URL"] = cluster.create_database("warehouse_cli")
    gte, lt = recent_window(stripe_sb.control("GET", "health")["clock"], days=7)
    truth = stripe_sb.control("GET", "ground_truth", created_gte=gte, created_lt=lt)

    done = _cli_materialize(env, gte, lt)
    assert done.returncode == 0, done.stderr[-3000:]
    engine = make_engine(env["WAREHOUSE_URL"])
    assert warehouse_summary(engine, gte, lt) == truth_summary(truth)
    before = dump_tables(engine)
    assert _cli_materialize(env, gte, lt).returncode == 0
    assert dump_tables(engine) == before

    instance_env = {k: env[k] for k in ("DAGSTER_HOME", "DAGSTER_POSTGRES_URL") if k in env}
    probe = subprocess.run(
        [sys.executable, "-c", "from dagster import DagsterInstance as I; i = I.get(); "
         "print(type(i.run_storage).__name__, len(i.get_runs()), "
         "i.get_runs()[0].status.value)"],
        env={**os.environ, **instance_env}, capture_output=True, text=True, cwd=REPO)
    assert probe.returncode == 0, probe.stderr[-2000:]
    storage, runs, status = probe.stdout.split()
    assert storage == ("PostgresRunStorage" if backend == "postgres" else "SqliteRunStorage")
    assert (runs, status) == ("2", "SUCCESS")
