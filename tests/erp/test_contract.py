"""The adapter contract, checked against every ERP sandbox through the ERP's own API.

See ``connectors/erp/base.py`` for the contract and ``sandbox/<erp>/README.md`` for
the seeded chart of accounts and items every ERP sandbox starts with.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from connectors.erp import ErpValidationError
from domain.erp import (BankDeposit, Customer, DocKind, InventoryAdjustment, Invoice, JournalEntry,
                        JournalLine, OrderLine, Payment, PaymentApplication, SalesOrder)
from domain.money import Money

D = date(2026, 11, 2)
BANK, CLEARING, AR, REVENUE, FEES = "1010", "1250", "1200", "4000", "6100"


def customer(n: int, currency: str = "USD") -> Customer:
    return Customer(external_id=f"cus_T{n:06d}", name=f"Customer {n}", email=f"c{n}@example.com",
                    currency=currency)


def order_and_invoice(n: int, cust: str, currency: str, unit: int, qty: int = 2,
                      sku: str = "SKU-01000") -> tuple[SalesOrder, Invoice]:
    line = OrderLine(line_no=1, sku=sku, description="Item", quantity=Decimal(qty),
                     unit_price=Money(unit, currency))
    order = SalesOrder(external_id=f"pi_T{n:06d}", customer=cust, order_date=D, currency=currency,
                       lines=(line,))
    inv = Invoice(external_id=f"pi_T{n:06d}", order=order.external_id, customer=cust,
                  invoice_date=D, due_date=D, currency=currency, lines=(line,),
                  total=Money(unit * qty, currency))
    return order, inv


def payment(n: int, cust: str, inv: str, amount: Money) -> Payment:
    return Payment(external_id=f"ch_T{n:06d}", customer=cust, received_date=D, amount=amount,
                   method="CARD", bank_account="STRIPE",
                   applications=(PaymentApplication(invoice=inv, amount=amount),))


def journal(ext: str, currency: str, amount: int, debit: str = FEES, credit: str = CLEARING,
            when: date = D) -> JournalEntry:
    return JournalEntry(external_id=ext, entry_date=when, currency=currency, memo=f"fee {ext}",
                        source="stripe_fee", lines=(
                            JournalLine(account=debit, debit=Money(amount, currency),
                                        credit=Money(0, currency)),
                            JournalLine(account=credit, debit=Money(0, currency),
                                        credit=Money(amount, currency))))


def test_health(erp) -> None:
    erp.adapter().health()


def test_customers_find_then_create(erp) -> None:
    adapter = erp.adapter()
    docs = [customer(i) for i in range(3)]
    first = adapter.post(docs)
    assert [r.ok and r.created for r in first] == [True] * 3
    again = erp.adapter().post(docs)  # a fresh adapter: nothing remembered locally
    assert [(r.ok, r.created) for r in again] == [(True, False)] * 3
    assert [r.ref.id for r in again] == [r.ref.id for r in first]
    held = {r.doc.external_id: r.doc for r in adapter.read(DocKind.CUSTOMER)}
    assert set(held) == {d.external_id for d in docs}
    assert held["cus_T000001"].email == "c1@example.com"
    assert held["cus_T000001"].name == "Customer 1"
    assert set(adapter.find(DocKind.CUSTOMER, ["cus_T000002", "cus_nope"])) == {"cus_T000002"}


@pytest.mark.parametrize("currency,unit", [("USD", 1999), ("JPY", 2500), ("KWD", 12340)])
def test_order_invoice_payment_applied_to_the_cent(erp, currency: str, unit: int) -> None:
    adapter = erp.adapter()
    cust = customer(10, currency)
    order, inv = order_and_invoice(10, cust.external_id, currency, unit)
    for doc in (cust, order, inv):
        [res] = adapter.post([doc])
        assert res.ok, res.error
        erp.run_jobs()               # M3 invoices delivered orders in its own job
    [res] = adapter.post([payment(10, cust.external_id, inv.external_id, inv.total)])
    assert res.ok and res.created, res.error
    [held_inv] = adapter.read(DocKind.INVOICE, [inv.external_id])
    assert held_inv.doc.total == Money(unit * 2, currency)
    assert held_inv.open_balance == Money(0, currency)
    [held_pay] = adapter.read(DocKind.PAYMENT, ["ch_T000010"])
    assert held_pay.doc.amount == inv.total
    assert [(a.invoice, a.amount) for a in held_pay.doc.applications] == [
        (inv.external_id, inv.total)]
    [held_order] = adapter.read(DocKind.SALES_ORDER, [order.external_id])
    assert held_order.doc.customer == cust.external_id
    assert held_order.doc.lines[0].sku == "SKU-01000"


def test_partial_payment_leaves_the_balance_open(erp) -> None:
    adapter = erp.adapter()
    cust = customer(11)
    order, inv = order_and_invoice(11, cust.external_id, "USD", 5000)
    adapter.post([cust]), adapter.post([order]), erp.run_jobs(), adapter.post([inv])
    [res] = adapter.post([payment(11, cust.external_id, inv.external_id, Money(3000, "USD"))])
    assert res.ok
    [held] = adapter.read(DocKind.INVOICE, [inv.external_id])
    assert held.open_balance == Money(7000, "USD")


def test_rejections_carry_the_erps_message_and_spare_the_batch(erp) -> None:
    adapter = erp.adapter()
    cust = customer(12)
    adapter.post([cust])
    good, _ = order_and_invoice(12, cust.external_id, "USD", 1000)
    bad_sku, _ = order_and_invoice(13, cust.external_id, "USD", 1000, sku="SKU-99999")
    bad_cust, _ = order_and_invoice(14, "cus_unknown", "USD", 1000)
    results = adapter.post([good, bad_sku, bad_cust])
    assert results[0].ok
    assert isinstance(results[1].error, ErpValidationError) and results[1].error.message
    assert "SKU-99999" in results[1].error.message or results[1].error.field
    assert isinstance(results[2].error, ErpValidationError)
    assert set(adapter.find(DocKind.SALES_ORDER, [good.external_id, bad_sku.external_id,
                                                  bad_cust.external_id])) == {good.external_id}


def test_journals_balanced_unknown_account_and_closed_period(erp) -> None:
    adapter = erp.adapter()
    erp.control("POST", "periods/close", {"before": "2026-10-01"})
    ok = journal("txn_T1", "USD", 59)
    unknown = journal("txn_T2", "USD", 10, debit="9999")
    closed = journal("txn_T3", "USD", 10, when=date(2026, 9, 15))
    jpy = journal("txn_T4", "JPY", 113)
    results = adapter.post([ok, unknown, closed, jpy])
    assert [r.ok for r in results] == [True, False, False, True]
    assert all(isinstance(r.error, ErpValidationError) for r in results[1:3])
    held = {r.doc.external_id: r.doc for r in adapter.read(DocKind.JOURNAL)}
    assert set(held) == {"txn_T1", "txn_T4"}
    lines = {(line.account, line.debit.amount, line.credit.amount) for line in held["txn_T1"].lines}
    assert lines == {(FEES, 59, 0), (CLEARING, 0, 59)}
    assert held["txn_T4"].currency == "JPY"
    assert [r.created for r in adapter.post([ok])] == [False]


def test_inventory_moves_once_per_adjustment(erp) -> None:
    adapter = erp.adapter()
    before = adapter.on_hand("SKU-01001", "MAIN")
    adj = InventoryAdjustment(external_id="pi_T000020:SKU-01001", sku="SKU-01001", location="MAIN",
                              delta=Decimal(-3))
    assert adapter.post([adj])[0].created
    assert adapter.post([adj])[0].created is False
    assert adapter.on_hand("SKU-01001", "MAIN") == before - 3


def test_bank_deposit(erp) -> None:
    adapter = erp.adapter()
    dep = BankDeposit(external_id="po_T1", bank_account=BANK, clearing_account=CLEARING,
                      deposit_date=D, amount=Money(123456, "USD"))
    [res] = adapter.post([dep])
    assert res.ok and res.created
    [held] = adapter.read(DocKind.DEPOSIT, ["po_T1"])
    assert held.doc.amount == Money(123456, "USD")


def test_transient_failures_are_retried_without_duplicates(erp) -> None:
    adapter = erp.adapter()
    erp.fault(kind="429", count=2, retry_after=0)
    erp.fault(kind="503", count=2)
    docs = [customer(30 + i) for i in range(5)]
    assert all(r.ok for r in adapter.post(docs))
    erp.fault(kind="drop", count=1)  # the ERP may have acted before the connection dropped
    assert all(r.ok for r in adapter.post(docs))
    assert len(adapter.read(DocKind.CUSTOMER)) == 5


def test_batches_cost_at_most_one_and_a_half_calls_per_document(erp) -> None:
    adapter = erp.adapter()
    adapter.health()
    custs = [customer(100 + i) for i in range(100)]
    pairs = [order_and_invoice(100 + i, c.external_id, "USD", 1000 + i) for i, c in enumerate(custs)]
    before = adapter.calls
    docs = 0
    for batch in (custs, [p[0] for p in pairs], [p[1] for p in pairs],
                  [payment(100 + i, c.external_id, p[1].external_id, p[1].total)
                   for i, (c, p) in enumerate(zip(custs, pairs))],
                  [journal(f"txn_B{i}", "USD", 30 + i) for i in range(100)]):
        results = adapter.post(batch)
        assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
        docs += len(batch)
        erp.run_jobs()               # M3 invoices delivered orders in its own job
    assert (adapter.calls - before) / docs <= 1.5
