"""close/trial_balance: the month-end close, the ERP's ledger against Stripe per currency.

One partition per month, keyed by its first day (2026-11-01), evaluated at the month's
last instant in the reporting timezone (CLOSE_TIMEZONE, default UTC). It reads the ERP's
trial balance as of the month's last day and its open AR items through the ERP's own API,
and Stripe's side from the warehouse mirror: the balance per currency (net of every balance
transaction created by then), the payouts in transit, the open invoices. The computation is
domain/close.py; the report domain/close_report.py.

The blocking check close_balanced fails when, in any currency, Stripe clearing differs from
Stripe's balance by an amount no timing item explains, cash in transit differs from the
payouts in transit, sales tax payable differs from Stripe's tax collected less refunded,
or the AR control account differs from the open items; nothing
downstream of the close runs until it passes.
"""
from collections import defaultdict  # no __future__ annotations: Dagster inspects hints
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext,
                     AssetKey, MaterializeResult, MetadataValue, asset)

from connectors.erp import ErpAdapter
from domain.close import ArJournalLine, CloseAccounts, CloseResult, compute_close
from domain.close_report import failures, figures, markdown
from domain.erp import DocKind
from domain.mapping import Mapping
from pipelines.partitions import CLOSE_TIMEZONE, close_monthly
from resources.erp import ErpResource
from resources.warehouse import WarehouseResource
from warehouse.close_reads import (OpenDeadLetter, cutoff_transactions, open_dead_letters,
                                   payouts_in_transit, stripe_balance, stripe_open_invoices,
                                   stripe_tax_collected)

from .erp import erp_key
from .stripe import stripe_key

KEY = AssetKey(["close", "trial_balance"])
CHECK = "close_balanced"
# GlLine.source of GL journals (TIMS; M3 and Epicor), as opposed to AR documents
GL_JOURNAL_SOURCES = frozenset({"JournalEntry", "GLJournal"})


def close_accounts(mapping: Mapping) -> CloseAccounts:
    # cash_in_transit: mapping v2 (issue 14); without it payouts are booked on arrival
    in_transit = getattr(mapping.accounts, "cash_in_transit", None) or None
    tax = getattr(mapping.accounts, "sales_tax_payable", None) or None
    return CloseAccounts(clearing=mapping.accounts.stripe_clearing,
                         receivable=mapping.accounts.accounts_receivable, in_transit=in_transit,
                         tax_payable=tax)


def period_bounds(window_end: datetime) -> tuple[date, int, int]:
    """(the ERP's as-of day, Stripe's cut instant, the ERP's cut instant) for a month whose
    partition window ends at ``window_end`` (the next month's first instant, reporting tz).
    The ERP dates documents by UTC day, so its period ends at the UTC midnight after the
    month's last day."""
    period_end = (window_end - timedelta(days=1)).date()
    erp_cut = datetime.combine(period_end + timedelta(days=1), datetime.min.time(),
                               tzinfo=timezone.utc)
    return period_end, int(window_end.timestamp()), int(erp_cut.timestamp())


def erp_open_items(adapter: ErpAdapter, day: date) -> dict[str, int]:
    """currency -> the ERP's open AR items at the end of ``day``, from its own sub-ledger:
    the invoices dated by then, each at its open balance today plus what receipts dated
    after ``day`` have applied to it since, less the receipts dated by then that were applied
    to invoices dated after it (cash on account at the month end; M3 dates an invoice when
    its invoicing job runs)."""
    invoices = {r.doc.external_id: r for r in adapter.read(DocKind.INVOICE)}
    out: dict[str, int] = defaultdict(int)
    for rec in invoices.values():
        if rec.doc.invoice_date <= day:
            open_now = rec.open_balance.amount if rec.open_balance is not None else 0
            out[rec.doc.currency.upper()] += open_now
    if invoices:
        for rec in adapter.read(DocKind.PAYMENT):
            for app in rec.doc.applications:
                invoice = invoices.get(app.invoice)
                if invoice is None:
                    continue
                invoiced_by_then = invoice.doc.invoice_date <= day
                received_by_then = rec.doc.received_date <= day
                if invoiced_by_then and not received_by_then:
                    out[app.amount.currency.upper()] += app.amount.amount
                elif received_by_then and not invoiced_by_then:
                    out[app.amount.currency.upper()] -= app.amount.amount
    return dict(out)


