"""Revenue recognition over a generated 180-day subscription business, posted into each ERP.

The Stripe sandbox's ``--profile subscriptions`` history (monthly and annual plans, trials,
upgrades with prorations, cancellations, credit notes, voids, failed and recovered invoices)
is mirrored once; for each ERP the month's revenue journals are posted through the product's
posting path, month by month, and the ERP's own GL API is read back: deferred revenue at each
month end equals the schedules' deferred balance, per currency, to the minor unit.  Re-running a
month posts nothing; a credit note issued late, dated in a posted month, lands in the first open
month and leaves the posted months as they were.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe

from connectors.stripe import StripeApi
from domain.erp import DocKind
from domain.mapping import load_mapping
from domain.revenue.month_close import deferred_at_month_ends
from domain.revenue.schedules import month_end_day, month_label, month_number, month_of
from domain.revenue.waterfall import waterfall
from posting.revenue import (closed_months, credit_notes_from, load_inputs, post_month,
                             revenue_ledger)
from tests.conftest import mirror_history
from tests.sandbox.fixtures import Sandbox, start_stripe_sandbox
from warehouse.db import make_engine

DEFERRED = load_mapping().accounts.deferred_revenue


@pytest.fixture(scope="module")
def subscriptions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sb = start_stripe_sandbox(tmp_path_factory.mktemp("stripe-subs-revenue"), history_days=180,
                              scale="0.02", seed=5, extra_args=("--profile", "subscriptions"))
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def mirrored_subs(subscriptions: Sandbox, tmp_path_factory) -> tuple[Path, int]:
    return mirror_history(subscriptions, tmp_path_factory.mktemp("subs-mirror") / "wh.db")


@pytest.fixture
def warehouse(mirrored_subs, tmp_path) -> Iterator[sa.Engine]:
    path = tmp_path / "warehouse.db"
    path.write_bytes(mirrored_subs[0].read_bytes())
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def _api(sb: Sandbox) -> StripeApi:
    return StripeApi(sb.api_key, sb.base_url, rate_limit=1000)


def _day(day_no: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(day_no))


def _completed_months(ledger, as_of: int) -> list[str]:
    first = int(month_of(int(ledger.lines["booked_at"].min())))
    return [month_label(m) for m in range(first, int(month_of(as_of // 86400)))]


def _erp_deferred(adapter, day: date) -> dict[str, int]:
    tb = adapter.trial_balance(day)
    return {cur: -v for (acct, cur), v in tb.items() if acct == DEFERRED and v}


def test_the_waterfalls_columns_sum_to_the_billed_amounts(subscriptions, warehouse):
    inputs = load_inputs(warehouse, credit_notes_from(_api(subscriptions)))
    ledger = revenue_ledger(inputs)
    assert not ledger.problems, ledger.problems[:5]
    assert inputs.invoices > 100 and inputs.credit_notes > 0
    kinds = {a.kind for a in ledger.applied.values()}
    assert {"credit_note", "void"} <= kinds, kinds
    last = month_label(int(month_of(int(ledger.last_days().max()))))
    table = waterfall(ledger, last)
    months = [c for c in table.columns if c[:2] == "20" and len(c) == 7]
    assert (table[months].sum(axis=1) == table["billed"]).all()     # every row fully recognised
    assert (table["remaining"] == 0).all()
    billed = table.groupby("currency")["billed"].sum().to_dict()
    expected: dict[str, int] = {}
    for line in ledger.lines.itertuples():
        expected[line.currency] = expected.get(line.currency, 0) + int(line.amount)
    for a in ledger.applied.values():
        cur = ledger.lines["currency"].iloc[a.line]
        expected[cur] -= a.credit
    assert billed == {c: v for c, v in expected.items() if v or c in billed}
    assert len(billed) >= 3


def test_deferred_revenue_in_the_erp_equals_the_schedules_at_every_month_end(
        erp, subscriptions, mirrored_subs, warehouse):
    api, mapping = _api(subscriptions), load_mapping()
    adapter = erp.adapter()
    ledger = revenue_ledger(load_inputs(warehouse, credit_notes_from(api)))
    months = _completed_months(ledger, mirrored_subs[1])
    assert len(months) >= 5
    for month in months:
        report, entries = post_month(adapter, warehouse, mapping, ledger, month)
        assert report.dead == 0, (month, report.totals())
        assert report.kinds[DocKind.JOURNAL].created == len(entries) > 0
    expected = deferred_at_month_ends(ledger, months)
    for month in months:
        end = _day(month_end_day(month_number(month)))
        assert _erp_deferred(adapter, end) == expected.get(month, {}), month
    assert len(expected[months[-1]]) >= 3                  # USD, EUR, GBP, JPY deferred

    again, _ = post_month(adapter, warehouse, mapping, ledger, months[-2])   # re-run: nothing
    assert again.kinds[DocKind.JOURNAL].created == 0 and again.erp_calls == 0

    # a credit note issued now, dated in a posted month, lands in the first open month
    posted = months[-2]
    effective = (month_end_day(month_number(posted)) - 3) * 86400
    cn = _late_credit_note(subscriptions, api, ledger, posted, effective)
    closed = closed_months(warehouse, adapter.erp)
    assert set(closed) == set(months)
    late = revenue_ledger(load_inputs(warehouse, credit_notes_from(api)), closed)
    moved = [a for a in late.applied.values() if a.id.startswith(cn["id"])]
    open_month = month_label(int(month_of(mirrored_subs[1] // 86400)))
    assert moved and all(month_label(int(month_of(a.day))) == open_month for a in moved)
    assert deferred_at_month_ends(late, months) == expected       # posted months unchanged
    report, _ = post_month(adapter, warehouse, mapping, late, open_month)
    assert report.dead == 0 and report.kinds[DocKind.JOURNAL].created > 0
    end = _day(month_end_day(month_number(open_month)))
    assert _erp_deferred(adapter, end) == deferred_at_month_ends(late, [open_month]).get(
        open_month, {})
    for month in months:                                  # the ERP's past months untouched
        assert _erp_deferred(adapter, _day(month_end_day(month_number(month)))) == \
            expected.get(month, {}), month
    adapter.close()


def _late_credit_note(sb: Sandbox, api: StripeApi, ledger, month: str, effective: int) -> dict:
    """A 1.00 out-of-band credit note on a paid, untaxed, undiscounted service-period line
    booked in ``month``, dated ``effective``."""
    lines = ledger.lines
    booked = month_of(lines["booked_at"].to_numpy()) == month_number(month)
    for row in lines[booked & (lines["posts_to"] == "deferred_revenue")].sort_values(
            "amount", ascending=False).itertuples():
        inv = api.get(f"/v1/invoices/{row.invoice_id}")
        raw = next(x for x in inv["lines"]["data"] if x["id"] == row.id)
        if inv["status"] == "paid" and not inv["total_taxes"] and not raw["discount_amounts"] \
                and not inv["post_payment_credit_notes_amount"]:
            amount = 1 if inv["currency"] == "jpy" else 100
            client = stripe.StripeClient(sb.api_key, base_addresses={"api": sb.base_url})
            return client.v1.credit_notes.create(params={
                "invoice": inv["id"], "effective_at": effective, "out_of_band_amount": amount,
                "lines": [{"type": "invoice_line_item", "invoice_line_item": row.id,
                           "amount": amount}]})
    raise AssertionError(f"no paid untaxed line booked in {month}")


# ----------------------------------------------------------------------------- the assets

def _resources(sb: Sandbox, warehouse: sa.Engine, tims=None) -> dict:
    from dagster import EnvVar

    from resources import WarehouseResource
    from resources.erp import ErpResource
    from resources.stripe import StripeResource
    erp = ErpResource(kind="tims", base_url=tims.env["ERP_BASE_URL"],
                      tims_client_id=tims.env["TIMS_CLIENT_ID"],
                      tims_client_secret=EnvVar("TIMS_CLIENT_SECRET")) if tims else ErpResource()
    return {"stripe": StripeResource(api_key=sb.api_key, api_base=sb.base_url),
            "warehouse": WarehouseResource(url=str(warehouse.url)), "erp": erp}


def _last_month(clock: int) -> str:
    return month_label(int(month_of(clock // 86400)) - 1) + "-01"


def test_a_broken_schedule_fails_the_blocking_check_and_stops_the_waterfall(
        subscriptions, mirrored_subs, warehouse, monkeypatch, tmp_path):
    from dagster import materialize

    import assets.revenue as revenue
    monkeypatch.setenv("STRIPE_ERP_DATA_DIR", str(tmp_path))
    built = revenue.revenue_ledger

    def broken(inputs, closed=None):
        ledger = built(inputs, closed)
        row = ledger.months.index[-1]               # one month of one line loses a minor unit
        ledger.months.loc[row, "amount"] -= 1
        return ledger
    monkeypatch.setattr(revenue, "revenue_ledger", broken)
    result = materialize([revenue.revenue_schedules, revenue.revenue_waterfall],
                         resources=_resources(subscriptions, warehouse),
                         partition_key=_last_month(mirrored_subs[1]), raise_on_error=False)
    assert not result.success
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == revenue.BALANCE_CHECK and not check.passed
    assert check.metadata["offending_lines"].value == 1
    assert "| as_of | line_id |" in check.metadata["first_offending_lines"].value
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert revenue.WATERFALL not in materialized
    assert not list(tmp_path.glob("reports/*.csv"))


def test_the_assets_post_the_month_once_and_report_the_waterfall(
        subscriptions, mirrored_subs, warehouse, tims, monkeypatch, tmp_path):
    from dagster import materialize

    import assets.revenue as revenue
    monkeypatch.setenv("STRIPE_ERP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TIMS_CLIENT_SECRET", tims.env["TIMS_CLIENT_SECRET"])
    key = _last_month(mirrored_subs[1])
    resources = _resources(subscriptions, warehouse, tims)
    selection = [revenue.revenue_schedules, revenue.erp_revenue_recognition,
                 revenue.revenue_waterfall]
    result = materialize(selection, resources=resources, partition_key=key)
    [check] = result.get_asset_check_evaluations()
    assert check.passed and check.metadata["days_checked"].value >= 6
    meta = {e.asset_key: e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    ledger = revenue_ledger(load_inputs(warehouse, credit_notes_from(_api(subscriptions))))
    expected = deferred_at_month_ends(ledger, [key[:7]])[key[:7]]
    posted = meta[revenue.RECOGNITION]
    assert posted["created"].value == posted["journals"].value == len(expected)
    for cur, amount in expected.items():
        assert meta[revenue.WATERFALL][f"deferred_end_{cur.lower()}"].value == amount
        assert meta[revenue.WATERFALL][f"recognised_{cur.lower()}"].value > 0
    assert "| currency | billed_month | billed |" in meta[revenue.WATERFALL]["waterfall"].value
    csv = Path(meta[revenue.WATERFALL]["csv"].value)
    assert csv.parent == tmp_path / "reports" and csv.read_text().startswith(
        "currency,billed_month,billed,")
    again = materialize([revenue.erp_revenue_recognition], resources=resources,
                        partition_key=key)
    rerun = again.get_asset_materialization_events()[0].materialization.metadata
    assert rerun["created"].value == 0
    assert rerun["already_linked"].value == posted["journals"].value
