"""``--profile accrual``: the history a month-end close is tested on, read through
Stripe's API with the official SDK (and the close ground truth checked against it).

One sandbox per module: 90 days at scale 0.01 (about 1,300 balance
transactions in 25 presentment currencies, settling in USD, EUR and GBP).
"""
from __future__ import annotations

import calendar
import time
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest
import stripe

from sandbox.stripe.bt_types import CATEGORIES, CATEGORY_TYPES, TYPES
from tests.sandbox.fixtures import Sandbox, start_stripe_sandbox

DAY = 86_400


@pytest.fixture(scope="module")
def accrual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sb = start_stripe_sandbox(tmp_path_factory.mktemp("stripe-accrual"), history_days=90,
                              scale="0.01", seed=3, extra_args=("--profile", "accrual"))
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def api(accrual: Sandbox) -> stripe.StripeClient:
    return stripe.StripeClient(accrual.api_key, base_addresses={"api": accrual.base_url})


@pytest.fixture(scope="module")
def bts(api: stripe.StripeClient) -> list[stripe.BalanceTransaction]:
    return list(api.v1.balance_transactions.list(params={"limit": 100}).auto_paging_iter())


@pytest.fixture(scope="module")
def charges(api: stripe.StripeClient) -> dict[str, stripe.Charge]:
    return {ch.id: ch for ch in api.v1.charges.list(params={"limit": 100}).auto_paging_iter()}


@pytest.fixture(scope="module")
def payouts(api: stripe.StripeClient) -> list[stripe.Payout]:
    return list(api.v1.payouts.list(params={"limit": 100}).auto_paging_iter())


@pytest.fixture(scope="module")
def invoices(api: stripe.StripeClient) -> list[stripe.Invoice]:
    return list(api.v1.invoices.list(params={"limit": 100}).auto_paging_iter())


def _month_ends(now: int, days: int = 90) -> list[int]:
    """The last second of every month that ended inside the history."""
    out = []
    t = time.gmtime(now - days * DAY)
    year, month = t.tm_year, t.tm_mon
    while True:
        end = calendar.timegm((year, month, calendar.monthrange(year, month)[1], 23, 59, 59))
        if end >= now:
            return out
        if end > now - days * DAY:
            out.append(end)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


# ----------------------------------------------------------------------------- settlement


def test_settles_in_usd_eur_and_gbp_with_per_currency_balances(
        api: stripe.StripeClient, bts: list, accrual: Sandbox) -> None:
    balance = api.v1.balance.retrieve()
    currencies = {b.currency for b in balance.available}
    assert currencies == {"usd", "eur", "gbp"} == {b.currency for b in balance.pending}
    assert {bt.currency for bt in bts} == currencies
    nets: dict[str, int] = defaultdict(int)
    for bt in bts:
        assert bt.net == bt.amount - bt.fee and bt.fee == sum(f.amount for f in bt.fee_details)
        assert all(f.currency == bt.currency for f in bt.fee_details)
        nets[bt.currency] += bt.net
    for cur in currencies:  # balance = available + pending = Σ net, per currency
        available = next(b.amount for b in balance.available if b.currency == cur)
        pending = next(b.amount for b in balance.pending if b.currency == cur)
        assert available + pending == nets[cur]
    truth = accrual.control("GET", "close_truth")["balances"]
    assert {c: v["total"] for c, v in truth.items()} == dict(nets)


def test_charges_settle_in_their_currency_or_convert_to_usd(charges: dict, bts: list) -> None:
    by_source = {bt.source: bt for bt in bts if bt.type in ("charge", "payment")}
    presentment = {ch.currency for ch in charges.values()}
    assert len(presentment) >= 20, sorted(presentment)
    seen = set()
    for ch in charges.values():
        bt = by_source.get(ch.id)
        if bt is None:
            continue
        if ch.currency in ("usd", "eur", "gbp"):
            assert (bt.currency, bt.amount, bt.exchange_rate) == (ch.currency, ch.amount, None)
        else:
            assert bt.currency == "usd" and bt.exchange_rate is not None and bt.exchange_rate > 0
        seen.add(bt.currency)
    assert seen == {"usd", "eur", "gbp"}


def test_payouts_per_currency_net_to_their_amount_and_never_twice(
        api: stripe.StripeClient, payouts: list, bts: list) -> None:
    automatic = [po for po in payouts if po.automatic]
    assert {po.currency for po in automatic} == {"usd", "eur", "gbp"}
    assert len({po.destination for po in automatic}) == 3  # one bank account per currency
    swept: Counter[str] = Counter()
    for po in automatic:
        listed = list(api.v1.balance_transactions.list(
            params={"payout": po.id, "limit": 100}).auto_paging_iter())
        assert {bt.currency for bt in listed} == {po.currency}
        own = [bt for bt in listed if bt.source == po.id and bt.type == "payout"]
        assert len(own) == 1 and own[0].amount == -po.amount
        assert sum(bt.net for bt in listed if bt is not own[0]) == po.amount
        swept.update(bt.id for bt in listed)
    assert max(swept.values()) == 1  # nothing paid out twice


