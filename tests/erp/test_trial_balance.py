"""The generated 30-day Stripe history, posted into each ERP through the product's posting
path, read back as an accountant would: a trial balance through the ERP's own GL API.

* every voucher balances, in its currency, and the ledger balances in every currency;
* the trial balance is the sum of the posted lines (for adapters with their own endpoint);
* the Stripe clearing account equals Stripe's balance (available plus pending, from
  ``GET /v1/balance`` at the history's as-of instant) in every currency to the minor unit;
  the cash-in-transit account holds exactly the payouts Stripe has sent that have not
  arrived, and none of them is in the bank yet;
* the AR control account equals the open AR invoices of the ERP's own sub-ledger, and was
  debited by exactly the invoices' totals.

An ERP takes part once its adapter implements ``gl_lines`` (skipped with the reason until
then).  The history is posted once per ERP per session (``posted_history``).
"""
from __future__ import annotations

from collections import Counter

import pytest

from domain.erp import DocKind
from domain.mapping import load_mapping
from tests.support.erp_ledger import missing_capability, stripe_side, sums, unbalanced_vouchers

MAPPING = load_mapping()
CLEARING = MAPPING.accounts.stripe_clearing
AR = MAPPING.accounts.accounts_receivable
TRANSIT = MAPPING.accounts.cash_in_transit


@pytest.fixture
def ledger(posted_history):
    reason = missing_capability("gl_lines", posted_history.adapter)
    if reason:
        pytest.skip(reason)
    assert posted_history.report.dead == 0, posted_history.report.totals()
    return posted_history


def test_every_voucher_balances_and_the_trial_balance_is_their_sum(ledger) -> None:
    lines = ledger.gl_lines()
    assert len(lines) > 1000
    assert {x.currency for x in lines} >= {"USD"}
    assert not unbalanced_vouchers(lines)
    assert all(x.amount_minor != 0 and x.account and x.voucher for x in lines)
    day = ledger.as_of_day
    expected = {k: v for k, v in sums((x for x in lines if x.posted_on <= day),
                                      lambda x: (x.account, x.currency)).items() if v}
    tb = {k: v for k, v in ledger.trial_balance().items() if v}
    assert tb == expected
    per_currency = Counter()
    for (_, currency), value in tb.items():
        per_currency[currency] += value
    assert not +per_currency and not -per_currency, per_currency


def test_stripe_clearing_equals_stripes_balance_in_every_currency(ledger, stripe_history) -> None:
    stripe = stripe_side(stripe_history.api_key, stripe_history.base_url, ledger.as_of)
    assert stripe.in_transit                              # the history ends with payouts out
    assert not ledger.adapter.read(DocKind.DEPOSIT, list(stripe.in_transit))  # not arrived
    tb = ledger.trial_balance()
    clearing = {cur: v for (acct, cur), v in tb.items() if acct == CLEARING and v}
    assert clearing == {cur: v for cur, v in stripe.balance.items() if v}
    assert clearing                                       # there is a balance to explain
    in_transit = Counter()
    for currency, amount in stripe.in_transit.values():
        in_transit[currency] += amount
    assert {cur: v for (acct, cur), v in tb.items() if acct == TRANSIT and v} == +in_transit


def test_accounts_receivable_equals_the_open_invoices(ledger) -> None:
    day = ledger.as_of_day
    invoices = [r for r in ledger.adapter.read(DocKind.INVOICE) if r.doc.invoice_date <= day]
    assert len(invoices) > 500
    open_items, billed = Counter(), Counter()
    for rec in invoices:
        open_items[rec.doc.currency] += rec.open_balance.amount
        billed[rec.doc.currency] += rec.doc.total.amount
    tb = ledger.trial_balance()
    ar = {cur: v for (acct, cur), v in tb.items() if acct == AR and v}
    assert ar == {cur: v for cur, v in open_items.items() if v}
    debits = sums((x for x in ledger.gl_lines()
                   if x.account == AR and x.amount_minor > 0 and x.posted_on <= day),
                  lambda x: x.currency)
    assert debits == {cur: v for cur, v in billed.items() if v}
