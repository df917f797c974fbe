"""ops/anomalies: an anomaly score for each charge, refund and dispute of the day.

Rules a reviewer can read (card-testing velocity and declines, Radar risk score, amount
against the customer's history, fee ratio, refund speed and refund share, card country and
currency against the customer's, a SKU the catalogue lacks or whose price does not divide
the amount) plus an IsolationForest over the same features; see domain/anomalies.py.
Scored against 30 days of mirrored history; kept in the warehouse table anomaly_scores.
The check top_anomalies_reviewed warns with the top flagged objects and their reasons.
"""
from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext,
                     AssetKey, BackfillPolicy, MaterializeResult, MetadataValue, asset)

from domain.anomalies import FLAG_AT
from pipelines.partitions import stripe_daily
from resources.warehouse import WarehouseResource
from warehouse.anomalies import score_window, store_scores

from .stripe import stripe_key, window_bounds

KEY = AssetKey(["ops", "anomalies"])
CHECK = "top_anomalies_reviewed"
TOP = 10


def _table(scores) -> str:
    lines = ["| score | object | customer | amount (minor) | reasons |", "|---|---|---|---|---|"]
    lines += [f"| {s.score:.2f} | {s.object_type} {s.id} | {s.customer or ''} | "
              f"{s.amount} {s.currency.upper()} | {'; '.join(s.reasons)} |" for s in scores]
    return "\n".join(lines)


@asset(
    key=KEY,
    group_name="ops",
    owners=["team:finance-data"],
    kinds={"scikitlearn", "sql"},
    partitions_def=stripe_daily,
    backfill_policy=BackfillPolicy.single_run(),
    deps=[stripe_key("charges"), stripe_key("refunds"), stripe_key("disputes"),
          stripe_key("customers"), stripe_key("balance_transactions")],
    check_specs=[AssetCheckSpec(CHECK, asset=KEY, description="No charge, refund or dispute "
                                "of the partition scores at or above the review threshold.")],
    description=__doc__.split("\n\n")[0].strip(),
)
def anomalies(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    window = context.partition_time_window
    gte, lt = window_bounds(window.start, window.end)
    engine = warehouse.engine()
    scores = score_window(engine, gte or 0, lt)
    store_scores(engine, scores)
    flagged = [s for s in scores if s.flagged]
    by_type = {t: sum(1 for s in scores if s.object_type == t)
               for t in ("charge", "refund", "dispute")}
    return MaterializeResult(
        metadata={"scored": len(scores), **{f"{t}s": n for t, n in by_type.items()},
                  "flagged": len(flagged), "threshold": FLAG_AT,
                  "top": MetadataValue.md(_table(scores[:TOP]))},
        check_results=[AssetCheckResult(
            check_name=CHECK, passed=not flagged, severity=AssetCheckSeverity.WARN,
            metadata={"flagged": len(flagged),
                      "first": ", ".join(f"{s.object_type} {s.id}" for s in flagged[:TOP]),
                      "review": MetadataValue.md(_table(flagged[:TOP]) if flagged
                                                 else "nothing to review")})])


anomaly_assets = [anomalies]
