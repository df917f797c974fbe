"""ERP side of the graph: Stripe activity posted to the configured ERP, exactly once.

One multi-asset step posts every document kind in order (customers, sales
orders, invoices, cash receipts, journals, inventory, bank deposits), since
later kinds reference earlier ones; each kind is its own asset with lineage
from the Stripe assets it is built from.  Partitions are the UTC days of the
balance transactions' ``created``, like the Stripe assets, so a backfilled
range of days posts the same range.  The link table makes re-runs free; what
the ERP refuses lands in ``erp_dead_letters`` with its exact message, and the
``erp_replay_dead_letters`` job (pipelines/ops.py) re-posts it once the cause is fixed.
"""
from collections.abc import Iterator  # no __future__ annotations: Dagster inspects them
from dataclasses import fields
from datetime import date, datetime, timedelta, timezone
from typing import Any

from dagster import (AssetExecutionContext, AssetKey, AssetSpec, Backoff, BackfillPolicy, Jitter,
                     MaterializeResult, MetadataValue, RetryPolicy, multi_asset)

from domain.erp import DocKind
from pipelines.partitions import stripe_daily

from .erp_checks import check_specs, dead_letter_checks
from posting.activity import stripe_fetcher
from posting.run import KindReport, PostingReport, post_window
from resources.erp import ErpResource
from resources.stripe import StripeResource
from resources.warehouse import WarehouseResource
from workbench.settings import workbench_url

from .stripe import stripe_key, window_bounds

GROUP = "erp"
OWNERS = ["team:finance-data"]

# asset name -> (document kind, description, Stripe assets it is built from)
ERP_ASSETS = {
    "customers": (DocKind.CUSTOMER, "ERP customers, one per Stripe customer (matched by Stripe "
                  "id, then e-mail).", ["customers", "charges"]),
    "sales_orders": (DocKind.SALES_ORDER, "ERP sales orders, one per Stripe payment, with items "
                     "from the SKU in the payment's metadata.", ["charges", "products", "prices"]),
    "invoices": (DocKind.INVOICE, "ERP AR invoices for Stripe payments.", ["charges", "invoices"]),
    "credit_memos": (DocKind.CREDIT_MEMO, "ERP AR credit memos for Stripe refunds, applied to "
                     "the charge's invoice, in its currency (the credit_memo mapping rule).",
                     ["refunds", "charges", "invoices"]),
    "customer_refunds": (DocKind.CUSTOMER_REFUND, "Money paid back to customers against their "
                         "credit memos (the credit_memo mapping rule).",
                         ["refunds", "balance_transactions"]),
    "cash_receipts": (DocKind.PAYMENT, "ERP cash receipts, one per succeeded charge, applied to "
                      "its invoice.", ["charges", "balance_transactions"]),
    "journal_entries": (DocKind.JOURNAL, "GL journals for Stripe fees, refunds, disputes, dispute "
                        "reversals and other balance movements (balanced, per currency).",
                        ["balance_transactions", "refunds", "disputes"]),
    "inventory_adjustments": (DocKind.INVENTORY, "Inventory moved for the stocked SKUs sold.",
                              ["charges", "products"]),
    "bank_deposits": (DocKind.DEPOSIT, "Bank deposits for Stripe payouts (Dr bank, Cr Stripe "
                      "clearing).", ["payouts", "balance_transactions"]),
}


def erp_key(name: str) -> AssetKey:
    return AssetKey([GROUP, name])


ERP_SPECS = [AssetSpec(erp_key(name), description=f"{desc} Dead letters, suggested fixes and "
                       f"replay: the exceptions workbench, {workbench_url()}",
                       group_name=GROUP, owners=OWNERS,
                       kinds={"erp", "sql"}, deps=[stripe_key(s) for s in sources],
                       metadata={"document_kind": kind.value}, skippable=True)
             for name, (kind, desc, sources) in ERP_ASSETS.items()]


