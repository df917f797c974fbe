"""Books that close: 90 days of the Stripe sandbox's accrual history (settlement in USD, EUR
and GBP; 25 presentment currencies; taxed, open, void and uncollectible invoices; full and
partial refunds; lost and won disputes; ACH failures; Connect; payouts in transit at month
ends) posted into each ERP through the product's posting path, then closed with Dagster for
every month end of the history, and every payout reconciled.

For each ERP and each month end, the close asset's materialization says 0 unexplained minor
units and its blocking check passes, and its figures are the systems' own: Stripe clearing
is Stripe's balance (the sandbox's ground truth at the month's last second) in every
currency, cash in transit is the payouts Stripe's payout list shows sent and not arrived,
sales tax payable is the tax of Stripe's invoices finalized by then less refunded shares,
less the tax of those still open or uncollectible, AR control is the ERP's open items.  A payout in transit at a month end is in the in-transit
account on that date (the ERP's trial balance), and in the bank after its arrival (the
ERP's bank deposit, dated its arrival day).

One history for the module (about 1,300 balance transactions: small, every case).
"""
from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dagster import instance_for_test, materialize

from assets.close import close_accounts, close_trial_balance
from connectors.stripe import StripeApi
from domain.erp import DocKind
from domain.mapping import load_mapping
from domain.reconciliation import FAILED, MATCHED, PENDING
from posting.reconcile import reconcile_payouts
from posting.run import post_window
from resources import WarehouseResource
from resources.erp import ERP_ENV, ErpResource
from tests.conftest import mirror_history
from tests.erp.conftest import ERP_KINDS, ErpSandbox, settle, start_erp_sandbox
from tests.pipelines.test_close import stripe_in_transit
from tests.sandbox.fixtures import Sandbox, start_stripe_sandbox
from warehouse.db import make_engine
from warehouse.payout_sync import sync_payouts

MAPPING = load_mapping()
ACCOUNTS = close_accounts(MAPPING)
DAYS = 90


def month_ends(clock: int) -> list[datetime]:
    """The first instant after each month that ended inside the history (UTC)."""
    first = datetime.fromtimestamp(clock - DAYS * 86_400, tz=timezone.utc).date()
    out, month = [], first.replace(day=1)
    while True:
        month = (month + timedelta(days=32)).replace(day=1)
        end = datetime.combine(month, datetime.min.time(), tzinfo=timezone.utc)
        if end.timestamp() > clock:
            return out
        out.append(end)


@pytest.fixture(scope="module")
def accrual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path, int]]:
    """The Stripe sandbox, its history mirrored through its API (with every payout's balance
    transactions, as the reconciliation mirrors them), and its clock."""
    tmp = tmp_path_factory.mktemp("stripe-accrual-90")
    sb = start_stripe_sandbox(tmp, history_days=DAYS, scale="0.01", seed=14,
                              extra_args=("--profile", "accrual"))
    try:
        path, clock = mirror_history(sb, tmp / "mirror.db")
        engine = make_engine(f"sqlite:///{path}")
        sync_payouts(StripeApi(sb.api_key, sb.base_url, rate_limit=1000), engine, 0,
                     clock + 10 * 86_400)
        engine.dispose()
        yield sb, path, clock
    finally:
        sb.stop()


@dataclass
class Closed:
    kind: str
    sandbox: ErpSandbox
    url: str
    closes: list[tuple[datetime, dict[str, Any], Any]]   # (month end, metadata, check)


@pytest.fixture(scope="module", params=ERP_KINDS)
def closed(request: pytest.FixtureRequest, accrual, tmp_path_factory) -> Iterator[Closed]:
    """The whole history posted into a fresh sandbox of one ERP (M3's invoicing job run and
    what waited for it picked up), then the close materialized for every month end."""
    stripe_sb, mirror, clock = accrual
    tmp = tmp_path_factory.mktemp(f"close-90-{request.param}")
    shutil.copy(mirror, tmp / "warehouse.db")
    url = f"sqlite:///{tmp / 'warehouse.db'}"
    sb = start_erp_sandbox(request.param, tmp)
    try:
        engine, adapter = make_engine(url), sb.adapter()
        report = post_window(adapter, engine, MAPPING, None, None)
        resumed = settle(sb, adapter, engine)
        assert report.dead == 0 and resumed.dead == 0 and not resumed.waiting, (
            report.totals(), resumed.totals())
        adapter.close()
        engine.dispose()
        resource = ErpResource(**{f: sb.env[v] for f, v in ERP_ENV.items() if v in sb.env})
        closes = []
        with instance_for_test() as instance:
            for end in month_ends(clock):
                key = (end - timedelta(days=1)).strftime("%Y-%m-01")
                result = materialize([close_trial_balance], partition_key=key,
                                     instance=instance, raise_on_error=False,
                                     resources={"erp": resource,
                                                "warehouse": WarehouseResource(url=url)})
                (mat,) = result.asset_materializations_for_node("close__trial_balance")
                (check,) = result.get_asset_check_evaluations()
                closes.append((end, {k: v.value for k, v in mat.metadata.items()}, check))
        yield Closed(request.param, sb, url, closes)
    finally:
        sb.proc.stop()


