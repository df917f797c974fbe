"""Sales tax on the ERP invoice and refunds as credit memos, read back through the ERP's API:
TIMS posts invoice tax to its sales tax account and takes a refund as a credit memo plus a
customer refund in the charge's own currency; an adapter that cannot post invoice tax
dead-letters the invoice by name instead of booking the tax as revenue."""
from __future__ import annotations

from datetime import date

from domain.erp import DocKind
from domain.mapping import load_mapping
from domain.postings import PostingBuilder
from posting.run import Poster, PostingReport
from tests.domain.test_tax_rules import ON_INVOICE, activity
from tests.posting.fake_erp import FakeErp
from warehouse.db import make_engine
from warehouse.migrate import upgrade

ACC = load_mapping().accounts


def post_all(adapter, postings) -> None:
    for kind, docs in postings.documents.items():
        if docs:
            results = adapter.post(list(docs.values()))
            assert all(r.ok for r in results), [r.error for r in results if not r.ok]


def test_tims_posts_the_invoice_tax_to_sales_tax_payable(tims) -> None:
    adapter = tims.adapter()
    postings = PostingBuilder(ON_INVOICE).build(activity())
    post_all(adapter, postings)
    [held] = adapter.read(DocKind.INVOICE, ["pi_ch_1"])
    assert held.doc.tax is not None and held.doc.tax.amount == 725
    assert held.doc.total.amount == 10_725 and held.open_balance.amount == 0
    tb = adapter.trial_balance(date(2026, 12, 31))
    assert tb[(ACC.sales_tax_payable, "USD")] == -725
    assert tb[(ACC.revenue, "USD")] == -10_000
    assert tb.get((ACC.accounts_receivable, "USD"), 0) == 0


def test_an_adapter_without_invoice_tax_dead_letters_the_taxed_invoice(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    erp = FakeErp()
    postings = PostingBuilder(ON_INVOICE).build(activity())
    report = Poster(erp, engine).post(postings, {}, PostingReport(erp.erp))
    assert report.kinds[DocKind.INVOICE].blocked == 1
    assert not erp.docs[DocKind.INVOICE]
    with engine.connect() as conn:
        [message] = conn.exec_driver_sql(
            "SELECT error_message FROM erp_dead_letters WHERE kind = 'invoice'").scalars()
    assert "pi_ch_1 carries tax 7.25 USD" in message and "tax.on_invoice: false" in message


def test_tims_takes_a_refund_as_a_credit_memo_and_a_customer_refund_in_its_own_currency(
        tims) -> None:
    """A JPY charge settled in USD, refunded in part: the customer's ledger in TIMS shows the
    credit memo against the invoice and the refund paid, in JPY; the GL balances."""
    from tests.domain.test_credit_memos import MAPPING as CREDIT_MEMOS, refunded
    adapter = tims.adapter()
    postings = PostingBuilder(CREDIT_MEMOS).build(refunded("jpy", 5_000, 3_300, 2_000, 1_320))
    post_all(adapter, postings)
    [memo] = adapter.read(DocKind.CREDIT_MEMO, ["re_1"])
    [back] = adapter.read(DocKind.CUSTOMER_REFUND, ["re_1"])
    assert memo.doc.currency == "JPY" and memo.doc.total.amount == 2_000
    assert memo.doc.invoice == "pi_ch_1" and back.doc.credit_memo == "re_1"
    assert back.doc.amount.amount == 2_000 and back.doc.customer == "cus_1"
    tb = adapter.trial_balance(date(2026, 12, 31))
    assert tb[(ACC.revenue, "JPY")] == -5_000 + 2_000
    assert tb.get((ACC.accounts_receivable, "JPY"), 0) == 0          # memo and refund settle
    assert tb.get((ACC.stripe_clearing, "JPY"), 0) == 0             # exchanged through FX
    assert tb[(ACC.stripe_clearing, "USD")] == 3_300 - 50 - 1_320
