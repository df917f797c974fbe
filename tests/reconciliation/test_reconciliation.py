"""Payout reconciliation over a generated history: everything matches; each injected
discrepancy is found with its payout, item and amount, and nothing correct is flagged."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.stripe import StripeApi
from domain.erp import DocKind, JournalLine
from domain.mapping import load_mapping
from domain.money import Money
from domain.reconciliation import FAILED, MATCHED, PENDING, reconcile
from posting.reconcile import _stripe_side, erp_view, reconcile_payouts
from posting.run import post_balance_transactions, post_window
from tests.erp.conftest import settle
from tests.posting.fake_erp import FakeErp
from warehouse.payout_sync import sync_payouts
from warehouse.schema import stripe_payouts

MAPPING = load_mapping()
DAY = 86400


def payouts_synced(engine, sb, clock: int, days: int = 40) -> list[dict]:
    api = StripeApi(sb.api_key, sb.base_url, rate_limit=1000)
    return sync_payouts(api, engine, clock - days * DAY, clock + 5 * DAY)


@pytest.fixture
def history(engine, mirrored, stripe_history):
    payouts = payouts_synced(engine, stripe_history, mirrored[1])
    erp = FakeErp()
    assert post_window(erp, engine, MAPPING, None, None).dead == 0
    return engine, erp, [p for p in payouts if p.get("automatic")]


def test_every_automatic_payout_matches(history) -> None:
    engine, erp, payouts = history
    results = reconcile_payouts(erp, engine, MAPPING, payouts)
    statuses = {r.payout: r.status for r in results}
    paid = [p["id"] for p in payouts if p["status"] == "paid"]
    assert len(paid) >= 20
    assert all(statuses[p] == MATCHED for p in paid), [r.row() for r in results if r.items][:3]
    assert all(r.variance == 0 and r.expected == r.found == 0 for r in results
               if r.status == MATCHED)
    for r in results:
        assert r.status in (MATCHED, PENDING, FAILED)
        assert not r.items
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.text(
            "SELECT status, COUNT(*) FROM reconciliation_payouts GROUP BY status")).all())
    assert stored[MATCHED] == len(paid)


class DuplicatingErp(FakeErp):
    """Shows one receipt twice, as an ERP would after a double posting."""

    duplicate: str = ""

    def read(self, kind, external_ids=None):
        records = super().read(kind, external_ids)
        return records + [r for r in records if r.doc.external_id == self.duplicate]


def test_injected_discrepancies_are_found_and_nothing_else(history) -> None:
    engine, fake, payouts = history
    erp = DuplicatingErp()
    erp.docs, erp.balances = fake.docs, fake.balances
    paid = [p for p in payouts if p["status"] == "paid"]
    bts, charges, fx_charges = _stripe_side(engine, [p["id"] for p in paid])

    def charge_bt(payout: dict) -> dict:
        return next(b for b in bts[payout["id"]]
                    if b["type"] == "charge" and b["fee"] and b["source"] not in fx_charges)

    p_deleted, p_fee, p_failed, p_twice = paid[1], paid[3], paid[5], paid[7]
    deleted = charge_bt(p_deleted)
    del erp.docs[DocKind.PAYMENT][deleted["source"]]                      # a receipt deleted
    fee_bt = charge_bt(p_fee)                                              # a fee 7 too high
    fee_doc = erp.docs[DocKind.JOURNAL][f"{fee_bt['id']}:fee"]
    cur = fee_doc.currency
    wrong = [JournalLine(account=x.account,
                         debit=Money(x.debit.amount + 7 if x.debit.amount else 0, cur),
                         credit=Money(x.credit.amount + 7 if x.credit.amount else 0, cur))
             for x in fee_doc.lines]
    erp.docs[DocKind.JOURNAL][fee_doc.external_id] = fee_doc.model_copy(update={"lines": tuple(wrong)})
    twice = charge_bt(p_twice)                                             # a receipt twice
    erp.duplicate = twice["source"]
    failed = copy.deepcopy(p_failed)                                       # failed after paid
    failed.update(status="failed", failure_balance_transaction="txn_failure_never_posted")

    inputs = [p for p in paid if p["id"] != p_failed["id"]] + [failed]
    results = {r.payout: r for r in reconcile(inputs, bts, charges,
                                              erp_view(erp, MAPPING, bts, inputs), fx_charges)}
    flagged = {pid: r for pid, r in results.items() if r.items or r.variance}
    assert set(flagged) == {p_deleted["id"], p_fee["id"], p_failed["id"], p_twice["id"]}

    [item] = flagged[p_deleted["id"]].items
    assert (item.kind, item.source, item.problem, item.expected, item.found) == (
        "receipt", deleted["source"], "missing", deleted["amount"], 0)
    assert flagged[p_deleted["id"]].variance == -deleted["amount"]      # found - expected

    [item] = flagged[p_fee["id"]].items
    assert (item.kind, item.balance_transaction, item.problem, item.expected, item.found) == (
        "fee", fee_bt["id"], "wrong amount", fee_bt["fee"], fee_bt["fee"] + 7)
    assert flagged[p_fee["id"]].variance == -7           # 7 more out of clearing than Stripe took

    [item] = flagged[p_twice["id"]].items
    assert (item.kind, item.source, item.problem, item.found) == (
        "receipt", twice["source"], "duplicated", 2 * twice["amount"])
    assert flagged[p_twice["id"]].variance == twice["amount"]
    assert all(r.variance == r.found - r.expected for r in results.values())

    failed_result = flagged[p_failed["id"]]
    assert failed_result.status == FAILED
    [item] = failed_result.items
    assert (item.kind, item.problem, item.expected, item.found) == (
        "reversal", "deposit of a failed payout not reversed", p_failed["amount"], 0)
    # the deposit is in the ERP, its reversal is not: found counts it
    assert (failed_result.expected, failed_result.found, failed_result.variance) == (
        0, -p_failed["amount"], -p_failed["amount"])

    assert all(r.status == MATCHED for pid, r in results.items() if pid not in flagged)


def test_every_automatic_payout_of_90_days_matches_on_each_erp(erp, engine_90, mirrored_90,
                                                              history_90) -> None:
    engine = engine_90
    payouts = [p for p in payouts_synced(engine, history_90, mirrored_90[1], days=100)
               if p.get("automatic")]
    adapter = erp.adapter()
    assert post_window(adapter, engine, MAPPING, None, None).dead == 0
    assert settle(erp, adapter, engine).dead == 0     # M3: receipts waited for its invoices
    results = reconcile_payouts(adapter, engine, MAPPING, payouts)
    paid = {p["id"] for p in payouts if p["status"] == "paid"}
    assert len(paid) >= 80, len(paid)
    assert all(r.status == MATCHED for r in results if r.payout in paid), \
        [(r.payout, [i.as_dict() for i in r.items][:3]) for r in results if r.items][:3]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(stripe_payouts)).scalar() >= len(paid)


def test_reconciliation_asset_reports_and_its_checks_pass(stripe_history, mirrored, tmp_path,
                                                         monkeypatch) -> None:
    """Mirror, post and reconcile a range of days in one run, as a backfill from the UI would."""
    from datetime import datetime, timezone

    from dagster import instance_for_test, materialize

    from assets.erp import erp_posting
    from assets.reconciliation import reconciliation_payouts
    from assets.stripe import stripe_mirror
    from resources import ErpResource, StripeResource, WarehouseResource
    from tests.erp.conftest import start_erp_sandbox

    monkeypatch.setenv("STRIPE_ERP_DATA_DIR", str(tmp_path))
    (tmp_path / "erp").mkdir()
    tims = start_erp_sandbox("tims", tmp_path / "erp")
    try:
        clock = mirrored[1]
        end = (clock // DAY - 2) * DAY
        start = end - 10 * DAY
        day = lambda ts: datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d")  # noqa: E731
        resources = {
            "stripe": StripeResource(api_key=stripe_history.api_key,
                                     api_base=stripe_history.base_url, rate_limit=1000),
            "warehouse": WarehouseResource(url=f"sqlite:///{tmp_path / 'w.db'}"),
            "erp": ErpResource(kind="tims", base_url=tims.env["ERP_BASE_URL"],
                               tims_client_id=tims.env["TIMS_CLIENT_ID"],
                               tims_client_secret=tims.env["TIMS_CLIENT_SECRET"])}
        tags = {"dagster/asset_partition_range_start": day(start),
                "dagster/asset_partition_range_end": day(end - 1)}
        with instance_for_test() as instance:
            # the range's payouts settle charges of earlier days, never posted: the
            # reconciliation posts them first (same posting path), then matches
            result = materialize([stripe_mirror, erp_posting, reconciliation_payouts],
                                 resources=resources, instance=instance, tags=tags)
            assert result.success
            checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()
                      if c.asset_key.path[0] == "reconciliation"}
            assert checks == {name: True for name in (
                "payout_nets_sum_to_payout", "clearing_nets_to_zero",
                "every_charge_has_a_receipt", "no_erp_document_without_source")}
            [meta] = {m.asset_key.path[0]: m.metadata for m in
                      result.asset_materializations_for_node("reconciliation__payouts")
                      }.values()
            assert meta["matched"].value >= 5 and meta["variance"].value == 0
            assert meta["pending"].value == 0 and meta["sources_not_posted"].value == 0
            assert meta["variance_usd"].value == "USD 0.00"
            summary = meta["summary"].value
            assert "| arrival date | currency |" in summary and "| USD |" in summary
            assert re.search(r"\| USD \| \d+ \| USD [\d,]+\.\d\d \|", summary)  # paid out, formatted
            assert Path(meta["unmatched_csv"].value).read_text().startswith("payout_id,")

            # one day alone: its checks' results are that day's partition's
            one = materialize([reconciliation_payouts], resources=resources, instance=instance,
                              partition_key=day(end - 2 * DAY))
            assert {c.partition for c in one.get_asset_check_evaluations()} == \
                {day(end - 2 * DAY)}
    finally:
        tims.proc.stop()


def test_manual_payouts_are_matched_by_their_deposit() -> None:
    from domain.reconciliation import ErpView, VARIANCE, reconcile_payout
    manual = {"id": "po_manual", "amount": 50_000, "currency": "usd", "status": "paid",
              "automatic": False, "reconciliation_status": "not_applicable"}
    ok = reconcile_payout(manual, [], {}, ErpView({}, {}, {"po_manual": [50_000]}))
    assert (ok.status, ok.variance, ok.items) == (MATCHED, 0, [])
    short = reconcile_payout(manual, [], {}, ErpView({}, {}, {"po_manual": [49_000]}))
    assert (short.status, short.variance) == (VARIANCE, 1_000)  # 1,000 left in clearing
    assert (short.expected, short.found) == (-50_000, -49_000)
    assert short.items[0].kind == "deposit" and short.items[0].problem == "wrong amount"
    missing = reconcile_payout(manual, [], {}, ErpView({}, {}, {}))
    assert missing.status == VARIANCE and missing.items[0].problem == "missing"


def test_payouts_settling_unposted_days_are_pending_with_their_sources_then_posted_first(
        engine, mirrored, stripe_history) -> None:
    """Reconciling payouts whose balance transactions were never posted: without a way to
    post them each paid payout is pending and names them; with the posting path given, they
    are posted first and every paid payout matches. Never a stack trace."""
    payouts = [p for p in payouts_synced(engine, stripe_history, mirrored[1]) if p["automatic"]]
    paid = {p["id"] for p in payouts if p["status"] == "paid"}
    erp = FakeErp()                     # nothing posted yet
    first = {r.payout: r for r in reconcile_payouts(erp, engine, MAPPING, payouts)}
    assert paid and all(first[p].status == PENDING for p in paid)
    sample = first[sorted(paid)[0]]
    assert sample.items and {i.kind for i in sample.items} == {"source"}
    assert all(i.problem == "source not posted: not posted" for i in sample.items)
    assert erp.calls == 0 or all(first[p].variance == 0 for p in paid)

    posted: list[set[str]] = []

    def post_sources(ids: set[str]) -> None:
        posted.append(ids)
        post_balance_transactions(erp, engine, MAPPING, ids)
    second = {r.payout: r for r in reconcile_payouts(erp, engine, MAPPING, payouts, post_sources)}
    assert len(posted) == 1 and {i.balance_transaction for i in sample.items} <= posted[0]
    assert all(second[p].status == MATCHED for p in paid), \
        [second[p].row() for p in paid if second[p].status != MATCHED][:3]