@multi_asset(
    name="erp_posting",
    specs=ERP_SPECS,
    partitions_def=stripe_daily,
    backfill_policy=BackfillPolicy.single_run(),
    can_subset=False,
    retry_policy=RetryPolicy(max_retries=2, delay=10, backoff=Backoff.EXPONENTIAL,
                             jitter=Jitter.PLUS_MINUS),
    pool="erp_api",
    code_version="1",
    check_specs=check_specs([spec.key for spec in ERP_SPECS]),
)
def erp_posting(context: AssetExecutionContext, erp: ErpResource, stripe: StripeResource,
                warehouse: WarehouseResource) -> Iterator[MaterializeResult]:
    """Post the window's Stripe activity to the ERP."""
    window = context.partition_time_window
    gte, lt = window_bounds(window.start, window.end)
    with erp.connected() as adapter:
        report = post_window(adapter, warehouse.engine(), erp.mapping(), gte, lt,
                             fetch=stripe_fetcher(stripe.api()))
    totals = report.totals()
    context.log.info(f"{erp.kind}: {report.posted} documents in the ERP "
                     f"({totals.get('created', 0)} created), {report.dead} dead-lettered, "
                     f"{report.waiting} waiting for the ERP (picked up by erp_waiting_sensor), "
                     f"{report.erp_calls} ERP calls in {report.seconds:.1f}s")
    keys = context.partition_keys
    days = [date.fromisoformat(k) for k in keys]
    per_day = _figures_by_partition(report, days)
    for name, (kind, _, _) in ERP_ASSETS.items():
        for key, day in zip(keys, days):     # each partition's own documents and calls
            start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            context.add_asset_metadata({
                "erp": erp.kind, **_kind_metadata(per_day[day]["kinds"][kind]),
                "erp_calls_all_kinds": per_day[day]["calls"],
                "window_start": MetadataValue.timestamp(start),
                "window_end": MetadataValue.timestamp(start + timedelta(days=1))},
                asset_key=erp_key(name), partition_key=key)
        yield MaterializeResult(asset_key=erp_key(name), check_results=dead_letter_checks(
            warehouse.engine(), erp.kind, kind.value, erp_key(name), days[0], days[-1],
            erp.blocked_max_age()), metadata={
            "partitions_in_run": len(keys),
            **{f"run_{k}": v for k, v in _kind_metadata(report.kinds[kind]).items()},
            **truncation_metadata(report, kind),
            "run_erp_calls": report.erp_calls,
            "run_calls_per_document": round(report.erp_calls / max(1, report.posted), 3)})


def _kind_metadata(rep: KindReport) -> dict[str, int]:
    return {"documents": rep.documents, "created": rep.created, "found_in_erp": rep.found,
            "already_linked": rep.already_linked, "dead_lettered": rep.dead,
            "blocked": rep.blocked, "sent": rep.created + rep.found + rep.dead,
            "waiting_for_erp": rep.waiting, "too_long_for_erp": rep.too_long,
            "truncated": rep.truncated}


def _figures_by_partition(report: PostingReport, days: list[date]) -> dict[date, dict]:
    """The report's per-day counts on the run's partitions: a document whose Stripe source is
    older than the range (a customer created earlier) counts on the range's first day, one
    newer on its last; the partitions' figures sum to the run's."""
    out = {d: {"kinds": {k: KindReport() for k in DocKind}, "calls": 0} for d in days}

    def clamp(day: date | None) -> date:
        return days[0] if day is None or day < days[0] else min(day, days[-1])
    for day, kinds in report.by_day.items():
        for kind, rep in kinds.items():
            target = out[clamp(day)]["kinds"][kind]
            for f in fields(KindReport):
                setattr(target, f.name, getattr(target, f.name) + getattr(rep, f.name))
    for day, calls in report.calls_by_day.items():
        out[clamp(day)]["calls"] += calls
    return out


def truncation_metadata(report: PostingReport, kind: DocKind) -> dict[str, Any]:
    """The values this run cut to the ERP's field lengths (the mapping's field policies
    said truncate): how many documents, and a table of each cut."""
    cuts = [(ext, t) for k, ext, t in report.truncations if k == kind]
    out: dict[str, Any] = {"truncated": report.kinds[kind].truncated}
    if cuts:
        rows = "\n".join(f"| {ext} | {t.field} | {t.length} | {t.limit} |" for ext, t in cuts)
        out["truncations"] = MetadataValue.md(
            "| document | field | length | ERP limit |\n|---|---|---|---|\n" + rows)
    return out


erp_assets = [erp_posting]
