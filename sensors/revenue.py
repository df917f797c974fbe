"""Keeps revenue/schedules up to date: evaluates its automation condition (assets/revenue.py,
SCHEDULES_AUTOMATION) in the daemon and requests a run when an input was updated.

Declared here rather than left to Dagster's default_automation_condition_sensor, which is
created stopped (it must be turned on under Automation) and ticks every 30 s: this one runs by
default and ticks every 5 s (the daemon's shortest loop), so schedules follow webhook-landed
invoices and credit notes within seconds of the event sync run that applied them.
"""
from __future__ import annotations

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus

from assets.revenue import SCHEDULES

revenue_automation_sensor = AutomationConditionSensorDefinition(
    "revenue_automation_sensor", target=AssetSelection.assets(SCHEDULES),
    default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=5,
    run_tags={"team": "finance-data"},
    description="Re-runs revenue/schedules (and its blocking check) once any input changed: "
                "mirrored invoices, charges, refunds, disputes (backfills or webhook-driven "
                "event syncs) or credit notes (credit_note events).")

revenue_sensors = [revenue_automation_sensor]
