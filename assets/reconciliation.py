"""reconciliation/payouts: every payout matched to its balance transactions and the ERP.

Partitioned by the payout's **arrival date** (UTC day), single-run backfills like
the Stripe assets.  For the window it mirrors the payouts arriving then and the
balance transactions each automatic payout settled, reads the ERP's receipts,
journals and deposits for them through the ERP's API, and writes one row per
payout to ``reconciliation_payouts`` (matched | variance | pending | failed,
expected, found, variance) and the items behind each variance to
``reconciliation_items``; unmatched items are exported as CSV.

Checks (blocking: a wrong number must not flow on):

* ``payout_nets_sum_to_payout``: the nets of each paid payout's balance
  transactions equal the payout amount (Stripe's own arithmetic);
* ``clearing_nets_to_zero``: per reconciled payout, what the ERP booked through
  Stripe clearing equals what Stripe settled, deposit included (variance 0);
* ``every_charge_has_a_receipt``: no charge in a paid payout lacks its ERP receipt
  (or has it twice);
* ``no_erp_document_without_source``: every document the product posted for the
  window has its Stripe source in the mirror.
"""
from datetime import datetime, timezone  # no __future__ annotations: Dagster inspects hints
from pathlib import Path

import sqlalchemy as sa
from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext,
                     AssetKey, BackfillPolicy, MaterializeResult, MetadataValue, asset)

from domain.money import format_minor
from domain.reconciliation import FAILED, MATCHED, PENDING, VARIANCE
from pipelines.partitions import stripe_daily
from posting.activity import stripe_fetcher
from posting.reconcile import export_unmatched, reconcile_payouts
from posting.run import post_balance_transactions
from resources.erp import ErpResource
from resources.stripe import StripeResource
from resources.warehouse import WarehouseResource
from warehouse.db import data_dir
from warehouse.payout_sync import sync_payouts
from warehouse.schema import (erp_links, stripe_balance_transactions, stripe_charges,
                              stripe_customers, stripe_payouts)

from .stripe import window_bounds

KEY = AssetKey(["reconciliation", "payouts"])
CHECKS = ["payout_nets_sum_to_payout", "clearing_nets_to_zero", "every_charge_has_a_receipt",
          "no_erp_document_without_source"]


def _markdown(results, arrival: dict) -> str:
    """Per arrival date and currency, amounts in the currency (exact, no rounding)."""
    groups: dict = {}
    for r in results:
        d = groups.setdefault((arrival.get(r.payout), r.currency), {
            "payouts": 0, MATCHED: 0, VARIANCE: 0, PENDING: 0, FAILED: 0, "amount": 0,
            "variance_minor": 0, "waiting": 0})
        d["payouts"] += 1
        d[r.status] += 1
        d["amount"] += r.amount
        d["variance_minor"] += r.variance     # not d[VARIANCE], the count of such payouts
        d["waiting"] += sum(1 for i in r.items if i.kind == "source")
    lines = ["| arrival date | currency | payouts | paid out | matched | variance | pending | "
             "failed | variance (found − expected) |", "|---|---|---|---:|---|---|---|---|---:|"]
    for (day, cur), d in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        pending = f"{d[PENDING]}" + (f" ({d['waiting']} sources not posted)" if d["waiting"]
                                     else "")
        lines.append(f"| {day} | {cur} | {d['payouts']} | {format_minor(d['amount'], cur)} | "
                     f"{d[MATCHED]} | {d[VARIANCE]} | {pending} | {d[FAILED]} | "
                     f"{format_minor(d['variance_minor'], cur)} |")
    off = [r for r in results if r.items and r.status != PENDING][:10]
    if off:
        lines += ["", "First payouts off:", ""]
        lines += [f"* {r.payout} ({r.status}): {format_minor(r.variance, r.currency)}; "
                  + "; ".join(f"{i.kind} {i.balance_transaction} {i.problem}" for i in r.items[:3])
                  for r in off]
    return "\n".join(lines)


def _per_currency(results) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        out[r.currency] = out.get(r.currency, 0) + r.variance
    return out


