"""The code location loads and has the shape the UI and operators rely on."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from dagster import (AssetKey, DagsterInvalidConfigError, BackfillPolicy, DefaultSensorStatus,
                     Definitions, build_schedule_context, validate_run_config)

from assets.revenue import BALANCE_CHECK, RECOGNITION, SCHEDULES, WATERFALL, revenue_schedules
from assets.stripe import CREDIT_NOTES, STRIPE_OBJECTS, window_bounds
from pipelines.definitions import defs
from pipelines.partitions import revenue_monthly, stripe_daily
from pipelines.schedules import revenue_recognition_monthly, stripe_daily_resync


def test_definitions_load() -> None:
    Definitions.validate_loadable(defs)


def test_one_asset_per_stripe_object_with_partitions_and_single_run_backfills() -> None:
    graph = defs.resolve_asset_graph()
    keys = {k for k in graph.get_all_asset_keys()
            if k.path[0] == "stripe" and k not in (AssetKey(["stripe", "events"]), CREDIT_NOTES)}
    assert keys == {AssetKey(["stripe", n]) for n in [
        "customers", "products", "prices", "charges", "refunds", "disputes", "payouts",
        "balance_transactions", "subscriptions", "invoices"]}
    for key in keys:
        node = graph.get(key)
        assert node.partitions_def == stripe_daily
        assert node.backfill_policy == BackfillPolicy.single_run()
        assert node.group_name == "stripe"
        assert node.owners == ["team:finance-data"]
        assert "stripe" in node.kinds
        assert node.description
        assert node.metadata["dagster/table_name"] == f"stripe_{key.path[1]}"


def test_partitions_are_utc_days_and_the_first_is_open_below() -> None:
    assert stripe_daily.timezone == "UTC"
    first = stripe_daily.start
    assert window_bounds(first, datetime(first.year, first.month, first.day + 1,
                                         tzinfo=timezone.utc))[0] is None
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    end = datetime(2026, 3, 8, tzinfo=timezone.utc)
    assert window_bounds(start, end) == (int(start.timestamp()), int(end.timestamp()))


def test_daily_resync_schedule_requests_the_previous_day() -> None:
    ctx = build_schedule_context(scheduled_execution_time=datetime(2026, 3, 5, 2, 0,
                                                                   tzinfo=timezone.utc))
    request = stripe_daily_resync(ctx)
    assert request.partition_key == "2026-03-04"
    assert stripe_daily_resync.cron_schedule == "0 2 * * *"


def test_resources_read_secrets_through_envvar_only() -> None:
    stripe = defs.resources["stripe"]
    assert stripe.api_key == "STRIPE_API_KEY"  # an EnvVar: the name, not a value
    assert type(stripe.api_key).__name__ == "EnvVar"
    assert "STRIPE_API_KEY" not in repr(stripe) and "sk_" not in repr(stripe)


def test_missing_key_fails_with_the_variable_named(monkeypatch) -> None:
    job = defs.resolve_job_def("stripe_mirror_job")
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    with pytest.raises(DagsterInvalidConfigError, match="STRIPE_API_KEY"):
        validate_run_config(job, {})
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_123")
    assert validate_run_config(job, {})
    assert len(STRIPE_OBJECTS) == 10


def test_erp_assets_follow_the_stripe_assets() -> None:
    graph = defs.resolve_asset_graph()
    erp = {k for k in graph.get_all_asset_keys() if k.path[0] == "erp"} - {RECOGNITION}
    assert erp == {AssetKey(["erp", n]) for n in [
        "customers", "sales_orders", "invoices", "credit_memos", "cash_receipts",
        "customer_refunds", "journal_entries", "inventory_adjustments", "bank_deposits",
        "subscriptions"]}
    assert {AssetKey(["stripe", "subscriptions"]), AssetKey(["erp", "customers"])} <= graph.get(
        AssetKey(["erp", "subscriptions"])).parent_keys
    assert AssetKey(["stripe", "balance_transactions"]) in graph.get(
        AssetKey(["erp", "journal_entries"])).parent_keys
    assert AssetKey(["stripe", "payouts"]) in graph.get(AssetKey(["erp", "bank_deposits"])).parent_keys
    for key in erp:
        assert graph.get(key).partitions_def == stripe_daily
    assert defs.resolve_job_def("erp_replay_dead_letters")


def test_revenue_assets_are_monthly_after_the_schedules_and_its_check_blocks() -> None:
    graph = defs.resolve_asset_graph()
    for key in (RECOGNITION, WATERFALL):
        node = graph.get(key)
        assert node.partitions_def == revenue_monthly and SCHEDULES in node.parent_keys
    assert revenue_monthly.get_partition_keys()[0] == stripe_daily.start.strftime("%Y-%m-01")
    assert graph.get(SCHEDULES).partitions_def is None
    [check] = revenue_schedules.check_specs
    assert check.name == BALANCE_CHECK and check.blocking
    job = defs.resolve_job_def("revenue_month")
    assert job.partitions_def == revenue_monthly
    request = revenue_recognition_monthly(build_schedule_context(
        scheduled_execution_time=datetime(2027, 1, 3, 6, tzinfo=timezone.utc)))
    assert request.partition_key == "2026-12-01"


def test_the_schedules_follow_their_inputs_through_a_sensor_that_runs_by_default() -> None:
    graph = defs.resolve_asset_graph()
    node = graph.get(SCHEDULES)
    assert CREDIT_NOTES in node.parent_keys and not graph.get(CREDIT_NOTES).is_materializable
    assert node.automation_condition is not None
    sensor = defs.resolve_sensor_def("revenue_automation_sensor")
    assert sensor.default_status == DefaultSensorStatus.RUNNING
    assert sensor.asset_selection.resolve(graph) == {SCHEDULES}
    names = {s.name for s in defs.get_repository_def().sensor_defs}
    assert "default_automation_condition_sensor" not in names   # no stopped sensor to turn on
    assert CREDIT_NOTES not in defs.resolve_job_def("stripe_mirror_job").asset_layer \
        .selected_asset_keys


def test_event_catchup_asset_has_its_retention_check_and_schedule() -> None:
    graph = defs.resolve_asset_graph()
    events = AssetKey(["stripe", "events"])
    assert graph.get(events).partitions_def is None
    checks = {k.name for k in graph.asset_check_keys if k.asset_key == events}
    assert checks == {"events_within_retention", "no_failed_events"}
    assert defs.resolve_job_def("stripe_event_replay")
    assert defs.resolve_schedule_def("stripe_events_catchup_every_15_minutes").cron_schedule == \
        "*/15 * * * *"
    assert defs.resolve_sensor_def("stripe_events_sensor")


def test_asset_descriptions_are_plain_text_the_ui_shows_as_written() -> None:
    """The UI shows descriptions as written: no reStructuredText double backticks."""
    shown = {n.key.to_user_string(): n.description or "" for n in defs.resolve_asset_graph().asset_nodes}
    assert [k for k, d in shown.items() if "``" in d] == []
