"""Revenue recognition in the graph: the schedules, the month's journal in the ERP, the waterfall.

* revenue/schedules: every invoice line's revenue per day of its service period, with every
  credit note, refund, lost dispute, void and write-off applied from its effective day
  (domain/revenue).  Its blocking check, schedules_balance: for every invoice line, recognised
  to date plus deferred equals billed minus credited, to the minor unit, at every month end and
  today; the first offending lines are listed.  Nothing downstream runs when it fails.
  Kept up to date by declarative automation (SCHEDULES_AUTOMATION, evaluated by
  sensors/revenue.py): re-run when an input was updated, by a backfill or by the event sync
  that applied webhook-landed invoice, charge, refund, dispute or credit note events.
* erp/revenue_recognition (monthly, YYYY-MM-01): per currency one journal, dated the month's
  last day: Dr revenue, Cr deferred revenue for the service-period lines billed in the month;
  Dr deferred revenue, Cr revenue by product/plan (the mapping file) for what was recognised.
  Posted once (link table, find-then-create, dead letters); re-running a month changes nothing.
  A credit recorded after its month's journal was posted lands in the first open month.
* revenue/waterfall (monthly, YYYY-MM-01): billed month x recognised month per currency,
  deferred revenue at every month end; metadata deferred_end_<currency> and
  recognised_<currency>; a CSV under the data directory's reports/.
"""
from datetime import datetime, timezone

import pandas as pd
from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext,
                     AssetKey, AutomationCondition, MaterializeResult, MetadataValue, asset)

from domain.erp import DocKind
from domain.revenue.journals import invariant_violations
from domain.revenue.ledger import RevenueLedger
from domain.revenue.schedules import day_date, day_number, month_end_day, month_of
from domain.revenue.waterfall import deferred_balances, month_summary, to_csv, to_markdown, \
    waterfall
from pipelines.partitions import revenue_monthly
from posting.revenue import closed_months, credit_notes_from, load_inputs, post_month, \
    revenue_ledger
from resources.erp import ErpResource
from resources.stripe import StripeResource
from resources.warehouse import WarehouseResource
from warehouse.db import data_dir

from .stripe import CREDIT_NOTES, stripe_key

GROUP = "revenue"
OWNERS = ["team:finance-data"]
SCHEDULES = AssetKey([GROUP, "schedules"])
RECOGNITION = AssetKey(["erp", "revenue_recognition"])
WATERFALL = AssetKey([GROUP, "waterfall"])
BALANCE_CHECK = "schedules_balance"
SHOWN = 20

# Run once any input was updated (a backfill of a Stripe day, or the event sync recording what
# webhook events changed) since the schedules were last requested, never while an input or the
# schedules themselves are being materialized.  Not eager(): eager waits for every input
# partition to exist (the inputs are daily partitions and the credit notes an external asset:
# a day with nothing mirrored would hold the schedules back for good), and it counts a run of
# the schedules as handling an update that landed while that run was reading (its reset is the
# schedules' own materialization); here only a new request resets, and both sides carry their
# timestamps, so an update landing during a run triggers the next one.
SCHEDULES_AUTOMATION = (
    AutomationCondition.any_deps_match(AutomationCondition.newly_updated())
    .since(AutomationCondition.newly_requested())
    & ~AutomationCondition.any_deps_in_progress() & ~AutomationCondition.in_progress()
).with_label("an input updated since the last request")


def _ledger(stripe: StripeResource, warehouse: WarehouseResource, erp: ErpResource
            ) -> RevenueLedger:
    engine = warehouse.engine()
    inputs = load_inputs(engine, credit_notes_from(stripe.api()))
    closed = closed_months(engine, erp.kind) if erp.kind else {}
    return revenue_ledger(inputs, closed)


def check_days(ledger: RevenueLedger, today: int) -> list[int]:
    """The days the balance is checked at: every month end since the first booking, and today."""
    booked = ledger.lines["booked_at"]
    if booked.empty:
        return [today]
    first, last = int(month_of(int(booked.min()))), int(month_of(today))
    return [int(month_end_day(m)) for m in range(first, last)] + [today]


def balance_check(ledger: RevenueLedger, days: list[int]) -> AssetCheckResult:
    """recognised to date + deferred == billed - credited for every line on every day given."""
    bad = []
    for day in days:
        found = invariant_violations(ledger, day)
        if not found.empty:
            found.insert(0, "as_of", str(day_date(day)))
            bad.append(found)
    table = pd.concat(bad) if bad else pd.DataFrame()
    meta = {"lines_checked": len(ledger.lines), "days_checked": len(days),
            "offending_lines": int(table["line_id"].nunique()) if bad else 0}
    if bad:
        meta["first_offending_lines"] = MetadataValue.md(_md(table.head(SHOWN)))
    return AssetCheckResult(check_name=BALANCE_CHECK, asset_key=SCHEDULES, passed=not bad,
                            severity=AssetCheckSeverity.ERROR, metadata=meta)


