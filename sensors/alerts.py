"""Alerts to a webhook (Slack-compatible) and/or e-mail: run failures, failed asset checks and
dead letters open longer than a threshold (resources/alerts.py says where they go).

Each sensor keeps a cursor, so every failure is alerted once; a delivery that fails raises, the
tick fails, the cursor stays, and the next tick sends it again (at least once, never dropped).
The check sensor and the dead-letter sensor start from what exists when they are first turned on
(no flood of history on the first tick); the run-failure sensor, Dagster's own, does likewise.
"""
import json  # no __future__ annotations: Dagster inspects the hints
from datetime import datetime, timedelta, timezone
from typing import Sequence

from dagster import (AssetCheckKey, DefaultSensorStatus, RunFailureSensorContext,
                     SensorEvaluationContext, SensorResult, SkipReason, run_failure_sensor, sensor)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from domain.alerts import Alert
from posting.exceptions import max_open_dead_letter_id, open_dead_letters_before
from resources.alerts import AlertResource
from resources.erp import ErpResource
from resources.warehouse import WarehouseResource

LAUNCHED_BY = ("dagster/backfill", "dagster/schedule_name", "dagster/sensor_name", "launched_by")


@run_failure_sensor(name="alert_on_run_failure", minimum_interval_seconds=30,
                    default_status=DefaultSensorStatus.RUNNING,
                    description="Alert (webhook / e-mail) when a run fails, naming the ERP, the "
                                "document and the error.")
def alert_on_run_failure(context: RunFailureSensorContext, alerts: AlertResource,
                         erp: ErpResource) -> None:
    if not alerts.channels():
        context.log.info("alerts not configured (ALERT_WEBHOOK_URL / ALERT_SMTP_HOST)")
        return
    run = context.dagster_run
    steps = context.get_step_failure_events()
    message = "\n".join(f"{e.step_key}: {_failure_text(e.step_failure_data)}"
                        for e in steps if e.step_failure_data)
    first = steps[0].step_failure_data.user_failure_data if steps and steps[0].step_failure_data \
        else None
    meta = {k: str(getattr(v, "value", v)) for k, v in (first.metadata if first else {}).items()}
    tags = run.tags
    alerts.send(Alert(
        kind="run_failure", title=f"Run failed: {run.job_name}",
        fields={"ERP": meta.get("erp") or erp.kind, "Document": meta.get("document", ""),
                "ERP URL": meta.get("base_url", ""),
                "Partition": tags.get("dagster/partition", "") or _range(tags),
                "Launched by": next((f"{k.split('/')[-1]}: {tags[k]}" for k in LAUNCHED_BY
                                     if k in tags), "manual"),
                "Run": run.run_id},
        message=message or (context.failure_event.message or ""),
        link=alerts.run_link(run.run_id)))


def _failure_text(data) -> str:
    """A ``Failure``'s own description, else the error's message (class name and text)."""
    if data.user_failure_data and data.user_failure_data.description:
        return data.user_failure_data.description
    return data.error.message.strip() if data.error else "failed"


def _range(tags) -> str:
    start, end = (tags.get("dagster/asset_partition_range_start"),
                  tags.get("dagster/asset_partition_range_end"))
    return f"{start}…{end}" if start else ""


def make_check_failure_alerts(check_keys: Sequence[AssetCheckKey]):
    """A sensor alerting on every failed evaluation of the given asset checks."""
    keys = list(check_keys)

    @sensor(name="alert_on_check_failure", minimum_interval_seconds=30,
            default_status=DefaultSensorStatus.RUNNING,
            description="Alert (webhook / e-mail) when an asset check fails, with its metadata.")
    def alert_on_check_failure(context: SensorEvaluationContext, alerts: AlertResource):
        storage = context.instance.event_log_storage
        seen = json.loads(context.cursor) if context.cursor else None
        newest, sent = dict(seen or {}), 0
        for key in keys:
            name = key.to_user_string()
            records = storage.get_asset_check_execution_history(key, limit=50)
            if seen is None or not records:     # first tick: start from what exists now
                newest[name] = max([r.id for r in records], default=newest.get(name, 0))
                continue
            for record in sorted(records, key=lambda r: r.id):
                if record.id <= seen.get(name, 0):
                    continue
                newest[name] = record.id
                if record.status != AssetCheckExecutionRecordStatus.FAILED:
                    continue
                if not alerts.channels():
                    continue
                alerts.send(_check_alert(key, record, alerts))
                sent += 1
        return SensorResult(cursor=json.dumps(newest, sort_keys=True),
                            skip_reason=None if sent else SkipReason("no new failed check"))

    return alert_on_check_failure


def _check_alert(key: AssetCheckKey, record, alerts: AlertResource) -> Alert:
    evaluation = record.event.dagster_event.event_specific_data if record.event else None
    meta = {k: str(getattr(v, "value", v)) for k, v in
            (evaluation.metadata.items() if evaluation else [])}
    severity = evaluation.severity.value if evaluation else "ERROR"
    return Alert(
        kind="check_failure",
        title=f"Check failed: {key.name} on {key.asset_key.to_user_string()}",
        fields={"Severity": severity, "Partition": record.partition or "",
                "Run": record.run_id, **{k: v for k, v in list(meta.items())[:6]}},
        message=(evaluation.description or "") if evaluation else "",
        link=alerts.run_link(record.run_id))


@sensor(name="alert_on_old_dead_letters", minimum_interval_seconds=300,
        default_status=DefaultSensorStatus.RUNNING,
        description="Alert (webhook / e-mail) on dead letters open longer than "
                    "ALERT_DEAD_LETTER_AGE_MINUTES, naming the ERP, document and message.")
def alert_on_old_dead_letters(context: SensorEvaluationContext, alerts: AlertResource,
                              warehouse: WarehouseResource):
    before = datetime.now(timezone.utc) - timedelta(minutes=alerts.dead_letter_age_minutes)
    with warehouse.engine().connect() as conn:
        if context.cursor is None or not alerts.channels():
            return SensorResult(cursor=str(max_open_dead_letter_id(conn, before)),
                                skip_reason=SkipReason("starting from the dead letters open now"
                                                       if alerts.channels() else
                                                       "alerts not configured"))
        rows, total = open_dead_letters_before(conn, before, int(context.cursor))
    if not rows:
        return SkipReason(f"no dead letter open longer than {alerts.dead_letter_age_minutes} min")
    lines = [f"{r['erp']} {r['kind']} {r['external_id']} (from {r['source_id']}, "
             f"{r['source_day']}): {r['error_message']}" for r in rows]
    if total > len(rows):
        lines.append(f"… and {total - len(rows)} more")
    alerts.send(Alert(
        kind="dead_letters",
        title=f"{total} dead letter{'s' if total != 1 else ''} open longer than "
              f"{alerts.dead_letter_age_minutes} min",
        fields={"ERP": ", ".join(sorted({r["erp"] for r in rows})),
                "Documents": ", ".join(sorted({r["kind"] for r in rows}))},
        message="\n".join(lines),
        link="Replay: job erp_replay_dead_letters (Dagster UI, Jobs → Launchpad)"))
    return SensorResult(cursor=str(rows[-1]["id"]))
