"""The posting rules over the Stripe sandbox's accrual history (USD/EUR/GBP settlement, tax,
ACH/SEPA failures, Connect, top-ups, reserves, network costs, instant payouts), read through
Stripe's API into the mirror: every balance transaction posts or dead-letters by name, and at
every month end Stripe clearing equals Stripe's balance in every currency, to the minor unit.

The ERP side is the canonical documents themselves (no ERP round trip: the ERP sandboxes'
trial balances are tests/erp/test_trial_balance.py)."""
from __future__ import annotations

import calendar
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date

import pytest

from connectors.stripe import StripeApi
from domain.erp import DocKind
from domain.mapping import load_mapping
from domain.postings import PostingBuilder, Postings
from posting.activity import load_activity
from tests.conftest import mirror_history
from tests.sandbox.fixtures import Sandbox, start_stripe_sandbox
from warehouse.db import make_engine

MAPPING = load_mapping()
ACC = MAPPING.accounts
DAY = 86_400


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Postings, int]]:
    """The sandbox, the postings of everything it holds (mirrored through its API), its clock."""
    sb = start_stripe_sandbox(tmp_path_factory.mktemp("stripe-accrual-post"), history_days=62,
                              scale="0.01", seed=5, extra_args=("--profile", "accrual"))
    try:
        path, clock = mirror_history(sb, tmp_path_factory.mktemp("mirror") / "w.db")
        activity = load_activity(make_engine(f"sqlite:///{path}"), None, None)
        yield sb, PostingBuilder(MAPPING).build(activity), clock
    finally:
        sb.stop()


def balance_on(postings: Postings, account: str, day: date) -> Counter:
    """Debit minus credit on ``account`` per currency, of documents dated up to ``day``."""
    out: Counter = Counter()
    for j in postings.documents[DocKind.JOURNAL].values():
        if j.entry_date <= day:
            for x in j.lines:
                if x.account == account:
                    out[j.currency] += x.debit.amount - x.credit.amount
    if account == ACC.stripe_clearing:
        for p in postings.documents[DocKind.PAYMENT].values():
            if p.received_date <= day:
                out[p.amount.currency] += p.amount.amount
    for d in postings.documents[DocKind.DEPOSIT].values():
        if d.deposit_date <= day:
            if d.clearing_account == account:
                out[d.amount.currency] -= d.amount.amount
            if d.bank_account == account:
                out[d.amount.currency] += d.amount.amount
    return Counter({k: v for k, v in out.items() if v})


def month_ends(now: int, days: int = 62) -> list[int]:
    t = time.gmtime(now - days * DAY)
    year, month, out = t.tm_year, t.tm_mon, []
    while True:
        last = calendar.timegm((year, month, calendar.monthrange(year, month)[1], 23, 59, 59))
        if last >= now:
            return out + [now]
        if last >= now - days * DAY:
            out.append(last)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def test_every_balance_transaction_posts_and_nothing_is_parked(history) -> None:
    _, postings, _ = history
    assert not postings.problems, [p.message for p in postings.problems][:5]
    sources = {j.source for j in postings.documents[DocKind.JOURNAL].values()}
    assert {"payout", "charge_failure", "transfer", "platform_earning", "topup",
            "risk_reserved_funds", "network_cost", "sales_tax"} <= sources
    assert "1999" not in {x.account for j in postings.documents[DocKind.JOURNAL].values()
                          for x in j.lines}


def test_clearing_equals_stripes_balance_at_every_month_end(history) -> None:
    accrual, postings, clock = history
    checked = 0
    for at in month_ends(clock):
        truth = accrual.control("GET", "close_truth", at=at)["balances"]
        day = date(*time.gmtime(at)[:3])
        expected = {cur.upper(): v["total"] for cur, v in truth.items() if v["total"]}
        assert balance_on(postings, ACC.stripe_clearing, day) == expected, day
        checked += 1
    assert checked >= 2


def test_payouts_not_arrived_are_in_transit_and_the_tax_is_a_liability(history) -> None:
    accrual, postings, clock = history
    day = date(*time.gmtime(clock)[:3])
    api = StripeApi(accrual.api_key, accrual.base_url, rate_limit=1000)
    on_the_way = Counter()
    for page in api.pages("/v1/payouts", {}):
        for po in page["data"]:
            if po["status"] in ("pending", "in_transit"):
                on_the_way[po["currency"].upper()] += po["amount"]
    assert on_the_way                                                # the history ends mid-way
    assert balance_on(postings, ACC.cash_in_transit, day) == on_the_way
    tax = balance_on(postings, ACC.sales_tax_payable, day)
    assert tax and all(v < 0 for v in tax.values())                 # credit balances