def test_the_history_has_every_case_a_controller_closes_on(accrual) -> None:
    stripe_sb, mirror, clock = accrual
    engine = make_engine(f"sqlite:///{mirror}")
    q = lambda sql: engine.connect().execute(sa.text(sql)).all()  # noqa: E731
    assert q("SELECT COUNT(DISTINCT currency) FROM stripe_charges")[0][0] >= 20
    assert {c for (c,) in q("SELECT DISTINCT currency FROM stripe_payouts")} >= {
        "usd", "eur", "gbp"}
    categories = {c for (c,) in q("SELECT DISTINCT reporting_category "
                                  "FROM stripe_balance_transactions")}
    assert {"charge", "refund", "dispute", "dispute_reversal", "charge_failure", "transfer",
            "platform_earning", "payout", "payout_reversal", "topup"} <= categories
    assert q("SELECT COUNT(*) FROM stripe_balance_transactions WHERE exchange_rate IS NOT NULL"
             )[0][0]                                                                  # FX
    assert {s for (s,) in q("SELECT DISTINCT json_extract(raw, '$.status') "
                            "FROM stripe_disputes")} >= {"won", "lost"}
    partial, full = q("SELECT SUM(r.amount < c.amount), SUM(r.amount = c.amount) FROM "
                      "stripe_refunds r JOIN stripe_charges c "
                      "ON c.id = json_extract(r.raw, '$.charge')")[0]
    assert partial and full
    assert {s for (s,) in q("SELECT DISTINCT status FROM stripe_invoices")} >= {
        "open", "paid", "void", "uncollectible"}
    engine.dispose()
    ends = month_ends(clock)
    assert len(ends) >= 2
    for end in ends:
        at = int(end.timestamp()) - 1
        truth = stripe_sb.control("GET", "close_truth", at=at)
        assert any(truth["open_totals"].values()), end      # open invoices at the month end
        assert any(v["net"] for v in truth["tax"].values()), end                # tax
        assert +stripe_in_transit(stripe_sb, at), end           # payouts in transit


def test_every_month_end_closes_to_the_minor_unit_in_every_currency(closed, accrual) -> None:
    stripe_sb, _, _ = accrual
    assert len(closed.closes) >= 2
    for end, meta, check in closed.closes:
        at = int(end.timestamp()) - 1
        day = (end - timedelta(days=1)).date()
        balances = {c.upper(): v["total"] for c, v in
                    stripe_sb.control("GET", "close_truth", at=at)["balances"].items()}
        transit = stripe_in_transit(stripe_sb, at)
        assert meta["period_end"] == day.isoformat() and meta["erp"] == closed.kind
        assert meta["unexplained_minor"] == 0 and meta["ar_difference_minor"] == 0, (
            day, meta["currencies_off"], meta["report"])
        assert check.passed and meta["balanced"] is True, (day, check.description)
        currencies = {k.split("/")[1] for k in meta if k.startswith("clearing_minor/")}
        assert {"USD", "EUR", "GBP"} <= currencies
        for cur in currencies | {c for c, v in balances.items() if v}:
            assert meta[f"unexplained_minor/{cur}"] == 0, (day, cur)
            assert meta[f"clearing_minor/{cur}"] == balances.get(cur, 0), (day, cur)
            assert meta[f"in_transit_gl_minor/{cur}"] == transit[cur], (day, cur)
            assert meta[f"ar_control_minor/{cur}"] == meta[f"ar_subledger_minor/{cur}"]
        assert "**Balanced**" in meta["report"] and "Not identified" not in meta["report"]
        # sales tax payable: the ERP's liability is Stripe's tax less refunded, which is the
        # tax of the invoices finalized by then (the sandbox's ground truth) less the tax of
        # those still open or marked uncollectible (not collected: not yet booked)
        truth = stripe_sb.control("GET", "close_truth", at=at)
        owed = Counter({c.upper(): v["net"] for c, v in truth["tax"].items()})
        for inv in truth["open_invoices"]:
            owed[inv["currency"].upper()] -= inv["tax"]
        for inv in _uncollectible(stripe_sb, at):
            owed[inv["currency"].upper()] -= sum(t["amount"] for t in inv["total_taxes"])
        taxed = {k.split("/")[1]: v for k, v in meta.items()
                 if k.startswith("tax_payable_minor/") and v}
        assert taxed == {c: v for c, v in owed.items() if v} and len(taxed) >= 3, day
        assert all(meta[f"stripe_tax_minor/{c}"] == v for c, v in taxed.items())


