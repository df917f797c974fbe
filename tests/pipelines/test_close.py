"""The month-end close asset against real sandboxes: the shared 30-day Stripe history posted
into a TIMS sandbox up to a month end, closed with Dagster, and every figure checked against
what the systems' own interfaces say: the ERP's trial balance through TIMS's GL API (raw
HTTP), Stripe's balance from the sandbox's close ground truth, the payouts in transit from
Stripe's payout list.

One ERP at the Dagster level (the computation is tested case by case in
tests/domain/test_close.py).  The test holds for the cash-basis posting rules (payouts leave
clearing on arrival: the close names the payouts in transit as the difference, and a
controller's adjusting entry balances it) and for accrual rules with a cash-in-transit
account (the close balances as posted).
"""
from __future__ import annotations

import calendar
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dagster import (AssetKey, DagsterInstance, EnvVar, MaterializeResult, asset,
                     build_schedule_context, instance_for_test, materialize)

from assets.close import (CHECK, KEY, close_accounts, close_month, close_trial_balance,
                          erp_open_items)
from connectors.stripe import StripeApi
from domain.erp import DocKind, JournalEntry, JournalLine
from domain.mapping import load_mapping
from domain.money import Money
from pipelines.definitions import defs
from pipelines.partitions import close_monthly
from pipelines.schedules import month_end_close_monthly
from posting.run import post_window
from resources import WarehouseResource
from resources.erp import ErpResource
from tests.conftest import mirror_history
from tests.erp.conftest import ErpSandbox, start_erp_sandbox
from tests.erp.tims_api import Api
from tests.sandbox.fixtures import start_stripe_sandbox
from warehouse.db import make_engine

MAPPING = load_mapping()
ACCOUNTS = close_accounts(MAPPING)


@asset(key=AssetKey(["close", "signed_off"]), deps=[KEY], partitions_def=close_monthly)
def signed_off() -> MaterializeResult:
    """Stands for anything downstream of the close (a sign-off, an export)."""
    return MaterializeResult(metadata={"signed": True})


def month_of(clock: int) -> tuple[str, date, int]:
    """The last month that ended inside the history: partition key, last day, last second."""
    today = datetime.fromtimestamp(clock, tz=timezone.utc).date()
    last_day = today.replace(day=1) - timedelta(days=1)
    end = calendar.timegm((last_day + timedelta(days=1)).timetuple())
    return last_day.strftime("%Y-%m-01"), last_day, end - 1


def raw_trial_balance(sb: ErpSandbox, as_of: date) -> dict[tuple[str, str], int]:
    """TIMS's own ``GET /generalledger/trialbalance`` read page by page (no adapter)."""
    api, out, page, seen = Api(sb), {}, 1, 0
    while True:
        body = api("GET", "/generalledger/trialbalance",
                   params={"asOf": as_of.isoformat(), "page": page, "pageSize": 200}).json()
        for r in body["items"]:
            exp = 0 if r["currency"] == "JPY" else 2
            out[(r["accountNumber"], r["currency"])] = int(round(float(r["balance"]) * 10 ** exp))
        seen += len(body["items"])
        if seen >= body["totalCount"] or not body["items"]:
            return out
        page += 1


def stripe_in_transit(sb: Any, at: int) -> Counter[str]:
    """Payouts Stripe had sent by ``at`` arriving after that day, not failed by then, from
    Stripe's payout list (and each failure's balance transaction)."""
    api = StripeApi(sb.api_key, sb.base_url, rate_limit=1000)
    day = datetime.fromtimestamp(at, tz=timezone.utc).date()
    out: Counter[str] = Counter()
    for page in api.pages("/v1/payouts", {"created[lte]": at}):
        for po in page["data"]:
            arrival = datetime.fromtimestamp(po["arrival_date"], tz=timezone.utc).date()
            if not po.get("balance_transaction") or arrival <= day:
                continue
            failure = po.get("failure_balance_transaction")
            if failure and api.get(f"/v1/balance_transactions/{failure}")["created"] <= at:
                continue
            out[po["currency"].upper()] += int(po["amount"])
    return out


def prepare(stripe_sb: Any, warehouse: Path, clock: int, tmp: Path) -> Iterator[dict[str, Any]]:
    """The mirrored history posted into a fresh TIMS sandbox up to the last month end."""
    key, last_day, at = month_of(clock)
    shutil.copy(warehouse, tmp / "warehouse.db")
    url = f"sqlite:///{tmp / 'warehouse.db'}"
    sb = start_erp_sandbox("tims", tmp)
    try:
        engine = make_engine(url)
        adapter = sb.adapter()
        report = post_window(adapter, engine, MAPPING, None, at + 1)
        assert report.dead == 0 and report.posted > 100, report.totals()
        engine.dispose()
        truth = stripe_sb.control("GET", "close_truth", at=at)
        yield {"sb": sb, "adapter": adapter, "url": url, "key": key, "day": last_day, "at": at,
               "truth": truth, "transit": stripe_in_transit(stripe_sb, at)}
        adapter.close()
    finally:
        sb.proc.stop()