@asset(
    key=KEY,
    group_name="reconciliation",
    owners=["team:finance-data"],
    kinds={"stripe", "erp", "sql"},
    partitions_def=stripe_daily,
    backfill_policy=BackfillPolicy.single_run(),
    deps=[AssetKey(["stripe", "payouts"]), AssetKey(["stripe", "balance_transactions"]),
          AssetKey(["erp", "cash_receipts"]), AssetKey(["erp", "journal_entries"]),
          AssetKey(["erp", "bank_deposits"])],
    # partitioned checks: a single day's result shows on that day's partition in the UI
    check_specs=[AssetCheckSpec(name, asset=KEY, blocking=True, partitions_def=stripe_daily)
                 for name in CHECKS],
    pool="erp_api",
    description=__doc__.split("\n\n")[0].strip(),
)
def reconciliation_payouts(context: AssetExecutionContext, stripe: StripeResource,
                           erp: ErpResource, warehouse: WarehouseResource) -> MaterializeResult:
    window = context.partition_time_window
    gte, lt = window_bounds(window.start, window.end)
    gte = gte if gte is not None else 0
    engine = warehouse.engine()
    payouts = sync_payouts(stripe.api(), engine, gte, lt)
    mapping, api = erp.mapping(), stripe.api()
    with erp.connected() as adapter:
        def post_sources(ids: set[str]) -> None:    # settled by these payouts, never posted
            report = post_balance_transactions(adapter, engine, mapping, ids,
                                               fetch=stripe_fetcher(api))
            context.log.info(f"posted {report.posted} documents for {len(ids)} balance "
                             f"transactions of earlier days the payouts settled "
                             f"({report.dead} dead-lettered)")
        results = reconcile_payouts(adapter, engine, mapping, payouts, post_sources)
    arrival = {p["id"]: datetime.fromtimestamp(p["arrival_date"], tz=timezone.utc).date()
               for p in payouts}
    days = sorted(set(arrival.values()))
    report = data_dir() / "reports" / f"unmatched-{erp.kind}-{days[0] if days else 'none'}" \
        f"-{days[-1] if days else 'none'}.csv"
    unmatched = export_unmatched(engine, erp.kind, Path(report), days)
    counts = {s: sum(1 for r in results if r.status == s) for s in (MATCHED, VARIANCE, PENDING, FAILED)}
    variance = _per_currency(results)
    waiting = sorted({i.balance_transaction for r in results for i in r.items
                      if i.kind == "source"})

    reconciled = [r for r in results if r.status in (MATCHED, VARIANCE)]
    nets_off = [r.payout for r in reconciled if any(i.kind == "stripe_net" for i in r.items)]
    clearing_off = [r.payout for r in results if r.variance != 0]
    receipts_off = sorted({r.payout for r in reconciled for i in r.items if i.kind == "receipt"})
    orphans = _orphans(engine, erp.kind, gte, lt)
    checks = [
        AssetCheckResult(check_name="payout_nets_sum_to_payout", passed=not nets_off,
                         severity=AssetCheckSeverity.ERROR,
                         metadata={"payouts": len(reconciled), "off": len(nets_off),
                                   "first_off": ", ".join(nets_off[:5])}),
        AssetCheckResult(check_name="clearing_nets_to_zero", passed=not clearing_off,
                         severity=AssetCheckSeverity.ERROR,
                         metadata={"payouts_with_variance": len(clearing_off),
                                   **{f"variance_{c.lower()}": format_minor(v, c)
                                      for c, v in variance.items() if v},
                                   "first_off": ", ".join(clearing_off[:5])}),
        AssetCheckResult(check_name="every_charge_has_a_receipt", passed=not receipts_off,
                         severity=AssetCheckSeverity.ERROR,
                         metadata={"payouts_affected": len(receipts_off),
                                   "first_off": ", ".join(receipts_off[:5])}),
        AssetCheckResult(check_name="no_erp_document_without_source", passed=not orphans,
                         severity=AssetCheckSeverity.ERROR,
                         metadata={"orphans": len(orphans), "first": ", ".join(orphans[:5])}),
    ]
    # the asset's Partitions tab shows a day's materialization, not its checks: say it there too
    failed_checks = [c.check_name for c in checks if not c.passed]
    return MaterializeResult(
        metadata={"checks_failed": len(failed_checks),
                  "check_results": "; ".join(f"{c.check_name}: {'passed' if c.passed else 'FAILED'}"
                                             for c in checks),
                  "erp": erp.kind, "payouts": len(results), "matched": counts[MATCHED],
                  "variance": counts[VARIANCE], "pending": counts[PENDING],
                  "failed": counts[FAILED],
                  **{f"variance_{c.lower()}_minor": v for c, v in variance.items()},
                  **{f"variance_{c.lower()}": format_minor(v, c) for c, v in variance.items()},
                  "sources_not_posted": len(waiting),
                  "first_sources_not_posted": ", ".join(waiting[:10]),
                  "unmatched_items": unmatched,
                  "unmatched_csv": MetadataValue.path(str(report)),
                  "summary": MetadataValue.md(_markdown(results, arrival))},
        check_results=checks)


def _orphans(engine: sa.Engine, erp: str, gte: int, lt: int) -> list[str]:
    """Posted documents of the window whose Stripe source is not in the mirror."""
    lo = datetime.fromtimestamp(gte, tz=timezone.utc).date()
    hi = datetime.fromtimestamp(lt, tz=timezone.utc).date()
    links = erp_links
    with engine.connect() as conn:
        rows = conn.execute(sa.select(links.c.kind, links.c.external_id, links.c.source_id)
                            .where(links.c.erp == erp, links.c.status == "posted",
                                   links.c.source_day >= lo, links.c.source_day < hi)).all()
        known: set[str] = set()
        sources = sorted({r.source_id for r in rows if r.source_id})
        for i in range(0, len(sources), 500):
            chunk = sources[i:i + 500]
            for table in (stripe_charges, stripe_balance_transactions, stripe_customers,
                          stripe_payouts):
                known |= set(conn.execute(sa.select(table.c.id).where(table.c.id.in_(chunk)))
                             .scalars())
    return [f"{r.kind}:{r.external_id}" for r in rows
            if r.source_id and r.source_id not in known]


reconciliation_assets = [reconciliation_payouts]
