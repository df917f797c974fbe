"""Schedules.

``stripe_daily_resync`` re-mirrors yesterday's Stripe objects at 02:00 UTC, when
the day is complete: late changes to them (refunds, disputes, payout status)
land through the same idempotent upserts.
"""

from datetime import timedelta

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from .jobs import stripe_mirror_job


@schedule(cron_schedule="0 2 * * *", job=stripe_mirror_job, execution_timezone="UTC",
          default_status=DefaultScheduleStatus.STOPPED,
          description="Re-sync the previous UTC day of Stripe objects.")
def stripe_daily_resync(context: ScheduleEvaluationContext) -> RunRequest:
    day = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
    return RunRequest(run_key=f"stripe-resync-{day}", partition_key=day)


schedules = [stripe_daily_resync]