def close_month(adapter: ErpAdapter, engine: sa.Engine, mapping: Mapping, erp_kind: str,
                window_end: datetime, timezone_name: str
                ) -> tuple[CloseResult, str, list[OpenDeadLetter]]:
    """Read both sides for the month ending at ``window_end`` and compute the close: the
    result, the markdown report and the open dead letters up to the month end."""
    period_end, stripe_cut, erp_cut = period_bounds(window_end)
    accounts = close_accounts(mapping)
    with engine.connect() as conn:
        balance = stripe_balance(conn, stripe_cut)
        cutoff = cutoff_transactions(conn, stripe_cut, erp_cut)
        # in transit on the ERP's last posting day, as its in-transit account holds them
        transit = payouts_in_transit(conn, erp_cut)
        open_invoices = stripe_open_invoices(conn, stripe_cut)
        tax = stripe_tax_collected(conn, stripe_cut)
        dead = open_dead_letters(conn, erp_kind, period_end)
    trial_balance = adapter.trial_balance(period_end)
    subledger = erp_open_items(adapter, period_end)
    inputs = dict(period_end=period_end, at=stripe_cut - 1, accounts=accounts,
                  trial_balance=trial_balance, stripe_balance=balance, ar_subledger=subledger,
                  stripe_open_invoices=open_invoices, payouts_in_transit=transit, cutoff=cutoff,
                  stripe_tax=tax)
    result = compute_close(**inputs)
    if result.ar_difference_minor:     # what moved AR control outside the sub-ledger
        result = compute_close(**inputs, ar_journal_lines=[
            ArJournalLine(x.voucher, x.currency, x.amount_minor, x.posted_on)
            for x in adapter.gl_lines(None, period_end)
            if x.account == accounts.receivable and x.source in GL_JOURNAL_SOURCES])
    report = markdown(result, erp=erp_kind, timezone=timezone_name,
                      accounts={"clearing": accounts.clearing, "receivable": accounts.receivable,
                                "in_transit": accounts.in_transit},
                      dead_letters=dead)
    return result, report, dead


@asset(
    key=KEY,
    group_name="close",
    owners=["team:finance-data"],
    kinds={"erp", "stripe", "sql"},
    partitions_def=close_monthly,
    deps=[stripe_key("balance_transactions"), stripe_key("payouts"), stripe_key("invoices"),
          erp_key("invoices"), erp_key("cash_receipts"), erp_key("journal_entries"),
          erp_key("bank_deposits")],
    check_specs=[AssetCheckSpec(CHECK, asset=KEY, blocking=True,
                                description="Every currency reconciles to the minor unit: "
                                            "Stripe clearing = Stripe balance (after explained "
                                            "timing items), cash in transit = payouts in "
                                            "transit, sales tax payable = Stripe's tax less "
                                            "refunded, AR control = open AR items.")],
    # pool erp_api (limit 1), like the postings: the ledger is read between posting runs,
    # never half-way through one (a receipt without its invoice would fail the close)
    pool="erp_api",
    description="The month-end close: the ERP's ledger against Stripe's balance per currency, "
                "to the minor unit, with a report a controller can sign.",
)
def close_trial_balance(context: AssetExecutionContext, erp: ErpResource,
                        warehouse: WarehouseResource) -> MaterializeResult:
    adapter = erp.adapter()
    try:
        result, report, dead = close_month(adapter, warehouse.engine(), erp.mapping(), erp.kind,
                                           context.partition_time_window.end, CLOSE_TIMEZONE)
    finally:
        adapter.close()
    period_end = result.period_end
    problems = failures(result)
    for line in problems:
        context.log.error(f"close {period_end:%Y-%m} does not balance: {line}")
    off = result.off()
    check = AssetCheckResult(
        check_name=CHECK, passed=result.balanced, severity=AssetCheckSeverity.ERROR,
        description="; ".join(problems) or "every currency reconciles",
        metadata={"unexplained_minor": result.unexplained_minor,
                  "ar_difference_minor": result.ar_difference_minor,
                  "currencies_off": ", ".join(c.currency for c in off) or "none",
                  **{f"unexplained_minor/{c.currency}": c.unexplained_minor for c in off},
                  **{f"ar_difference_minor/{c.currency}": c.ar_difference_minor for c in off},
                  **{c.currency: p for c, p in zip(off, problems)}})
    return MaterializeResult(
        metadata={"erp": erp.kind, "period_end": period_end.isoformat(),
                  "reporting_timezone": CLOSE_TIMEZONE,
                  "month_ends_at": MetadataValue.timestamp(float(result.at + 1)),
                  **figures(result), "open_dead_letters": len(dead),
                  "report": MetadataValue.md(report)},
        check_results=[check])


close_assets = [close_trial_balance]
