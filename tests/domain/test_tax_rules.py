"""Sales tax Stripe computed is a liability, never revenue: on the ERP invoice or moved out of
revenue by journal; a refund gives back its share; ERP customers never add their own tax."""
from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from domain.erp import DocKind
from domain.mapping import load_mapping
from domain.postings import PostingBuilder, StripeActivity
from domain.tax import invoices_by_charge, tax_share
from tests.domain.test_posting_rules import T0, account_moves, bt, charge

MAPPING = load_mapping()
ACC = MAPPING.accounts
ON_INVOICE = MAPPING.model_copy(update={"tax": MAPPING.tax.model_copy(
    update={"on_invoice": True})})


def taxed_invoice(total: int = 10_725, tax: int = 725, currency: str = "usd",
                  paid_by: str = "ch_1") -> dict:
    return {"id": "in_1", "object": "invoice", "currency": currency, "total": total,
            "total_taxes": [{"amount": tax, "tax_behavior": "exclusive"}],
            "payments": {"data": [{"status": "paid", "payment": {
                "type": "charge", "charge": paid_by, "payment_intent": None}}]}}


def activity(*extra_bts: dict, currency: str = "usd") -> StripeActivity:
    ch = charge("ch_1", 10_725, currency) | {"customer": "cus_1"}
    charges = {"ch_1": ch}
    return StripeActivity(
        [bt("charge", "charge", 10_725, fee=341, currency=currency, source="ch_1"),
         *extra_bts],
        charges=charges,
        customers={"cus_1": {"id": "cus_1", "created": T0 - 99_000, "email": "a@example.com",
                             "name": "A", "tax_exempt": "none"}},
        charge_invoices=invoices_by_charge([taxed_invoice(currency=currency)], charges),
        refund_charges={"re_1": "ch_1"})


def test_tax_moves_out_of_revenue_into_the_liability_by_journal() -> None:
    postings = PostingBuilder(MAPPING).build(activity())
    [invoice] = postings.documents[DocKind.INVOICE].values()
    assert invoice.total.amount == 10_725 and invoice.tax is None     # the gross is owed
    assert [(ln.description, int(ln.unit_price.amount * ln.quantity)) for ln in invoice.lines
            ] == [("MISC", 10_000), ("Sales tax", 725)]
    tax = postings.documents[DocKind.JOURNAL]["ch_1:tax"]
    assert account_moves(postings, ACC.sales_tax_payable) == Counter({"USD": -725})
    assert {(x.account, x.debit.amount) for x in tax.lines} == {(ACC.revenue, 725),
                                                               (ACC.sales_tax_payable, 0)}
    assert account_moves(postings, ACC.stripe_clearing) == Counter({"USD": 10_725 - 341})
    [customer] = postings.documents[DocKind.CUSTOMER].values()
    assert customer.tax_exempt                                       # the ERP adds none


def test_tax_on_the_invoice_when_the_erp_posts_it() -> None:
    postings = PostingBuilder(ON_INVOICE).build(activity())
    [invoice] = postings.documents[DocKind.INVOICE].values()
    assert invoice.tax is not None and invoice.tax.amount == 725
    assert sum(int(ln.unit_price.amount * ln.quantity) for ln in invoice.lines) == 10_000
    assert "ch_1:tax" not in postings.documents[DocKind.JOURNAL]


def test_a_partial_refund_gives_back_its_share_of_the_tax() -> None:
    refund = bt("refund", "refund", -5_000, source="re_1", created=T0 + 86_400)
    postings = PostingBuilder(MAPPING).build(activity(refund))
    journal = postings.documents[DocKind.JOURNAL][refund["id"]]
    moves = {x.account: x.debit.amount - x.credit.amount for x in journal.lines}
    assert moves == {ACC.stripe_clearing: -5_000, ACC.refunds: 4_662,
                     ACC.sales_tax_payable: 338}                      # 5,000 x 725 / 10,725
    assert account_moves(postings, ACC.sales_tax_payable) == Counter({"USD": -387})


def test_a_refund_settled_in_another_currency_keeps_the_tax_in_the_invoice_currency() -> None:
    refund = bt("refund", "refund", -40, currency="usd", source="re_1", created=T0 + 86_400)
    postings = PostingBuilder(MAPPING).build(activity(refund, currency="jpy"))
    journal = postings.documents[DocKind.JOURNAL][refund["id"]]
    assert ACC.sales_tax_payable not in {x.account for x in journal.lines}


@given(total=st.integers(1, 10**9), rate=st.integers(0, 2_500),
       paid=st.integers(0, 10**9))
def test_tax_shares_are_whole_minor_units_within_the_invoice_tax(total, rate, paid) -> None:
    tax = total * rate // 12_500
    invoice = {"total": total, "total_taxes": [{"amount": tax}]}
    paid = min(paid, total)
    share = tax_share(paid, invoice)
    assert tax_share(total, invoice) == tax and 0 <= share <= tax
    assert tax_share(-paid, invoice) == -share
    assert abs(share * total - paid * tax) * 2 <= total              # rounded half-up


def test_a_refund_settled_in_another_currency_gives_back_its_tax_in_the_invoices() -> None:
    """A SEK invoice's charge settled in USD, refunded in part: its share of the SEK tax goes
    back to the refunds account in SEK, the USD journal moves clearing by the BT's net."""
    refund = bt("refund", "refund", -1_000, currency="usd", source="re_1", created=T0 + 600)
    acts = activity(refund, currency="sek")
    acts.refunds = {"re_1": {"id": "re_1", "amount": 5_000, "charge": "ch_1", "currency": "sek"}}
    postings = PostingBuilder(MAPPING).build(acts)
    assert not postings.problems
    share = tax_share(5_000, taxed_invoice(currency="sek"))
    assert share == 338
    assert account_moves(postings, ACC.sales_tax_payable) == Counter({"SEK": -725 + share})
    assert account_moves(postings, ACC.refunds) == Counter({"USD": 1_000, "SEK": -share})
    assert account_moves(postings, ACC.stripe_clearing)["USD"] == -1_000