def test_payout_with_a_fee_on_its_own_balance_transaction(payouts: list, bts: list) -> None:
    by_id = {bt.id: bt for bt in bts}
    with_fee = [po for po in payouts if by_id[po.balance_transaction].fee > 0]
    assert with_fee and all(po.method == "instant" for po in with_fee)
    for po in with_fee:
        bt = by_id[po.balance_transaction]
        assert bt.amount == -po.amount and bt.net == -po.amount - bt.fee
        assert bt.fee_details[0].description == "Instant Payout fee"


def test_payouts_in_transit_at_month_end(payouts: list, accrual: Sandbox) -> None:
    now = accrual.control("GET", "health")["clock"]
    ends = _month_ends(now)
    assert ends
    for end in ends:
        in_transit = [po for po in payouts if po.created <= end < po.arrival_date
                      and po.status != "canceled"]
        assert {po.currency for po in in_transit} >= {"usd"}, end


# ----------------------------------------------------------------------------- tax and invoices


def test_taxed_invoices_in_stripe_shapes(api: stripe.StripeClient, invoices: list) -> None:
    taxed = [inv for inv in invoices if inv.total_taxes]
    assert len({inv.currency for inv in taxed}) >= 6
    for inv in taxed:
        lines = list(api.v1.invoices.line_items.list(inv.id, params={"limit": 100})
                     .auto_paging_iter())
        line_tax = sum(t.amount for li in lines for t in li.taxes)
        assert line_tax == sum(t.amount for t in inv.total_taxes) > 0
        assert inv.total == inv.subtotal + line_tax == inv.amount_due
        assert inv.total_excluding_tax == inv.subtotal == sum(li.amount for li in lines)
        entry = inv.total_taxes[0]
        assert entry.type == "tax_rate_details" and entry.tax_behavior == "exclusive"
        rate = api.v1.tax_rates.retrieve(entry.tax_rate_details.tax_rate)
        assert rate.object == "tax_rate" and rate.jurisdiction and rate.percentage > 0
        assert entry.taxable_amount == inv.subtotal


def test_invoice_lifecycles(invoices: list) -> None:
    statuses = Counter(inv.status for inv in invoices)
    assert statuses["open"] and statuses["void"] and statuses["uncollectible"]
    later = [inv for inv in invoices if inv.status == "paid"
             and inv.status_transitions.paid_at > inv.status_transitions.finalized_at + DAY]
    assert len({inv.currency for inv in later}) >= 2
    for inv in invoices:
        st = inv.status_transitions
        if inv.status == "void":
            assert st.voided_at >= st.finalized_at
        if inv.status == "uncollectible":
            assert st.marked_uncollectible_at >= st.finalized_at


def test_open_invoices_and_tax_at_every_month_end_match_the_api(
        accrual: Sandbox, invoices: list) -> None:
    now = accrual.control("GET", "health")["clock"]
    for at in _month_ends(now) + [now]:
        truth = accrual.control("GET", "close_truth", at=at)
        expected = sorted(
            inv.id for inv in invoices
            if inv.status_transitions.finalized_at is not None
            and inv.status_transitions.finalized_at <= at
            and not any(x is not None and x <= at for x in (
                inv.status_transitions.paid_at, inv.status_transitions.voided_at,
                inv.status_transitions.marked_uncollectible_at)))
        assert sorted(i["id"] for i in truth["open_invoices"]) == expected and expected, at
        assert len({i["currency"] for i in truth["open_invoices"]}) >= 2
        collected: dict[str, int] = defaultdict(int)
        for inv in invoices:
            st = inv.status_transitions
            if st.finalized_at is not None and st.finalized_at <= at and not (
                    st.voided_at is not None and st.voided_at <= at):
                collected[inv.currency] += sum(t.amount for t in inv.total_taxes)
        assert {c: v["collected"] for c, v in truth["tax"].items()} == dict(collected)
    final = accrual.control("GET", "close_truth", at=now)["tax"]
    assert any(v["refunded"] > 0 and v["net"] == v["collected"] - v["refunded"]
               for v in final.values())


def test_balance_as_of_month_end_is_the_balance_transactions_query(
        api: stripe.StripeClient, accrual: Sandbox) -> None:
    now = accrual.control("GET", "health")["clock"]
    at = _month_ends(now)[-1]
    truth = accrual.control("GET", "close_truth", at=at)["balances"]
    for cur, figures in truth.items():
        listed = api.v1.balance_transactions.list(
            params={"currency": cur, "created": {"lte": at}, "limit": 100}).auto_paging_iter()
        total = available = 0
        for bt in listed:
            total += bt.net
            available += bt.net if bt.available_on <= at else 0
        assert (figures["total"], figures["available"]) == (total, available)
        assert figures["available"] + figures["pending"] == figures["total"]


# ----------------------------------------------------------------------------- other movements


