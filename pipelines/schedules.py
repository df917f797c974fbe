"""Schedules.

``stripe_events_catchup_every_15_minutes`` lands the events webhooks missed.
``stripe_daily_resync`` re-mirrors yesterday's Stripe objects at 02:00 UTC, when
the day is complete: late changes to them (refunds, disputes, payout status)
land through the same idempotent upserts.
``month_end_close_monthly`` closes the previous month on the 3rd at 07:00 in the
reporting timezone (CLOSE_TIMEZONE), once the month's last days are re-synced, posted and
replayed; stopped by default: turn it on when the ERP is live (README, Month-end close).
"""

from datetime import timedelta

from dagster import (AssetSelection, DefaultScheduleStatus, RunRequest, ScheduleDefinition,
                     ScheduleEvaluationContext, define_asset_job, schedule)

from .jobs import month_end_close_job, reconciliation_job, revenue_month_job, stripe_mirror_job
from .partitions import CLOSE_TIMEZONE


@schedule(cron_schedule="0 2 * * *", job=stripe_mirror_job, execution_timezone="UTC",
          default_status=DefaultScheduleStatus.STOPPED,
          description="Re-sync the previous UTC day of Stripe objects.")
def stripe_daily_resync(context: ScheduleEvaluationContext) -> RunRequest:
    day = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
    return RunRequest(run_key=f"stripe-resync-{day}", partition_key=day)


stripe_events_catchup_job = define_asset_job(
    "stripe_events_catchup", selection=AssetSelection.assets(["stripe", "events"]),
    description="Land Stripe events the webhooks missed (from Stripe's 30-day event list).")

stripe_events_catchup_schedule = ScheduleDefinition(
    name="stripe_events_catchup_every_15_minutes", job=stripe_events_catchup_job,
    cron_schedule="*/15 * * * *", execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING)

@schedule(cron_schedule="0 6 * * *", job=reconciliation_job, execution_timezone="UTC",
          default_status=DefaultScheduleStatus.RUNNING,
          description="Reconcile the payouts that arrived yesterday (UTC).")
def payout_reconciliation_daily(context: ScheduleEvaluationContext) -> RunRequest:
    day = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
    return RunRequest(run_key=f"payout-reconciliation-{day}", partition_key=day)




@schedule(cron_schedule="0 7 3 * *", job=month_end_close_job, execution_timezone=CLOSE_TIMEZONE,
          default_status=DefaultScheduleStatus.STOPPED,
          description="Close the previous month (reporting timezone) on the 3rd at 07:00.")
def month_end_close_monthly(context: ScheduleEvaluationContext) -> RunRequest:
    first = context.scheduled_execution_time.replace(day=1)
    month = (first - timedelta(days=1)).strftime("%Y-%m-01")
    return RunRequest(run_key=f"month-end-close-{month}", partition_key=month)


@schedule(cron_schedule="0 6 3 * *", job=revenue_month_job, execution_timezone="UTC",
          default_status=DefaultScheduleStatus.STOPPED,
          description="Post the previous UTC month's revenue journal on the 3rd at 06:00, once "
                      "the daily re-sync has mirrored the month's last invoices and credits.")
def revenue_recognition_monthly(context: ScheduleEvaluationContext) -> RunRequest:
    first = context.scheduled_execution_time.replace(day=1)
    month = (first - timedelta(days=1)).strftime("%Y-%m-01")
    return RunRequest(run_key=f"revenue-month-{month}", partition_key=month)


schedules = [stripe_daily_resync, stripe_events_catchup_schedule, payout_reconciliation_daily,
             month_end_close_monthly, revenue_recognition_monthly]