def _md(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    rows = ["| " + " | ".join(str(v) for v in r) + " |" for r in table.itertuples(index=False)]
    return "\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols), *rows])


@asset(key=SCHEDULES, group_name=GROUP, owners=OWNERS, kinds={"python", "stripe"},
       deps=[*(stripe_key(n) for n in ("invoices", "refunds", "disputes", "charges")),
             CREDIT_NOTES],
       automation_condition=SCHEDULES_AUTOMATION,
       check_specs=[AssetCheckSpec(BALANCE_CHECK, asset=SCHEDULES, blocking=True,
                                   description="For every invoice line: recognised to date plus "
                                   "deferred equals billed minus credited, to the minor unit, at "
                                   "every month end and today.")],
       code_version="1",
       description="Every Stripe invoice line's revenue per UTC day of its service period, "
                   "adjusted by credit notes, refunds, lost disputes, voids and write-offs "
                   "from their effective day (Stripe's revenue recognition methodology).")
def revenue_schedules(context: AssetExecutionContext, stripe: StripeResource,
                      warehouse: WarehouseResource, erp: ErpResource) -> MaterializeResult:
    ledger = _ledger(stripe, warehouse, erp)
    today = day_number(datetime.now(timezone.utc))
    check = balance_check(ledger, check_days(ledger, today))
    deferred = deferred_balances(ledger, [str(day_date(today))])
    problems = ledger.problems
    context.log.info(f"{len(ledger.lines)} invoice lines, {len(ledger.applied)} adjustments, "
                     f"{len(problems)} left out (see metadata)")
    meta = {"invoice_lines": len(ledger.lines), "adjustments": len(ledger.applied),
            "problems": len(problems),
            **{f"deferred_now_{r.currency.lower()}": int(r.deferred)
               for r in deferred.itertuples()}}
    if problems:
        meta["first_problems"] = MetadataValue.md("\n".join(
            f"- {p.object_id}: {p.message}" for p in problems[:SHOWN]))
    return MaterializeResult(metadata=meta, check_results=[check])


@asset(key=RECOGNITION, group_name="erp", owners=OWNERS, kinds={"erp"}, deps=[SCHEDULES],
       partitions_def=revenue_monthly, pool="erp_api", code_version="1",
       description="The month's revenue journal in the ERP, per currency: service-period "
                   "revenue billed in the month moved to deferred revenue, what the schedules "
                   "recognised moved from deferred revenue to revenue by product or plan. Posted "
                   "exactly once; a credit recorded after its month was posted lands in the "
                   "first open month.")
def erp_revenue_recognition(context: AssetExecutionContext, stripe: StripeResource,
                            warehouse: WarehouseResource, erp: ErpResource) -> MaterializeResult:
    month = context.partition_key[:7]
    ledger = _ledger(stripe, warehouse, erp)
    mapping = erp.mapping()
    with erp.connected() as adapter:
        report, entries = post_month(adapter, warehouse.engine(), mapping, ledger, month)
    deferred = mapping.account("deferred_revenue")
    rep = report.kinds[DocKind.JOURNAL]
    context.log.info(f"{erp.kind}: {len(entries)} revenue journals for {month}: "
                     f"{rep.created} created, {rep.already_linked} already posted, "
                     f"{rep.found} found, {rep.dead} dead-lettered")
    meta = {"erp": erp.kind, "journals": len(entries), "created": rep.created,
            "found_in_erp": rep.found, "already_linked": rep.already_linked,
            "dead_lettered": rep.dead + rep.blocked + rep.too_long,
            **_month_metadata(ledger, month)}
    for e in entries:
        meta[f"deferred_change_{e.currency.lower()}"] = sum(
            x.credit.amount - x.debit.amount for x in e.lines if x.account == deferred)
    return MaterializeResult(metadata=meta)


def _month_metadata(ledger: RevenueLedger, month: str) -> dict:
    out = {}
    for currency, figures in month_summary(ledger, month).items():
        out[f"recognised_{currency.lower()}"] = figures["recognised"]
        out[f"deferred_end_{currency.lower()}"] = figures["deferred_end"]
    return out


def waterfall_files(ledger: RevenueLedger, month: str) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                  str]:
    """The waterfall through ``month``, deferred revenue at every month end, and the CSV path."""
    table = waterfall(ledger, month)
    first = (table["billed_month"].min() if not table.empty else month)
    months = [str(m)[:7] for m in pd.period_range(first, month, freq="M")]
    balances = deferred_balances(ledger, months)
    folder = data_dir() / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"revenue-waterfall-{month}.csv"
    path.write_text(to_csv(table))
    (folder / f"deferred-revenue-{month}.csv").write_text(to_csv(balances))
    return table, balances, str(path)


@asset(key=WATERFALL, group_name=GROUP, owners=OWNERS, kinds={"python", "csv"}, deps=[SCHEDULES],
       partitions_def=revenue_monthly, code_version="1",
       description="Revenue waterfall through the month: billed month x recognised month per "
                   "currency, with recognised and remaining, and deferred revenue at every month "
                   "end (markdown in the UI; CSV in the data directory's reports/).")
def revenue_waterfall(context: AssetExecutionContext, stripe: StripeResource,
                      warehouse: WarehouseResource, erp: ErpResource) -> MaterializeResult:
    month = context.partition_key[:7]
    ledger = _ledger(stripe, warehouse, erp)
    table, balances, path = waterfall_files(ledger, month)
    context.log.info(f"waterfall through {month}: {len(table)} rows -> {path}")
    return MaterializeResult(metadata={
        **_month_metadata(ledger, month), "rows": len(table),
        "waterfall": MetadataValue.md(to_markdown(table)),
        "deferred_at_month_ends": MetadataValue.md(to_markdown(balances)),
        "csv": MetadataValue.path(path)})


revenue_assets = [revenue_schedules, erp_revenue_recognition, revenue_waterfall]