def test_refunds_disputes_and_bank_debit_failures(api: stripe.StripeClient, bts: list,
                                                  charges: dict) -> None:
    refunds = list(api.v1.refunds.list(params={"limit": 100}).auto_paging_iter())
    for cur in ("jpy", "kwd"):
        kinds = {"full" if r.amount == charges[r.charge].amount else "partial"
                 for r in refunds if r.currency == cur}
        assert kinds == {"full", "partial"}, cur
    disputes = list(api.v1.disputes.list(params={"limit": 100}).auto_paging_iter())
    assert {"won", "lost"} <= {d.status for d in disputes}
    failed = [ch for ch in charges.values() if ch.id.startswith("py_") and ch.status == "failed"]
    assert failed
    by_id = {bt.id: bt for bt in bts}
    for ch in failed:
        bt = by_id[ch.failure_balance_transaction]
        assert (bt.type, bt.reporting_category, bt.source) == (
            "payment_failure_refund", "charge_failure", ch.id)
        assert bt.amount == -by_id[ch.balance_transaction].amount
        assert ch.payment_method_details.type in ("sepa_debit", "us_bank_account")


def test_connect_fees_reserves_and_adjustments(api: stripe.StripeClient, bts: list) -> None:
    categories = Counter(bt.reporting_category for bt in bts)
    for cat in ("transfer", "platform_earning", "topup", "risk_reserved_funds",
                "connect_reserved_funds", "network_cost", "fee", "other_adjustment",
                "charge_failure", "dispute", "dispute_reversal", "refund", "payout_reversal"):
        assert categories[cat], cat
    transfers = list(api.v1.transfers.list(params={"limit": 100}).auto_paging_iter())
    assert transfers
    tr = transfers[0]
    bt = api.v1.balance_transactions.retrieve(tr.balance_transaction)
    assert (bt.type, bt.amount, bt.currency) == ("transfer", -tr.amount, tr.currency)
    dest = api.v1.accounts.retrieve(tr.destination)
    assert dest.type == "express" and dest.id != api.v1.accounts.retrieve_current().id
    with pytest.raises(stripe.InvalidRequestError, match="not modelled"):
        api.v1.charges.list(params={"limit": 1}, options={"stripe_account": dest.id})
    fees = api.v1.application_fees.list(params={"limit": 5}).data
    assert fees and api.v1.balance_transactions.retrieve(
        fees[0].balance_transaction).reporting_category == "platform_earning"


# ----------------------------------------------------------------------------- every documented type


@pytest.mark.parametrize("type", sorted(TYPES))
def test_one_balance_transaction_of_every_documented_type(
        accrual: Sandbox, api: stripe.StripeClient, type: str) -> None:
    made = accrual.control("POST", "balance_transactions",
                           {"type": type, "amount": 2500, "currency": "eur", "fee": 0})
    bt = api.v1.balance_transactions.retrieve(made["id"])
    assert (bt.type, bt.reporting_category) == (type, TYPES[type].category)
    assert bt.net == bt.amount - bt.fee and bt.currency == "eur"
    if TYPES[type].sign:
        assert bt.amount * TYPES[type].sign > 0
    if bt.source and bt.source.split("_")[0] in ("ch", "py", "re", "po", "tr", "trr", "fee",
                                                  "fr", "tu", "rtx"):
        source = api.v1.balance_transactions.retrieve(bt.id, params={"expand": ["source"]})
        assert source.source.id == bt.source


@pytest.mark.parametrize("category", sorted(CATEGORIES - {i.category for i in TYPES.values()}))
def test_categories_without_a_type_of_their_own(accrual: Sandbox, api: stripe.StripeClient,
                                                category: str) -> None:
    made = accrual.control("POST", "balance_transactions",
                           {"reporting_category": category, "amount": 1500, "currency": "usd"})
    bt = api.v1.balance_transactions.retrieve(made["id"])
    assert bt.reporting_category == category and bt.type == CATEGORY_TYPES[category]


# ----------------------------------------------------------------------------- generation paths


def test_accrual_bulk_load_into_a_file_equals_replay_through_the_live_path(tmp_path) -> None:
    """The writer process (file databases) cannot be read from while it loads: the accrual
    activity must carry what it changes later.  Same objects either way."""
    from sandbox.stripe.engine import Engine
    from sandbox.stripe.generator import generate
    from sandbox.stripe.store import Store

    end = 1_780_000_000
    on_disk = Engine(Store(str(tmp_path / "accrual.db")), seed=5, start_time=end)
    generate(on_disk, history_days=35, scale=0.01, seed=5, end=end, profile="accrual")
    live = Engine(Store(), seed=5, start_time=end)
    generate(live, history_days=35, scale=0.01, seed=5, end=end, bulk=False, profile="accrual")
    for object in ("charge", "refund", "dispute", "payout", "balance_transaction", "invoice",
                   "line_item", "transfer", "application_fee", "topup", "tax_rate"):
        assert list(on_disk.export(object)) == list(live.export(object)), object
    assert on_disk.balance() == live.balance()
