"""The posting rules, fed one balance transaction of every type and category Stripe documents:
every document balances, Stripe clearing moves by exactly the BT's net, every category has
an explicit rule, an unmapped one is a dead letter naming it (never suspense)."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.erp import BankDeposit, DocKind, JournalEntry, Payment
from domain.mapping import RULES, load_mapping
from domain.postings import PostingBuilder, Postings, StripeActivity
from sandbox.stripe.bt_types import CATEGORIES, CATEGORY_TYPES, TYPES

MAPPING = load_mapping()
ACC = MAPPING.accounts
T0 = int(datetime(2026, 11, 30, 22, 0, tzinfo=timezone.utc).timestamp())
DAY = 86_400


def account_moves(postings: Postings, account: str) -> Counter:
    """Debit minus credit on ``account`` per currency, over every document posted."""
    moves: Counter = Counter()
    for doc in postings.documents[DocKind.JOURNAL].values():
        for line in doc.lines:
            if line.account == account:
                moves[doc.currency] += line.debit.amount - line.credit.amount
    for pay in postings.documents[DocKind.PAYMENT].values():
        if account == ACC.stripe_clearing and pay.bank_account == MAPPING.bank_accounts.stripe:
            moves[pay.amount.currency] += pay.amount.amount
    for dep in postings.documents[DocKind.DEPOSIT].values():
        sign = 1 if dep.status == "paid" else -1
        if dep.clearing_account == account:
            moves[dep.amount.currency] -= sign * dep.amount.amount
        if dep.bank_account == account:
            moves[dep.amount.currency] += sign * dep.amount.amount
    return Counter({k: v for k, v in moves.items() if v})


def bt(type_: str, category: str, amount: int, fee: int = 0, currency: str = "usd",
       source: str | None = None, created: int = T0, n: int = 1) -> dict:
    return {"id": f"txn_{type_}_{category}_{n}", "object": "balance_transaction",
            "type": type_, "reporting_category": category, "amount": amount, "fee": fee,
            "net": amount - fee, "currency": currency, "created": created,
            "source": source, "description": None, "exchange_rate": None}


def charge(cid: str, amount: int, currency: str = "usd", created: int = T0 - 3 * DAY) -> dict:
    return {"id": cid, "object": "charge", "amount": amount, "amount_captured": amount,
            "currency": currency, "created": created, "customer": None,
            "payment_intent": f"pi_{cid}", "metadata": {}, "description": None,
            "payment_method_details": {"type": "card"}}


def payout(pid: str, amount: int, status: str = "paid", currency: str = "usd",
           arrival: int = T0 + 2 * DAY) -> dict:
    return {"id": pid, "object": "payout", "amount": amount, "currency": currency,
            "created": T0, "arrival_date": arrival, "status": status}


def one_of_every(type_: str, category: str, amount: int, fee: int, currency: str = "usd",
                 n: int = 1) -> StripeActivity:
    """One BT of ``type_`` filed under ``category``, with the source objects it names."""
    info = TYPES[type_]
    sign = info.sign or 1
    amount = sign * amount
    charges, payouts, source = {}, {}, None
    if info.source in ("ch", "py"):
        source = f"{info.source}_{n}"
        charges[source] = charge(source, amount, currency)
    elif info.source == "po":
        source = f"po_{n}"
        payouts[source] = payout(source, -amount if amount < 0 else amount, currency=currency)
    elif info.source:
        source = f"{info.source}_{n}"
    return StripeActivity([bt(type_, category, amount, fee, currency, source, n=n)],
                          charges=charges, payouts=payouts)


PAIRS = sorted({(t, info.category) for t, info in TYPES.items()}
               | {(t, c) for c, t in CATEGORY_TYPES.items()})


def test_every_documented_category_has_an_explicit_rule() -> None:
    assert len(CATEGORIES) == 37 and len(TYPES) >= 51
    assert set(MAPPING.reporting_categories) == CATEGORIES
    assert "suspense" not in type(ACC).model_fields
    for category, rule in MAPPING.reporting_categories.items():
        assert rule in RULES or rule in type(ACC).model_fields, category


@pytest.mark.parametrize("type_,category", PAIRS)
def test_every_type_moves_clearing_by_its_net(type_: str, category: str) -> None:
    postings = PostingBuilder(MAPPING).build(one_of_every(type_, category, 12_345, 345))
    assert not postings.problems, [p.message for p in postings.problems]
    [the_bt] = one_of_every(type_, category, 12_345, 345).balance_transactions
    assert account_moves(postings, ACC.stripe_clearing) == Counter({"USD": the_bt["net"]})
    assert postings.count() > 0


@settings(max_examples=60, deadline=None)
@given(pair=st.sampled_from(PAIRS), amount=st.integers(1, 10**9), fee=st.integers(0, 10**6),
       currency=st.sampled_from(["usd", "eur", "jpy", "kwd", "gbp"]))
def test_any_amount_balances_and_moves_clearing_by_the_net(pair, amount, fee, currency) -> None:
    activity = one_of_every(*pair, amount, fee, currency)
    postings = PostingBuilder(MAPPING).build(activity)
    assert not postings.problems
    net = activity.balance_transactions[0]["net"]
    assert account_moves(postings, ACC.stripe_clearing) == Counter(
        {currency.upper(): net} if net else {})
    for doc in postings.documents[DocKind.JOURNAL].values():   # validated on creation
        assert sum(x.debit.amount for x in doc.lines) == sum(x.credit.amount for x in doc.lines)


def test_an_unmapped_category_is_a_dead_letter_naming_it_never_suspense() -> None:
    mapping = MAPPING.model_copy(update={"reporting_categories": {
        k: v for k, v in MAPPING.reporting_categories.items() if k != "platform_earning"}})
    activity = StripeActivity([bt("application_fee", "platform_earning", 500, source="fee_1"),
                               bt("stripe_fee", "fee", -30, n=2)])
    postings = PostingBuilder(mapping).build(activity)
    [problem] = postings.problems
    assert problem.external_id == "txn_application_fee_platform_earning_1"
    assert "'platform_earning'" in problem.message and "application_fee" in problem.message
    assert [j.external_id for j in postings.documents[DocKind.JOURNAL].values()] == [
        "txn_stripe_fee_fee_2"]


def test_a_payout_goes_through_cash_in_transit_and_reaches_the_bank_on_arrival() -> None:
    sent = bt("payout", "payout", -80_000, fee=150, source="po_1")   # Instant Payout fee
    in_transit = PostingBuilder(MAPPING).build(StripeActivity(
        [sent], payouts={"po_1": payout("po_1", 80_000, status="in_transit")}))
    [journal] = in_transit.documents[DocKind.JOURNAL].values()
    assert journal.entry_date == date(2026, 11, 30)                  # dated at the payout's BT
    assert account_moves(in_transit, ACC.cash_in_transit) == Counter({"USD": 80_000})
    assert account_moves(in_transit, ACC.merchant_fees) == Counter({"USD": 150})
    assert account_moves(in_transit, ACC.stripe_clearing) == Counter({"USD": -80_150})
    assert not in_transit.documents[DocKind.DEPOSIT]                 # not in the bank yet

    arrived = PostingBuilder(MAPPING).build(StripeActivity(
        [sent], payouts={"po_1": payout("po_1", 80_000, status="paid")}))
    [deposit] = arrived.documents[DocKind.DEPOSIT].values()
    assert isinstance(deposit, BankDeposit) and deposit.deposit_date == date(2026, 12, 2)
    assert arrived.source[(DocKind.DEPOSIT, "po_1")] == "po_1"
    assert account_moves(arrived, ACC.cash_in_transit) == Counter()  # in and out again
    assert account_moves(arrived, ACC.operating_bank) == Counter({"USD": 80_000})


@pytest.mark.parametrize("failed_after_days,deposited", [(1, False), (4, True)])
def test_a_failed_payout_comes_back_from_transit_or_from_the_bank(failed_after_days,
                                                                  deposited) -> None:
    """Arrival is two days after the payout; a failure after that took it out of the bank."""
    activity = StripeActivity(
        [bt("payout", "payout", -5_000, source="po_9"),
         bt("payout_failure", "payout_reversal", 5_000, source="po_9",
            created=T0 + failed_after_days * DAY)],
        payouts={"po_9": payout("po_9", 5_000, status="failed")})
    postings = PostingBuilder(MAPPING).build(activity)
    assert bool(postings.documents[DocKind.DEPOSIT]) is deposited
    assert account_moves(postings, ACC.cash_in_transit) == Counter()
    assert account_moves(postings, ACC.stripe_clearing) == Counter()
    assert account_moves(postings, ACC.operating_bank) == Counter()
    if deposited:   # the deposit is there whether a run saw the payout paid or not
        [deposit] = postings.documents[DocKind.DEPOSIT].values()
        assert deposit.deposit_date == date(2026, 12, 2)


def test_a_payment_taken_back_reopens_the_receivable_in_the_ar_sub_ledger() -> None:
    """A debit memo (sales order and AR invoice) for what Stripe took back, so AR control and
    the open items both go up; the BT's own journal moves clearing by its net, revenue nets
    to zero; no GL journal touches AR control."""
    activity = StripeActivity(
        [bt("payment", "charge", 20_000, fee=80, source="py_1"),
         bt("payment_failure_refund", "charge_failure", -20_000, fee=150, source="py_1",
            created=T0 + 4 * DAY)],
        charges={"py_1": charge("py_1", 20_000)})
    postings = PostingBuilder(MAPPING).build(activity)
    assert not postings.problems
    failure = "txn_payment_failure_refund_charge_failure_1"
    memo = postings.documents[DocKind.INVOICE][failure]
    assert memo.total.amount == 20_000 and memo.invoice_date == date(2026, 12, 4)
    assert memo.order == failure and failure in postings.documents[DocKind.SALES_ORDER]
    assert "py_1" in memo.lines[0].description
    assert postings.depends_on[(DocKind.INVOICE, failure)] == [
        (DocKind.CUSTOMER, memo.customer), (DocKind.SALES_ORDER, failure)]
    assert account_moves(postings, ACC.accounts_receivable) == Counter()   # no GL journal
    assert account_moves(postings, ACC.stripe_clearing) == Counter({"USD": -80 - 150})
    journal = postings.documents[DocKind.JOURNAL][failure]
    assert {x.account: x.debit.amount - x.credit.amount for x in journal.lines} == {
        ACC.stripe_clearing: -20_150, ACC.revenue: 20_000, ACC.merchant_fees: 150}
    assert len(postings.documents[DocKind.PAYMENT]) == 1


def test_a_payment_taken_back_in_another_currency_reopens_it_in_the_charges() -> None:
    activity = StripeActivity(
        [bt("payment_failure_refund", "charge_failure", -10_870, source="py_2",
            created=T0 + 4 * DAY)], charges={"py_2": charge("py_2", 10_000, currency="eur")})
    postings = PostingBuilder(MAPPING).build(activity)
    [memo] = postings.documents[DocKind.INVOICE].values()
    assert (memo.currency, memo.total.amount) == ("EUR", 10_000)
    assert account_moves(postings, ACC.stripe_clearing) == Counter({"USD": -10_870})
    assert account_moves(postings, ACC.revenue) == Counter({"EUR": 10_000})  # the memo's Cr


def test_receipts_and_their_fees_are_dated_by_the_settlement_not_the_authorisation() -> None:
    authorised, settled = T0 - 5 * DAY, T0 + 3_600      # an ACH debit settles days later
    activity = StripeActivity([bt("payment", "charge", 9_900, fee=99, source="py_7",
                                  created=settled)],
                              charges={"py_7": charge("py_7", 9_900, created=authorised)})
    postings = PostingBuilder(MAPPING).build(activity)
    [order] = postings.documents[DocKind.SALES_ORDER].values()
    [invoice] = postings.documents[DocKind.INVOICE].values()
    [receipt] = postings.documents[DocKind.PAYMENT].values()
    [fee] = postings.documents[DocKind.JOURNAL].values()
    assert order.order_date == date(2026, 11, 25)                    # the authorisation
    assert invoice.invoice_date == receipt.received_date == fee.entry_date == date(2026, 11, 30)
