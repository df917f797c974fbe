"""erp/subscriptions: each customer's Stripe subscription on its ERP customer record.

Status, plan (the ERP item of the price's product), quantity, renewal date and MRR, in the
field or object each ERP offers (README "Subscriptions in the ERP"). Partitions are the UTC
days of the subscriptions' ``created``, like the Stripe assets: a backfilled range writes
the current summary of the customers of the subscriptions created in it. Webhook-driven
runs (``stripe_event_sync``) write the customers named by ``customer.subscription.*``
events through the same code (posting/subscriptions.py) and record a materialization of the
days they changed. A summary equal to what the ERP holds is not written again.

The check ``subscriptions_written`` fails (ERROR, not blocking) when a customer's summary
could not be built or the ERP refused it, naming the customer and the reason.
"""
from collections.abc import Iterable  # no __future__ annotations: Dagster inspects them
from datetime import date, datetime, timedelta, timezone
from typing import Any

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec,
                     AssetExecutionContext, AssetKey, AssetMaterialization, BackfillPolicy,
                     MaterializeResult, MetadataValue, asset)

from pipelines.partitions import stripe_daily
from posting.activity import stripe_fetcher
from posting.subscriptions import SubscriptionReport, sync_subscriptions
from resources.erp import ErpResource
from resources.stripe import StripeResource
from resources.warehouse import WarehouseResource

from .stripe import stripe_key, window_bounds

KEY = AssetKey(["erp", "subscriptions"])
LISTED = 20          # failures named in metadata and logs


def _failures_md(report: SubscriptionReport) -> str:
    rows = ["| ERP customer | why not written |", "|---|---|"]
    rows += [f"| {c} | {m.replace('|', '/')} |"
             for c, m in sorted(report.failures.items())[:LISTED]]
    return "\n".join(rows)


def log_subscription_failures(log: Any, report: SubscriptionReport) -> None:
    for customer, message in sorted(report.failures.items())[:LISTED]:
        log.warning(f"subscription of customer {customer} not written to {report.erp}: "
                    f"{message}")


def _check(report: SubscriptionReport) -> AssetCheckResult:
    failed = len(report.failures)
    return AssetCheckResult(
        check_name="subscriptions_written", passed=not failed,
        severity=AssetCheckSeverity.ERROR,
        metadata={"failed": failed, "failures": MetadataValue.md(_failures_md(report))},
        description=None if not failed else
        f"{failed} customers' subscriptions not written to {report.erp}; first: "
        f"{min(report.failures)}: {report.failures[min(report.failures)]}")


@asset(key=KEY, group_name="erp", owners=["team:finance-data"], kinds={"erp", "sql"},
       description=__doc__.split("\n\n")[0].strip(),
       deps=[stripe_key("subscriptions"), stripe_key("customers"), stripe_key("products"),
             AssetKey(["erp", "customers"])],
       partitions_def=stripe_daily, backfill_policy=BackfillPolicy.single_run(),
       pool="erp_api", code_version="1",
       check_specs=[AssetCheckSpec("subscriptions_written", asset=KEY,
                                   description="Every customer's subscription summary was "
                                               "written to the ERP (or already held).")])
def erp_subscriptions(context: AssetExecutionContext, erp: ErpResource, stripe: StripeResource,
                      warehouse: WarehouseResource) -> MaterializeResult:
    window = context.partition_time_window
    gte, lt = window_bounds(window.start, window.end)
    with erp.connected() as adapter:
        report = sync_subscriptions(adapter, warehouse.engine(), erp.mapping(), gte=gte, lt=lt,
                                    fetch=stripe_fetcher(stripe.api()))
    context.log.info(f"{erp.kind}: {report.customers} customers, {report.written} "
                     f"subscriptions written, {report.unchanged} unchanged, "
                     f"{len(report.failures)} failed, {report.erp_calls} ERP calls")
    log_subscription_failures(context.log, report)
    keys = context.partition_keys
    days = [date.fromisoformat(k) for k in keys]
    for key, day in zip(keys, days):
        counts = report.by_day.get(day, {})
        start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        context.add_asset_metadata({
            "erp": erp.kind, "written": counts.get("written", 0),
            "unchanged": counts.get("unchanged", 0), "failed": counts.get("failed", 0),
            "window_start": MetadataValue.timestamp(start),
            "window_end": MetadataValue.timestamp(start + timedelta(days=1))},
            partition_key=key)
    return MaterializeResult(metadata={
        "partitions_in_run": len(keys), "run_customers": report.customers,
        "run_written": report.written, "run_unchanged": report.unchanged,
        "run_failed": len(report.failures), "run_customers_posted": report.customers_posted,
        "run_erp_calls": report.erp_calls}, check_results=[_check(report)])


def changed_subscriptions(report: SubscriptionReport | None, source: str
                          ) -> Iterable[AssetMaterialization]:
    """For an event-driven run: one materialization per day whose summaries it wrote or
    failed to write (days outside the partitions are left out)."""
    if report is None:
        return
    keys = set(stripe_daily.get_partition_keys())
    for day, counts in sorted(report.by_day.items()):
        if day.isoformat() not in keys or not (counts["written"] or counts["failed"]):
            continue
        yield AssetMaterialization(asset_key=KEY, partition=day.isoformat(), metadata={
            "erp": report.erp, "changed_by": source, "written": counts["written"],
            "failed": counts["failed"], "unchanged": counts["unchanged"]})


subscription_assets = [erp_subscriptions]
