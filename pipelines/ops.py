"""Op jobs that are not asset materializations: event-driven sync and dead-letter replay.

``stripe_event_sync``: launched by the ``stripe_events_sensor`` (sensors/) or the receiver's
nudge with the landed event range in its tags; applies every pending event (that range and
any landed since, so a burst waiting behind the erp_api pool becomes one run) to the Stripe
mirror, then posts the affected balance transactions to the ERP through the same posting
code as the backfills.  Each event stands on its own: one
whose object Stripe will not return is retried later (bounded, warehouse/event_retry.py)
and finally marked ``failed``; the run succeeds with the others applied and posted.

``stripe_event_replay``: retries the failed events (all, or those named in its config).

``erp_replay_dead_letters``: re-posts the days holding open dead letters.

``erp_resume_waiting``: re-posts the days holding documents that wait for the ERP (an M3
invoice before M3's invoicing job ran); launched by ``erp_waiting_sensor``.
"""
# no __future__ annotations here: Dagster inspects the type hints
from collections.abc import Callable

import sqlalchemy as sa
from dagster import Config, Failure, OpExecutionContext, in_process_executor, job, op
from pydantic import Field

from assets.events import failed_events_evaluation
from assets.subscriptions import changed_subscriptions, log_subscription_failures
from pipelines.changes import changed_assets
from posting.activity import stripe_fetcher
from posting.run import post_balance_transactions, replay_dead_letters, resume_waiting
from posting.subscriptions import sync_subscriptions
from resources.erp import ErpResource
from resources.stripe import StripeResource
from resources.warehouse import WarehouseResource
from warehouse.event_retry import (EventFailure, failed_events, record_failures,
                                   record_replay_failures, unknown_ids)
from warehouse.event_sync import EventApplier, EventSyncResult
from warehouse.events import TAKING_TAG, mark, pending_events


LOGGED_FAILURES = 20   # events not applied that a run names in its log


class EventRange(Config):
    up_to: int = Field(description="The end of the landed range that launched the run. The run "
                                   "applies every event pending and due when it begins, this "
                                   "range and any landed since, so runs queued behind the "
                                   "erp_api pool never pile up one per range.")


def _apply_and_post(context: OpExecutionContext, events: list[dict], stripe: StripeResource,
                    warehouse: WarehouseResource, erp: ErpResource,
                    record: Callable[[sa.Connection, dict[int, EventFailure]], object]
                    ) -> tuple[EventSyncResult, dict[str, int]]:
    """Apply events to the mirror, record the failed ones (``record``), post the rest.

    ``record`` returns the outcome of each failure (None for a replay, which always reports
    the check ``no_failed_events``; a sync run reports it when it marked events failed).
    """
    engine = warehouse.engine()
    result = EventApplier(stripe.api(), engine).apply(events)
    with engine.begin() as conn:   # before posting: an attempt counts even if posting fails
        outcome = record(conn, result.failures)
    # the check is reported when the failed events change (not on every run: one alert each)
    report_check = outcome is None or bool(outcome["failed"])
    by_seq = {e["seq"]: e for e in events}
    for seq, failure in sorted(result.failures.items())[:LOGGED_FAILURES]:
        event = by_seq[seq]
        context.log.warning(f"event {event['id']} ({event['type']}, {event['object_id']}) not "
                            f"applied{' (transient)' if failure.transient else ''}: "
                            f"{failure.message}")
    if len(result.failures) > LOGGED_FAILURES:
        context.log.warning(f"... and {len(result.failures) - LOGGED_FAILURES} more events not "
                            f"applied (stripe_events.error holds each message)")
    posted = dead = waiting = 0
    report = subs = None
    applied = set(result.applied)
    sub_ids = {e["object_id"] for e in events if e["seq"] in applied
               and e["type"].startswith("customer.subscription.")}
    if erp.kind and (result.balance_transactions or sub_ids):
        adapter = erp.adapter()
        try:
            if result.balance_transactions:
                report = post_balance_transactions(adapter, engine, erp.mapping(),
                                                   result.balance_transactions,
                                                   fetch=stripe_fetcher(stripe.api()))
                posted, dead, waiting = report.posted, report.dead, report.waiting
            if sub_ids:   # after the postings: a paying customer is in the ERP by now
                subs = sync_subscriptions(adapter, engine, erp.mapping(),
                                          subscription_ids=sub_ids,
                                          fetch=stripe_fetcher(stripe.api()))
                log_subscription_failures(context.log, subs)
        finally:
            adapter.close()
    with engine.begin() as conn:
        mark(conn, result.applied, "applied", context.run_id)
        mark(conn, result.ignored, "ignored", context.run_id)
    if report_check:
        context.log_event(failed_events_evaluation(engine))
    launched_by = context.run.tags.get("stripe/launched_by", "manual")
    source = f"{context.job_name} ({launched_by})"
    for materialization in changed_assets(result, report, erp.kind, source):
        context.log_event(materialization)
    for materialization in changed_subscriptions(subs, source):
        context.log_event(materialization)
    return result, {"erp_documents_posted": posted, "erp_dead_lettered": dead,
                    "erp_waiting_for_erp": waiting,
                    "erp_subscriptions_written": subs.written if subs else 0,
                    "erp_subscriptions_failed": len(subs.failures) if subs else 0,
                    **{f"events_{k}": len(v) for k, v in (outcome or {}).items()}}


