"""Refunds as credit memos (the ``credit_memo`` rule): in the charge's own currency, applied
to its invoice, the refunded tax given back, Stripe clearing moved by exactly the BT's net;
an adapter that cannot post them dead-letters them by name."""
from __future__ import annotations

from collections import Counter

import pytest

from domain.erp import CreditMemo, CustomerRefund, DocKind
from domain.mapping import load_mapping
from domain.postings import PostingBuilder, StripeActivity
from domain.tax import invoices_by_charge
from posting.run import Poster, PostingReport
from tests.domain.test_posting_rules import T0, account_moves, bt, charge
from tests.domain.test_tax_rules import taxed_invoice
from tests.posting.fake_erp import FakeErp
from warehouse.db import make_engine
from warehouse.migrate import upgrade

BASE = load_mapping()
MAPPING = BASE.model_copy(update={"reporting_categories": {
    **BASE.reporting_categories, "refund": "credit_memo"}})
ACC = MAPPING.accounts


def refunded(currency: str, charged: int, settled: int, refund: int, refund_settled: int,
             taxed: bool = False) -> StripeActivity:
    ch = charge("ch_1", charged, currency) | {"customer": "cus_1"}
    charges = {"ch_1": ch}
    invoices = [taxed_invoice(total=charged, tax=charged // 11, currency=currency)] if taxed \
        else []
    return StripeActivity(
        [bt("charge", "charge", settled, fee=50, source="ch_1"),
         bt("refund", "refund", -refund_settled, source="re_1", created=T0 + 86_400)
         | {"exchange_rate": 0.0066}],
        charges=charges,
        customers={"cus_1": {"id": "cus_1", "created": T0 - 99_000, "email": "k@example.jp",
                             "name": "K"}},
        charge_invoices=invoices_by_charge(invoices, charges),
        refund_charges={"re_1": "ch_1"},
        refunds={"re_1": {"id": "re_1", "object": "refund", "amount": refund,
                          "currency": currency, "charge": "ch_1"}})


@pytest.mark.parametrize("currency,charged,settled,refund,refund_settled", [
    ("jpy", 5_000, 3_300, 2_000, 1_320),       # JPY charge settled in USD
    ("kwd", 12_340, 4_017, 12_340, 4_017),     # KWD (three decimals), refunded in full
    ("usd", 9_900, 9_900, 4_000, 4_000),
])
def test_a_refund_is_a_credit_memo_in_the_charges_own_currency(
        currency, charged, settled, refund, refund_settled) -> None:
    postings = PostingBuilder(MAPPING).build(
        refunded(currency, charged, settled, refund, refund_settled))
    assert not postings.problems, [p.message for p in postings.problems]
    [memo] = postings.documents[DocKind.CREDIT_MEMO].values()
    [back] = postings.documents[DocKind.CUSTOMER_REFUND].values()
    assert isinstance(memo, CreditMemo) and isinstance(back, CustomerRefund)
    cur = currency.upper()
    assert memo.currency == cur and memo.total.amount == refund
    assert memo.invoice == "pi_ch_1" and memo.customer == back.customer == "cus_1"
    assert back.amount.amount == refund and back.credit_memo == "re_1"
    assert postings.depends_on[(DocKind.CUSTOMER_REFUND, "re_1")] == [
        (DocKind.CUSTOMER, "cus_1"), (DocKind.CREDIT_MEMO, "re_1")]
    # Stripe clearing: charge net, less the refund as Stripe settled it, in USD only
    clearing = Counter()
    for doc in postings.documents[DocKind.JOURNAL].values():
        for x in doc.lines:
            if x.account == ACC.stripe_clearing:
                clearing[doc.currency] += x.debit.amount - x.credit.amount
    clearing[cur] += postings.documents[DocKind.PAYMENT]["ch_1"].amount.amount - refund
    assert {k: v for k, v in clearing.items() if v} == {"USD": settled - 50 - refund_settled}


def test_a_refund_gives_back_its_share_of_the_tax_on_the_credit_memo() -> None:
    on_invoice = MAPPING.model_copy(update={"tax": MAPPING.tax.model_copy(
        update={"on_invoice": True})})
    postings = PostingBuilder(on_invoice).build(refunded("usd", 11_000, 11_000, 5_500, 5_500,
                                                         taxed=True))
    [memo] = postings.documents[DocKind.CREDIT_MEMO].values()
    assert memo.tax is not None and memo.tax.amount == 500          # half of 1,000
    gross = PostingBuilder(MAPPING).build(refunded("usd", 11_000, 11_000, 5_500, 5_500,
                                                   taxed=True))
    assert account_moves(gross, ACC.sales_tax_payable) == Counter({"USD": -1_000 + 500})


def test_an_adapter_without_credit_memos_dead_letters_them_by_name(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    erp = FakeErp()
    postings = PostingBuilder(MAPPING).build(refunded("usd", 9_900, 9_900, 4_000, 4_000))
    report = Poster(erp, engine).post(postings, {}, PostingReport(erp.erp))
    assert report.kinds[DocKind.CREDIT_MEMO].blocked == 1
    assert report.kinds[DocKind.CUSTOMER_REFUND].blocked == 1
    assert report.kinds[DocKind.PAYMENT].created == 1                # the rest posts
    with engine.connect() as conn:
        messages = list(conn.exec_driver_sql(
            "SELECT error_message FROM erp_dead_letters ORDER BY kind").scalars())
    assert messages[0].startswith("credit_memo re_1: the fake adapter does not post credit "
                                  "memos yet")
