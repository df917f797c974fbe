"""Stripe side of the graph: one asset per Stripe object type, mirrored in the warehouse.

All ten are produced by one multi-asset step so that every object type is
extracted concurrently under one request budget (the account's rate limit is
shared), while each stays its own asset with its own history and metadata.
Any subset can be materialized.  Partitions are UTC days of ``created``; a
range picked in the UI runs as a single run (``BackfillPolicy.single_run``)
over the whole window.  Rows are upserted (see ``warehouse/mirror.py``), so
re-running a range changes nothing and never duplicates.
"""

from collections.abc import Iterator  # no __future__ annotations: Dagster inspects them
from datetime import date, datetime, timedelta, timezone

from dagster import (AssetExecutionContext, AssetKey, AssetSpec, Backoff, BackfillPolicy, Jitter,
                     MaterializeResult, MetadataValue, RetryPolicy, TableColumn, TableSchema,
                     multi_asset)

from pipelines.partitions import stripe_daily
from resources.stripe import StripeResource
from resources.warehouse import WarehouseResource
from warehouse.schema import MIRROR_TABLES
from warehouse.stripe_sync import NESTED_TABLES, TABLES, stream_window

GROUP = "stripe"
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
OWNERS = ["team:finance-data"]

DESCRIPTIONS = {
    "customers": "Stripe customers (email, name, currency, balance).",
    "products": "Stripe products: the catalog ERP items map from.",
    "prices": "Stripe prices (unit amount, currency, recurring interval) per product.",
    "charges": "Stripe charges: amounts captured and refunded, customer, payment intent, "
               "balance transaction.",
    "refunds": "Stripe refunds, full and partial, with their charge and balance transaction.",
    "disputes": "Stripe disputes with status (open, won, lost) and reason.",
    "payouts": "Stripe payouts to the bank: amount, arrival date, status, reconciliation status.",
    "balance_transactions": "Every movement of the Stripe balance: amount, fee, net, type, "
                            "reporting category, exchange rate. The ledger reconciliation uses.",
    "subscriptions": "Stripe subscriptions with their items (price, quantity, service period).",
    "invoices": "Stripe invoices with every line (amount, price, service period).",
}


def stripe_key(name: str) -> AssetKey:
    return AssetKey([GROUP, name])


def _column_schema(table_name: str) -> TableSchema:
    table = MIRROR_TABLES[table_name]
    return TableSchema(columns=[TableColumn(c.name, str(c.type).lower().split("(")[0])
                                for c in table.columns])


def _spec(name: str) -> AssetSpec:
    table = TABLES[name]
    metadata = {"dagster/table_name": table, "dagster/column_schema": _column_schema(table)}
    if name in NESTED_TABLES:
        metadata["nested_table"] = NESTED_TABLES[name]
    return AssetSpec(stripe_key(name), description=DESCRIPTIONS[name], group_name=GROUP,
                     kinds={"stripe", "sql"}, owners=OWNERS, metadata=metadata,
                     tags={"domain": "stripe"}, skippable=True)


STRIPE_OBJECTS = list(DESCRIPTIONS)
STRIPE_SPECS = [_spec(n) for n in STRIPE_OBJECTS]


def epoch_day(partition_key: str) -> int:
    """A daily partition key's UTC day as days since the epoch."""
    return date.fromisoformat(partition_key).toordinal() - EPOCH_ORDINAL


def window_bounds(start: datetime, end: datetime) -> tuple[int | None, int]:
    """``created`` bounds of a partition window; the first partition is open below."""
    first = stripe_daily.start
    gte = None if start <= first else int(start.timestamp())
    return gte, int(end.timestamp())


@multi_asset(
    name="stripe_mirror",
    specs=STRIPE_SPECS,
    partitions_def=stripe_daily,
    backfill_policy=BackfillPolicy.single_run(),
    can_subset=True,
    retry_policy=RetryPolicy(max_retries=2, delay=10, backoff=Backoff.EXPONENTIAL,
                             jitter=Jitter.PLUS_MINUS),
    pool="stripe_api",
    code_version="1",
)
def stripe_mirror(context: AssetExecutionContext, stripe: StripeResource,
                  warehouse: WarehouseResource) -> Iterator[MaterializeResult]:
    """Mirror the selected Stripe object types for the partition window."""
    selected = [n for n in STRIPE_OBJECTS if stripe_key(n) in context.selected_asset_keys]
    window = context.partition_time_window
    gte, lt = window_bounds(window.start, window.end)
    context.log.info(f"Stripe {', '.join(selected)} created in [{gte or '-inf'}, {lt}) "
                     f"-> {warehouse.display_url}")
    keys = context.partition_keys
    days = [epoch_day(k) for k in keys]
    # each object type is reported as soon as its rows are committed, while the others are
    # still being listed: the run's materialization events are written during extraction
    for name, report in stream_window(stripe.api(), warehouse.engine(), selected, gte, lt,
                                      workers=stripe.extract_workers,
                                      split_min_objects=stripe.split_min_objects):
        if name is None:
            context.log.info(f"{report.extract.objects} objects, {report.api_requests} API "
                             f"requests ({report.api_retried} retried) in {report.seconds:.1f}s")
            continue
        # each partition's own figures (a range run's days each get theirs, not the total)
        for key, day_meta in zip(keys, report.for_target_days(name, days).values()):
            start = datetime.fromisoformat(key).replace(tzinfo=timezone.utc)
            context.add_asset_metadata({
                **day_meta, "window_start": MetadataValue.timestamp(start),
                "window_end": MetadataValue.timestamp(start + timedelta(days=1))},
                asset_key=stripe_key(name), partition_key=key)
        yield MaterializeResult(
            asset_key=stripe_key(name),
            metadata={"partitions_in_run": len(keys),
                      **{f"run_{k}": v for k, v in report.for_target(name).items()},
                      "run_seconds": round(report.target_seconds[name], 3)})


CREDIT_NOTES = stripe_key("credit_notes")

# Not mirrored: revenue/schedules reads every credit note from GET /v1/credit_notes at each run.
# An external asset so that the lineage shows the input, and the event sync records a
# materialization of it when it applied credit_note.* events (pipelines/changes.py), which the
# schedules' automation condition sees like an update of the mirrored invoices.
credit_notes_spec = AssetSpec(
    CREDIT_NOTES, group_name=GROUP, kinds={"stripe"}, owners=OWNERS, tags={"domain": "stripe"},
    description="Stripe credit notes with their lines (not mirrored: read from the Stripe API "
                "by revenue/schedules). A materialization records that webhook events changed "
                "credit notes; its metadata names them.")

stripe_assets = [stripe_mirror, credit_notes_spec]