def test_a_payout_in_transit_at_month_end_is_in_transit_then_in_the_bank(closed,
                                                                        accrual) -> None:
    stripe_sb, _, clock = accrual
    adapter = closed.sandbox.adapter()
    seen = 0
    try:
        for end, meta, _ in closed.closes:
            at, day = int(end.timestamp()) - 1, (end - timedelta(days=1)).date()
            # in the in-transit account on that date (the ERP's trial balance, as the close
            # read it), by currency, exactly the payouts Stripe's list shows on the way
            payouts = _payouts_in_transit(stripe_sb, at)
            on_the_way = Counter()
            for po in payouts:
                if not _failed_by(stripe_sb, po, at):
                    on_the_way[po["currency"].upper()] += po["amount"]
            assert on_the_way, day
            assert {c: meta[f"in_transit_gl_minor/{c}"] for c in on_the_way} == on_the_way
            # and in the bank once arrived, dated its arrival day, after the month end
            arrived = {p["id"]: p for p in payouts if p["arrival_date"] <= clock
                       and p["status"] == "paid"}
            deposits = {r.doc.external_id: r.doc for r in
                        adapter.read(DocKind.DEPOSIT, sorted(arrived))}
            assert set(deposits) == set(arrived), day
            for pid, po in arrived.items():
                dep = deposits[pid]
                arrival = datetime.fromtimestamp(po["arrival_date"], tz=timezone.utc).date()
                assert dep.deposit_date == arrival > day
                assert dep.amount.amount == po["amount"]
                seen += 1
    finally:
        adapter.close()
    assert seen


def test_every_payout_reconciles_in_its_own_currency(closed, accrual) -> None:
    """USD, EUR and GBP payouts, each against its balance transactions and the ERP's
    documents: matched to the minor unit, failed ones with their deposit reversed."""
    engine = make_engine(closed.url)
    with engine.connect() as conn:
        payouts = [json.loads(raw) for (raw,) in conn.execute(
            sa.text("SELECT raw FROM stripe_payouts ORDER BY id"))]
    adapter = closed.sandbox.adapter()
    try:
        results = reconcile_payouts(adapter, engine, MAPPING, payouts)
    finally:
        adapter.close()
        engine.dispose()
    by_status: dict[str, set[str]] = {}
    for r in results:
        by_status.setdefault(r.status, set()).add(r.currency)
        assert r.variance == r.found - r.expected == 0 and not r.items, (r.row(), r.items)
    assert by_status[MATCHED] >= {"USD", "EUR", "GBP"}
    assert set(by_status) <= {MATCHED, PENDING, FAILED} and FAILED in by_status
    matched = [r for r in results if r.status == MATCHED]
    assert len(matched) >= 0.9 * len([p for p in payouts if p["status"] == "paid"])


def _uncollectible(sb: Sandbox, at: int) -> list[dict[str, Any]]:
    api = StripeApi(sb.api_key, sb.base_url, rate_limit=1000)
    return [inv for page in api.pages("/v1/invoices", {"status": "uncollectible"})
            for inv in page["data"]
            if (inv["status_transitions"].get("marked_uncollectible_at") or at + 1) <= at]


def _failed_by(sb: Sandbox, po: dict[str, Any], at: int) -> bool:
    failure = po.get("failure_balance_transaction")
    return bool(failure) and StripeApi(sb.api_key, sb.base_url, rate_limit=1000).get(
        f"/v1/balance_transactions/{failure}")["created"] <= at


def _payouts_in_transit(sb: Sandbox, at: int) -> list[dict[str, Any]]:
    """Stripe's payouts sent by ``at`` and arriving after that day (Stripe's payout list)."""
    api = StripeApi(sb.api_key, sb.base_url, rate_limit=1000)
    day: date = datetime.fromtimestamp(at, tz=timezone.utc).date()
    out = []
    for page in api.pages("/v1/payouts", {"created[lte]": at}):
        for po in page["data"]:
            arrival = datetime.fromtimestamp(po["arrival_date"], tz=timezone.utc).date()
            if po.get("balance_transaction") and arrival > day:
                out.append(po)
    return out