@pytest.fixture(scope="module")
def closing(stripe_history, mirrored, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The shared 30-day history (USD settlement) posted up to the month's end."""
    yield from prepare(stripe_history, mirrored[0], mirrored[1], tmp_path_factory.mktemp("close"))


@pytest.fixture(scope="module")
def closing_accrual(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """35 days of the accrual profile (settlement in USD, EUR and GBP, 25 presentment
    currencies, taxed and open invoices, Connect), posted up to the month's end."""
    tmp = tmp_path_factory.mktemp("close-accrual")
    sb = start_stripe_sandbox(tmp, history_days=35, scale="0.01", seed=3,
                              extra_args=("--profile", "accrual"))
    try:
        path, clock = mirror_history(sb, tmp / "mirror.db")
        yield from prepare(sb, path, clock, tmp)
    finally:
        sb.stop()


def check_figures(closing: dict[str, Any], meta: dict[str, Any]) -> dict[str, int]:
    """Every figure of the close equals what the systems' own interfaces say; returns
    clearing - Stripe balance per currency."""
    truth, transit, day = closing["truth"], closing["transit"], closing["day"]
    balances = {c.upper(): v["total"] for c, v in truth["balances"].items()}
    tb = raw_trial_balance(closing["sb"], day)
    assert meta["period_end"] == day.isoformat() and balances
    differences = {}
    for cur in set(balances) | {c for (a, c) in tb if a == ACCOUNTS.clearing}:
        clearing, balance = tb.get((ACCOUNTS.clearing, cur), 0), balances.get(cur, 0)
        open_invoices = truth["open_totals"].get(cur.lower(), 0)
        if not (clearing or balance or transit[cur] or open_invoices):
            continue
        assert meta[f"stripe_balance_minor/{cur}"] == balance
        assert meta[f"clearing_minor/{cur}"] == clearing
        assert meta[f"in_transit_minor/{cur}"] == transit[cur]
        assert meta[f"unexplained_minor/{cur}"] == clearing - balance   # UTC: no cut-off
        assert meta[f"ar_control_minor/{cur}"] == tb.get((ACCOUNTS.receivable, cur), 0)
        assert meta[f"ar_difference_minor/{cur}"] == (
            meta[f"ar_control_minor/{cur}"] - meta[f"ar_subledger_minor/{cur}"])
        assert meta[f"stripe_open_invoices_minor/{cur}"] == open_invoices
        if ACCOUNTS.in_transit is not None:
            assert meta[f"in_transit_gl_minor/{cur}"] == transit[cur]
        differences[cur] = clearing - balance
    return differences


def close_run(closing: dict[str, Any], instance: DagsterInstance) -> Any:
    env = closing["sb"].env
    resources = {"erp": ErpResource(kind="tims", base_url=env["ERP_BASE_URL"],
                                    tims_client_id=env["TIMS_CLIENT_ID"],
                                    tims_client_secret=EnvVar("TIMS_CLIENT_SECRET")),
                 "warehouse": WarehouseResource(url=closing["url"])}
    return materialize([close_trial_balance, signed_off], resources=resources,
                       instance=instance, partition_key=closing["key"], raise_on_error=False)


def outcome(result: Any) -> tuple[dict[str, Any], Any, bool]:
    (mat,) = [m for m in result.asset_materializations_for_node("close__trial_balance")]
    (check,) = result.get_asset_check_evaluations()
    downstream = bool(result.asset_materializations_for_node("close__signed_off"))
    return {k: v.value for k, v in mat.metadata.items()}, check, downstream


def journal(ext: str, day: date, currency: str, amount: int, debit: str, credit: str
            ) -> JournalEntry:
    return JournalEntry(external_id=ext, entry_date=day, currency=currency, memo=ext,
                        source="manual", lines=(
                            JournalLine(account=debit, debit=Money(amount, currency),
                                        credit=Money(0, currency)),
                            JournalLine(account=credit, debit=Money(0, currency),
                                        credit=Money(amount, currency))))


def test_close_reports_the_systems_own_figures_and_blocks_until_balanced(
        closing, monkeypatch) -> None:
    monkeypatch.setenv("TIMS_CLIENT_SECRET", closing["sb"].env["TIMS_CLIENT_SECRET"])
    transit, day = closing["transit"], closing["day"]
    with instance_for_test() as instance:
        # 1. as posted: every figure is the systems' own
        meta, check, downstream = outcome(close_run(closing, instance))
        differences = check_figures(closing, meta)
        assert meta["ar_difference_minor"] == 0       # AR control = the ERP's open items
        for cur, difference in differences.items():
            # cash basis: the payouts in transit are the difference; accrual: nothing
            assert difference == (transit[cur] if ACCOUNTS.in_transit is None else 0)
        report = meta["report"]
        assert f"Month-end close {day:%B %Y} (tims)" in report
        off = {c for c, difference in differences.items() if difference}
        assert check.passed is (not off) and downstream is (not off)
        for cur in off:
            assert cur in check.metadata["currencies_off"].value
            assert check.metadata[f"unexplained_minor/{cur}"].value == transit[cur]
        if ACCOUNTS.in_transit is None and sum(transit.values()):  # the cut-off
            assert "payout_in_transit_in_clearing" in report and "Not identified" not in report

        # 2. a journal outside the product, mid-month, from AR into clearing: the close
        #    fails, names the currency and both amounts, identifies the journal behind the
        #    AR difference, and nothing downstream runs
        adapter, before = closing["adapter"], meta["unexplained_minor/USD"]
        stray = journal("close-stray-usd", day - timedelta(days=10), "USD", 1234,
                        ACCOUNTS.clearing, ACCOUNTS.receivable)
        assert adapter.post([stray])[0].ok
        result = close_run(closing, instance)
        meta, check, downstream = outcome(result)
        assert not result.success and not downstream and not check.passed
        assert meta["unexplained_minor/USD"] == before + 1234
        assert "USD" in meta["currencies_off"].split(", ")
        assert check.metadata["unexplained_minor/USD"].value == before + 1234
        assert f"({before + 1234} minor units)" in check.metadata["USD"].value
        assert "**Not identified: USD 12.34**" in meta["report"]
        assert meta["ar_difference_minor/USD"] == -1234 and meta["ar_difference_minor"] == 1234
        assert "AR control USD " in check.metadata["USD"].value
        assert "Identified: USD -12.34 in 1 GL journal lines" in meta["report"]
        assert "| journal_in_ar_control |" in meta["report"]
        assert raw_trial_balance(closing["sb"], day)[(ACCOUNTS.clearing, "USD")] == \
            meta["clearing_minor/USD"]

        # 3. the controller reverses the stray journal and (cash basis) books the payouts
        #    in transit out of clearing at the month end: the close balances, downstream runs
        fixes = [journal("close-stray-usd-reversal", day - timedelta(days=10), "USD", 1234,
                         ACCOUNTS.receivable, ACCOUNTS.clearing)]
        if ACCOUNTS.in_transit is None:
            fixes += [journal(f"close-cutoff-{cur}", day, cur, amount,
                              MAPPING.accounts.operating_bank, ACCOUNTS.clearing)
                      for cur, amount in transit.items() if amount]
        assert all(r.ok for r in adapter.post(fixes))
        result = close_run(closing, instance)
        meta, check, downstream = outcome(result)
        assert result.success and check.passed and downstream
        assert meta["unexplained_minor"] == 0 and meta["balanced"] is True
        assert meta["currencies_off"] == "none" and "**Balanced**" in meta["report"]
        assert "Not identified" not in meta["report"]


def test_multi_currency_close_names_every_currency_that_does_not_balance(
        closing_accrual, monkeypatch) -> None:
    monkeypatch.setenv("TIMS_CLIENT_SECRET", closing_accrual["sb"].env["TIMS_CLIENT_SECRET"])
    with instance_for_test() as instance:
        meta, check, downstream = outcome(close_run(closing_accrual, instance))
    differences = check_figures(closing_accrual, meta)
    assert {"USD", "EUR", "GBP"} <= set(differences)       # three settlement currencies
    open_invoices = {c.upper() for c, v in closing_accrual["truth"]["open_totals"].items() if v}
    assert len(open_invoices) >= 3                           # open at the month end
    ar_off = {c for c in differences if meta[f"ar_difference_minor/{c}"]}
    off = sorted({c for c, d in differences.items() if d} | ar_off)
    assert check.passed is (not off) and downstream is (not off)
    assert meta["currencies_off"] == (", ".join(off) or "none")
    assert meta["unexplained_minor"] == sum(abs(d) for d in differences.values())
    for cur in off:
        assert check.metadata[f"unexplained_minor/{cur}"].value == differences[cur]
        assert "## What does not balance" in meta["report"]
        if differences[cur]:
            assert f"({differences[cur]} minor units)" in check.metadata[cur].value
            assert f"## {cur}: behind the difference of" in meta["report"]
        if cur in ar_off:      # AR control moved outside the ERP's AR sub-ledger
            assert f"AR control {cur} " in check.metadata[cur].value
            assert check.metadata[f"ar_difference_minor/{cur}"].value == \
                meta[f"ar_difference_minor/{cur}"]
    if any(meta[f"ar_control_minor/{c}"] != meta[f"stripe_open_invoices_minor/{c}"]
           for c in open_invoices):
        assert "Receivables against Stripe's open invoices" in meta["report"]


def test_a_reporting_timezone_west_of_utc_explains_the_posting_day_cut_off(
        closing, stripe_history) -> None:
    """New York's November ends five hours after the ERP's last UTC posting day: the
    balance transactions in between are in Stripe's balance and explained, one by one."""
    tz = "America/New_York"
    window_end = datetime.combine(closing["day"] + timedelta(days=1), datetime.min.time(),
                                  tzinfo=ZoneInfo(tz))
    engine = make_engine(closing["url"])
    result, report, _ = close_month(closing["adapter"], engine, MAPPING, "tims", window_end, tz)
    engine.dispose()
    at = int(window_end.timestamp()) - 1
    assert result.at == at and result.period_end == closing["day"]
    utc = {c.upper(): v["total"] for c, v in closing["truth"]["balances"].items()}
    local = {c.upper(): v["total"] for c, v in
             stripe_history.control("GET", "close_truth", at=at)["balances"].items()}
    tb = raw_trial_balance(closing["sb"], closing["day"])
    usd = result.currencies["USD"]
    assert local["USD"] != utc["USD"]                     # activity in those five hours
    for cur, c in result.currencies.items():
        clearing = tb.get((ACCOUNTS.clearing, cur), 0)
        assert c.stripe_balance_minor == local.get(cur, 0)
        assert c.explained_minor == utc.get(cur, 0) - local.get(cur, 0)
        assert c.unexplained_minor == clearing - utc.get(cur, 0)      # as closed in UTC
    assert all(i.kind == "posting_day_cutoff" and i.explains for i in usd.items
               if i.explains) and any(i.explains for i in usd.items)
    assert f"Stripe balance at the month's last instant in {tz}" in report


def test_open_items_are_the_erps_sub_ledger_rolled_back_to_the_month_end() -> None:
    """Open balances today, plus what later receipts applied; less receipts of the month
    applied to invoices dated after it (M3 dates invoices when its invoicing job runs)."""
    usd = lambda v: Money(v, "USD")  # noqa: E731
    inv = lambda ext, day, open_now: SimpleNamespace(  # noqa: E731
        doc=SimpleNamespace(external_id=ext, invoice_date=day, currency="USD"),
        open_balance=usd(open_now))
    pay = lambda day, *apps: SimpleNamespace(doc=SimpleNamespace(  # noqa: E731
        received_date=day, applications=[SimpleNamespace(invoice=i, amount=usd(a))
                                         for i, a in apps]))
    nov, dec = date(2026, 11, 30), date(2026, 12, 1)
    records = {DocKind.INVOICE: [inv("A", date(2026, 11, 10), 0), inv("B", dec, 0),
                                 inv("C", date(2026, 11, 1), 30), inv("D", dec, 500)],
               DocKind.PAYMENT: [pay(dec, ("A", 100)), pay(date(2026, 11, 20), ("B", 50)),
                                 pay(date(2026, 11, 5), ("C", 70))]}
    adapter = SimpleNamespace(read=lambda kind, ids=None: records[kind])
    assert erp_open_items(adapter, nov) == {"USD": 100 - 50 + 30}
    assert erp_open_items(adapter, dec) == {"USD": 30 + 500}


def test_close_is_monthly_blocking_and_scheduled_for_the_previous_month() -> None:
    node = defs.resolve_asset_graph().get(KEY)
    assert node.partitions_def == close_monthly and close_monthly.timezone == "UTC"
    assert node.partitions_def.get_partition_keys()[0].endswith("-01")
    assert AssetKey(["stripe", "balance_transactions"]) in node.parent_keys
    assert AssetKey(["erp", "journal_entries"]) in node.parent_keys
    (key,) = [k for k in defs.resolve_asset_graph().asset_check_keys if k.asset_key == KEY]
    (spec,) = close_trial_balance.check_specs
    assert key.name == spec.name == CHECK and spec.blocking
    ctx = build_schedule_context(scheduled_execution_time=datetime(2027, 1, 3, 7,
                                                                   tzinfo=timezone.utc))
    request = month_end_close_monthly(ctx)
    assert request.partition_key == "2026-12-01"
    assert month_end_close_monthly.cron_schedule == "0 7 3 * *"
    assert defs.resolve_job_def("month_end_close") is not None
