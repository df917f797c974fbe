"""revenue/subscription_metrics: MRR and its movements per UTC day and currency.

MRR, new, reactivation, expansion, contraction and churned MRR, active subscriptions and
active customers, as Stripe Billing analytics defines them (domain/revenue/metrics.py), at
the end of each day. Each daily partition carries its own figures as numeric metadata per
currency (``mrr_usd``, ``new_usd``, ``expansion_usd``, ``contraction_usd``, ``churned_usd``,
``reactivation_usd``, ``active_subscriptions_usd``, ``active_customers_usd``; amounts in
minor units), which the Dagster UI plots over the partitions, and a table. The history comes
from the landed subscription events and the mirror (warehouse/subscription_versions.py);
subscriptions whose MRR cannot be valued are named in ``unvalued_subscriptions``.
"""
from datetime import date, datetime, timedelta, timezone  # no __future__: Dagster hints

from dagster import (AssetExecutionContext, AssetKey, BackfillPolicy, MaterializeResult,
                     MetadataValue, asset)

from domain.revenue.metrics import DailyMetrics, daily_metrics
from pipelines.partitions import stripe_daily
from resources.warehouse import WarehouseResource
from warehouse.subscription_versions import subscription_versions

from .stripe import stripe_key

KEY = AssetKey(["revenue", "subscription_metrics"])
FIGURES = ("mrr", "new", "reactivation", "expansion", "contraction", "churned",
           "active_subscriptions", "active_customers")
LISTED = 20


def day_metadata(rows: list[DailyMetrics]) -> dict:
    """One day's metadata: every figure per currency (numeric, plotted) and a table."""
    meta: dict = {}
    table = ["| currency | " + " | ".join(FIGURES) + " |", "|---" * (len(FIGURES) + 1) + "|"]
    for m in sorted(rows, key=lambda r: r.currency):
        cur = m.currency.lower()
        for f in FIGURES:
            meta[f"{f}_{cur}"] = getattr(m, f)
        table.append(f"| {m.currency} | " + " | ".join(str(getattr(m, f)) for f in FIGURES)
                     + " |")
    meta["metrics"] = MetadataValue.md("\n".join(table))
    return meta


@asset(key=KEY, group_name="revenue", owners=["team:finance-data"], kinds={"sql"},
       description=__doc__.split("\n\n")[0].strip(),
       deps=[stripe_key("subscriptions"), stripe_key("events")],
       partitions_def=stripe_daily, backfill_policy=BackfillPolicy.single_run(),
       code_version="1")
def subscription_metrics(context: AssetExecutionContext,
                         warehouse: WarehouseResource) -> MaterializeResult:
    keys = context.partition_keys
    first, last = date.fromisoformat(keys[0]), date.fromisoformat(keys[-1])
    until = int(datetime(last.year, last.month, last.day, tzinfo=timezone.utc).timestamp()) \
        + 86400
    with warehouse.engine().connect() as conn:
        versions, problems = subscription_versions(conn, until)
    by_day: dict[date, list[DailyMetrics]] = {}
    for m in daily_metrics(versions, first, last):
        by_day.setdefault(m.day, []).append(m)
    unvalued = {"unvalued_subscriptions": len(problems)}
    if problems:
        unvalued["unvalued"] = MetadataValue.md("| subscription | why |\n|---|---|\n" + "\n".join(
            f"| {s} | {why.replace('|', '/')} |" for s, why in sorted(problems.items())[:LISTED]))
        context.log.warning(f"{len(problems)} subscriptions left out of MRR (cannot be "
                            f"valued); first: {min(problems)}: {problems[min(problems)]}")
    for key in keys:
        day = date.fromisoformat(key)
        start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        context.add_asset_metadata({
            **day_metadata(by_day.get(day, [])), **unvalued,
            "window_start": MetadataValue.timestamp(start),
            "window_end": MetadataValue.timestamp(start + timedelta(days=1))},
            partition_key=key)
    return MaterializeResult(metadata={"partitions_in_run": len(keys),
                                       "subscription_states": len(versions)})


subscription_metric_assets = [subscription_metrics]