# pool erp_api (limit 1): never two postings at once, whether event runs or backfills, so
# two runs cannot both find a document missing and both create it.
@op(description="Apply landed Stripe events to the mirror, then post them to the ERP.",
    pool="erp_api")
def apply_stripe_events(context: OpExecutionContext, config: EventRange, stripe: StripeResource,
                        warehouse: WarehouseResource, erp: ErpResource) -> None:
    engine = warehouse.engine()
    # from here on the sensor and the nudge may launch a run for what lands after this read
    context.instance.add_run_tags(context.run_id, {TAKING_TAG: "true"})
    with engine.connect() as conn:
        events = pending_events(conn)
    if not events:
        context.log.info(f"no pending events due (launched for the range up to seq "
                         f"{config.up_to}: an earlier run applied them)")
        return
    policy = stripe.event_retry_policy()
    result, counts = _apply_and_post(
        context, events, stripe, warehouse, erp,
        lambda conn, failures: record_failures(conn, failures, policy, context.run_id))
    context.add_output_metadata({
        "events": len(events), "events_applied": len(result.applied),
        "events_ignored": len(result.ignored),
        "first_seq": events[0]["seq"], "last_seq": events[-1]["seq"],
        "rows_written": sum(c.written for c in result.counts.values()),
        "stripe_list_requests": result.fetched_by_list,
        "stripe_get_requests": result.fetched_by_id, **counts})


# In-process executor: one step, no per-step subprocess (about 2.5 s saved per run).
@job(description="Apply webhook-landed Stripe events and post them to the ERP (sensor-launched).",
     tags={"team": "finance-data"}, executor_def=in_process_executor)
def stripe_event_sync() -> None:
    apply_stripe_events()


class EventReplay(Config):
    event_ids: list[str] = Field(default_factory=list,
                                 description="Failed events to retry (evt_...); empty: all.")


@op(description="Retry failed Stripe events: re-fetch their objects, apply, post to the ERP.",
    pool="erp_api")
def replay_stripe_events(context: OpExecutionContext, config: EventReplay,
                         stripe: StripeResource, warehouse: WarehouseResource,
                         erp: ErpResource) -> None:
    engine = warehouse.engine()
    with engine.connect() as conn:
        events = failed_events(conn, config.event_ids)
    missing = unknown_ids(events, config.event_ids)
    if missing:
        raise Failure(f"not failed events (unknown, or already applied): {', '.join(missing)}")
    if not events:
        context.log.info("no failed events to replay")
        context.log_event(failed_events_evaluation(engine))
        return

    def record(conn: sa.Connection, failures: dict[int, EventFailure]) -> None:
        record_replay_failures(conn, failures, context.run_id)
    result, counts = _apply_and_post(context, events, stripe, warehouse, erp, record)
    context.add_output_metadata({"events_replayed": len(events),
                                 "events_applied": len(result.applied),
                                 "events_still_failed": len(result.failures), **counts})


@job(description="Retry failed Stripe events (after the object became readable, or to see "
                 "Stripe's current answer); config event_ids picks some, empty means all.",
     tags={"team": "finance-data"}, executor_def=in_process_executor)
def stripe_event_replay() -> None:
    replay_stripe_events()


@op(description="Re-post every open dead letter's day with the current mapping and ERP state.",
    pool="erp_api")
def replay_erp_dead_letters(context: OpExecutionContext, erp: ErpResource,
                            stripe: StripeResource, warehouse: WarehouseResource) -> None:
    adapter = erp.adapter()
    try:
        report = replay_dead_letters(adapter, warehouse.engine(), erp.mapping(),
                                     fetch=stripe_fetcher(stripe.api()))
    finally:
        adapter.close()
    context.add_output_metadata({"posted": report.posted, "still_dead": report.dead,
                                 "erp_calls": report.erp_calls})


@job(description="Replay the ERP dead letters (after fixing the mapping or the ERP data).")
def erp_replay_dead_letters() -> None:
    replay_erp_dead_letters()


@op(description="Post the documents that waited for the ERP (an M3 invoice not yet produced "
                "by M3's invoicing job) now that it may have them.", pool="erp_api")
def resume_erp_waiting(context: OpExecutionContext, erp: ErpResource, stripe: StripeResource,
                       warehouse: WarehouseResource) -> None:
    adapter = erp.adapter()
    try:
        report = resume_waiting(adapter, warehouse.engine(), erp.mapping(),
                                fetch=stripe_fetcher(stripe.api()))
    finally:
        adapter.close()
    context.log.info(f"{report.posted} documents linked, {report.waiting} still wait for the "
                     f"ERP, {report.dead} dead-lettered")
    context.add_output_metadata({"posted": report.posted, "still_waiting": report.waiting,
                                 "dead_lettered": report.dead, "erp_calls": report.erp_calls})


@job(description="Post what waited for the ERP (M3 invoices); launched by erp_waiting_sensor.")
def erp_resume_waiting() -> None:
    resume_erp_waiting()


op_jobs = [stripe_event_sync, stripe_event_replay, erp_replay_dead_letters,
           erp_resume_waiting]
