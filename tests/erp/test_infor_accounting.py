"""Infor M3 accounting rules beyond the common contract: over-application, closed periods,
vouchers and GL read-back, AR read-back, failed deposits, and M3's order-to-invoice flow
(invoices and receipts wait for the invoicing job and the warehouse's delivery).
Wire-level behaviour: test_infor_specific.py."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from connectors.erp import ErpValidationError
from domain.erp import BankDeposit, DocKind, InventoryAdjustment, Payment, PaymentApplication
from domain.money import Money
from tests.erp.infor_support import Raw, infor
from tests.erp.test_contract import D, customer, journal, order_and_invoice, payment


# ---------------------------------------------------------------------------- AR and GL rules
@infor
def test_over_application_is_refused_and_leaves_the_invoice_alone(erp) -> None:
    adapter = erp.adapter()
    cust = customer(50)
    order, inv = order_and_invoice(50, cust.external_id, "USD", 1000)
    for doc in (cust, order, inv):
        assert adapter.post([doc])[0].ok
        erp.run_jobs()
    assert adapter.post([payment(50, cust.external_id, inv.external_id, Money(1500, "USD"))])[0].ok
    [res] = adapter.post([payment(51, cust.external_id, inv.external_id, Money(600, "USD"))])
    assert res.error.field == "PYAM" and "exceeds the remaining amount 5.00" in res.error.message
    [held] = adapter.read(DocKind.INVOICE, [inv.external_id])
    assert held.open_balance == Money(500, "USD")
    assert adapter.find(DocKind.PAYMENT, ["ch_T000050", "ch_T000051"]).keys() == {"ch_T000050"}
    # the refused batch is gone: once the data is right, the same payment id posts
    [res] = adapter.post([payment(51, cust.external_id, inv.external_id, Money(500, "USD"))])
    assert res.ok and res.created


@infor
def test_closed_period_refuses_deliveries_payments_deposits_and_journals(erp) -> None:
    adapter = erp.adapter()
    cust = customer(60)
    order, inv = order_and_invoice(60, cust.external_id, "USD", 1000)
    for doc in (cust, order, inv):
        assert adapter.post([doc])[0].ok
        erp.run_jobs()
    erp.control("POST", "periods", {"close": "2026-11"})
    late_order, _ = order_and_invoice(61, cust.external_id, "USD", 1000)   # stocked item
    dep = BankDeposit(external_id="po_CLOSED", bank_account="1010", clearing_account="1250",
                      deposit_date=D, amount=Money(100, "USD"))
    results = [adapter.post([doc])[0] for doc in (
        late_order, payment(60, cust.external_id, inv.external_id, inv.total), dep,
        journal("txn_CLOSED", "USD", 5))]
    for res in results:
        assert isinstance(res.error, ErpValidationError), res
        assert "202611" in res.error.message and "closed" in res.error.message
        assert "20261102" in res.error.message
    assert not adapter.find(DocKind.DEPOSIT, ["po_CLOSED"])
    assert adapter.find(DocKind.SALES_ORDER, [late_order.external_id])     # confirmed only
    erp.control("POST", "periods", {"open": "2026-11"})
    again = [adapter.post([doc])[0] for doc in (
        late_order, payment(60, cust.external_id, inv.external_id, inv.total), dep,
        journal("txn_CLOSED", "USD", 5))]
    assert all(r.ok for r in again), [r.error for r in again]
    assert not again[0].created                     # the order was there: only delivered now
    assert adapter.on_hand("SKU-01000", "MAIN") == Decimal(1_000_000 - 4)


@infor
def test_unbalanced_voucher_and_gl_read_back(erp) -> None:
    raw = Raw(erp.env)
    line = {"KEY1": "RAWJ1", "INRI": "GL", "CUCD": "KWD", "ACDT": "20261102", "VTXT": "raw test"}
    data = raw.bulk("GLS840MI", [
        {"transaction": "AddBatchHead", "record": {"CONO": "100", "KEY1": "RAWJ1", "INTN": "STRIPE",
                                                   "DESC": "raw"}},
        {"transaction": "AddBatchLineFld", "record": {**line, "LINE": "1", "AIT1": "6100",
                                                      "CUAM": "1.005", "DBCR": "D"}},
        {"transaction": "AddBatchLineFld", "record": {**line, "LINE": "2", "AIT1": "1250",
                                                      "CUAM": "1.004", "DBCR": "C"}},
        {"transaction": "CtrlBatch", "record": {"CONO": "100", "KEY1": "RAWJ1"}},
        {"transaction": "UpdBatch", "record": {"CONO": "100", "KEY1": "RAWJ1"}}])
    ctrl = data["results"][3]
    assert ctrl["errorField"] == "CUAM" and "not balanced" in ctrl["errorMessage"]
    assert "0.001 KWD" in ctrl["errorMessage"]
    adapter = erp.adapter()
    assert adapter.post([journal("txn_GL", "KWD", 1005)])[0].ok
    [[yea4, vono]] = {tuple(r) for r in raw.select(
        "EGYEA4,EGVONO from FGLEDG where EGCONO = 100 and EGVTXT = 'txn_GL'")}
    head = raw.get("GLS200MI/GetVoucherHead", DIVI="AAA", YEA4=yea4, VONO=vono).json()
    rec = head["results"][0]["records"][0]
    assert (rec["CUAD"], rec["CUAC"], rec["CUCD"]) == ("1.005", "1.005", "KWD")
    lines = raw.get("GLS200MI/LstVouchersByDt", FRDT="20261101", TODT="20261130").json()
    assert {(r["AIT1"], r["CUAM"]) for r in lines["results"][0]["records"]} == {
        ("6100", "1.005"), ("1250", "-1.005")}


@infor
def test_invoice_without_order_gets_an_order_and_ar_is_readable(erp) -> None:
    adapter = erp.adapter()
    cust = customer(70, "JPY")
    _, inv = order_and_invoice(70, cust.external_id, "JPY", 2500)
    standalone = inv.model_copy(update={"order": None, "external_id": "in_T70"})
    assert adapter.post([cust])[0].ok
    [res] = adapter.post([standalone])
    assert not res.ok and "waiting for M3 invoice" in res.waiting    # ordered and delivered
    erp.run_jobs()
    [res] = adapter.post([standalone])
    assert res.ok and not res.created                               # M3 made it, found once
    assert adapter.post([standalone])[0].ok
    [held] = adapter.read(DocKind.INVOICE, ["in_T70"])
    assert held.doc.total == Money(5000, "JPY") and held.open_balance == Money(5000, "JPY")
    raw = Raw(erp.env)
    cuno = adapter.find(DocKind.CUSTOMER, [cust.external_id])[cust.external_id].id
    open_ar = raw.get("ARS200MI/LstInvoices", CUNO=cuno, AAC0="1").json()
    [ar] = open_ar["results"][0]["records"]
    assert ar["RECO"] == "0" and ar["CINO"] == held.ref.id.split("/")[1]
    assert adapter.open_receivables(date.today()) == {"JPY": 5000}


@infor
def test_failed_deposit_reverses_and_reads_back(erp) -> None:
    adapter = erp.adapter()
    paid = BankDeposit(external_id="po_F1", bank_account="1010", clearing_account="1250",
                       deposit_date=D, amount=Money(2500, "EUR"))
    assert adapter.post([paid])[0].created
    failed = paid.model_copy(update={"status": "failed", "deposit_date": date(2026, 11, 5)})
    assert adapter.post([failed])[0].created
    assert adapter.post([failed])[0].created is False
    [held] = adapter.read(DocKind.DEPOSIT, ["po_F1"])
    assert held.doc.status == "failed" and held.doc.amount == Money(2500, "EUR")
    assert not adapter.read(DocKind.JOURNAL)          # deposits are not journals


@infor
def test_payment_read_back_from_the_ar_ledger(erp) -> None:
    adapter = erp.adapter()
    cust = customer(80, "KWD")
    order, inv = order_and_invoice(80, cust.external_id, "KWD", 12345)
    for doc in (cust, order, inv):
        assert adapter.post([doc])[0].ok
        erp.run_jobs()
    pay = Payment(external_id="ch_3PAYMENTREADBACK0000000001", customer=cust.external_id,
                  received_date=D, amount=inv.total, method="ACH", bank_account="STRIPE",
                  applications=(PaymentApplication(invoice=inv.external_id, amount=inv.total),),
                  reference="ch_3PAYMENTREADBACK0000000001")
    assert adapter.post([pay])[0].created
    [held] = erp.adapter().read(DocKind.PAYMENT)         # from FSLEDG + FSLEDX only
    assert held.doc.external_id == pay.external_id and held.doc.received_date == D
    assert held.doc.applications == pay.applications and held.doc.customer == cust.external_id
    assert held.doc.bank_account == "STRIP"               # the bank account id M3 keeps
    raw = Raw(erp.env)
    [[trcd, cuam, dtp5]] = raw.select("ESTRCD,ESCUAM,ESDTP5 from FSLEDG where ESTRCD = 20")
    assert (trcd, cuam, dtp5) == ("20", "-24.690", "20261102")
    assert raw.select("ESSEXN,ESSEXI from FSLEDX") == [["901", pay.external_id]]


# ---------------------------------------------------------------------------- order to invoice
@infor
def test_an_invoice_and_its_receipt_wait_for_m3s_invoicing_job(erp) -> None:
    adapter = erp.adapter()
    cust = customer(90, "EUR")
    order, inv = order_and_invoice(90, cust.external_id, "EUR", 4200)
    pay = payment(90, cust.external_id, inv.external_id, inv.total)
    assert adapter.post([cust])[0].ok
    [placed] = adapter.post([order])                  # confirmed and delivered
    raw = Raw(erp.env)
    head = raw.get("OIS100MI/GetHead", ORNO=placed.ref.id).json()["results"][0]["records"][0]
    assert (head["ORSL"], head["ORST"]) == ("66", "66")
    # before M3's invoicing job: the lookup finds nothing, in M3 and through the adapter
    assert raw.get("OIS350MI/LstAllInvByCO", ORNO=placed.ref.id).json()[
        "results"][0]["records"] == []
    assert adapter.find(DocKind.INVOICE, [inv.external_id]) == {}
    [waiting] = adapter.post([inv])
    assert not waiting.ok and waiting.error is None
    assert placed.ref.id in waiting.waiting and "invoicing job" in waiting.waiting
    [held_back] = adapter.post([pay])                 # never posted unapplied
    assert not held_back.ok and "waiting for M3 invoice" in held_back.waiting
    assert raw.select("count(*) from FSLEDG") == [["0"]]
    erp.run_jobs()
    [found] = adapter.post([inv])
    assert found.ok and not found.created             # M3 made it; the product found it
    [paid] = adapter.post([pay])
    assert paid.ok and paid.created
    [held] = adapter.read(DocKind.INVOICE, [inv.external_id])
    assert held.doc.total == Money(8400, "EUR") and held.open_balance == Money(0, "EUR")
    erp.run_jobs()                                    # invoiced once
    assert len(raw.get("OIS350MI/LstAllInvByCO", ORNO=placed.ref.id).json()[
        "results"][0]["records"]) == 1


@infor
def test_the_historys_invoices_waited_for_the_job_and_were_picked_up_once(posted_history) -> None:
    first, resumed = posted_history.report, posted_history.resumed
    invoices, payments = first.kinds[DocKind.INVOICE], first.kinds[DocKind.PAYMENT]
    assert first.dead == 0 and invoices.waiting > 500 and payments.waiting > 500
    assert invoices.created == invoices.found == payments.created == 0
    again = resumed.kinds
    assert again[DocKind.INVOICE].found == invoices.waiting and again[DocKind.INVOICE].created == 0
    assert again[DocKind.PAYMENT].created == payments.waiting
    assert resumed.dead == resumed.waiting == 0
    with posted_history.engine.connect() as conn:
        statuses = dict(conn.execute(sa.text(
            "SELECT status, COUNT(*) FROM erp_links GROUP BY status")).all())
    assert set(statuses) == {"posted"}


@infor
def test_when_the_warehouse_delivers_in_m3_the_product_waits_for_it(erp) -> None:
    adapter = type(erp.adapter()).from_env({**erp.env, "INFOR_REPORT_DELIVERY": "0"})
    cust = customer(95)
    order, inv = order_and_invoice(95, cust.external_id, "USD", 700, sku="SKU-01007")
    sale = InventoryAdjustment(external_id=f"{order.external_id}:SKU-01007", sku="SKU-01007",
                               location="MAIN", delta=Decimal(-2))
    assert adapter.post([cust])[0].ok and adapter.post([order])[0].ok     # confirmed only
    [inv_wait] = adapter.post([inv])
    [stock_wait] = adapter.post([sale])
    assert "not delivered" in inv_wait.waiting and "not delivered" in stock_wait.waiting
    assert adapter.on_hand("SKU-01007", "MAIN") == Decimal(1_000_000)
    orno = adapter.find(DocKind.SALES_ORDER, [order.external_id])[order.external_id].id
    raw = Raw(erp.env)                                # the warehouse delivers, in M3
    [line] = raw.get("MWS411MI/LstDelLnByOrd", RIDN=orno).json()["results"][0]["records"]
    raw.bulk("MWS410MI", [{"transaction": t, "record": {"DLIX": line["DLIX"], "OLUP": "1"}}
                          for t in ("RelForAlloc", "RelForPick")])
    picked = raw.bulk("MHS850MI", [{"transaction": "AddCOPick", "record": {
        "WHLO": "MAI", "E0PA": "STRIPE", "E065": "STRIPE", "CUNO": adapter.cuno[cust.external_id],
        "RIDN": orno, "RIDL": "1", "PLSX": "1", "DLIX": line["DLIX"], "PRFL": "*EXE"}}])
    assert picked["nrOfFailedTransactions"] == 0
    [stock] = adapter.post([sale])                    # found as the delivery's issue, once
    assert stock.ok and not stock.created
    assert adapter.on_hand("SKU-01007", "MAIN") == Decimal(1_000_000 - 2)
    erp.run_jobs()
    assert adapter.post([inv])[0].ok


@infor
def test_ar_control_equals_m3s_own_ar_ledger(posted_history) -> None:
    day = posted_history.as_of_day
    tb = posted_history.trial_balance()
    ar = {cur: v for (acct, cur), v in tb.items() if acct == "1200" and v}
    assert ar == posted_history.adapter.open_receivables(day)    # FSLEDG, not OIS350MI
    raw = Raw(posted_history.sandbox.env)       # every charge paid its invoice: both sides
    [[invoices]] = raw.select("count(*) from FSLEDG where ESTRCD = 10")
    [[payments]] = raw.select("count(*) from FSLEDG where ESTRCD = 20")
    assert int(invoices) == int(payments) > 500
