"""Epicor posting, as the documented flows have it: every group is posted through Epicor's
posting services and checked, cash applies only to posted invoices, a period closed between
entry and posting refuses the posting (and a later post once reopened posts it, once),
foreign-currency journal lines keep document amounts in the document fields with base
amounts from Epicor's exchange rate, invoices are miscellaneous.  Checked through Epicor's
own API (the adapter, or raw REST calls for what the adapter does not read)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.erp import BankDeposit, DocKind, Invoice, OrderLine
from domain.money import Money
from tests.erp.test_contract import D, customer, journal, order_and_invoice, payment
from tests.erp.test_epicor_specific import Api, assert_error, epicor, epicor_session  # noqa: F401

END = date(2026, 12, 31)


def enter_unposted_invoice(api: Api, cust_num: int, group: str = "T261102") -> int:
    """An invoice entered through ARInvoiceSvc but not posted (as a user would leave it)."""
    resp = api.post("Erp.BO.InvcGrpSvc/UpdateExt", {
        "ds": {"InvcGrp": [{"GroupID": group, "InvoiceDate": "2026-11-02T00:00:00",
                            "RowMod": "A"}]},
        "continueProcessingOnError": False, "rollbackParentOnChildError": True})
    assert resp.status_code == 200, resp.text
    resp = api.post("Erp.BO.ARInvoiceSvc/UpdateExt", {"ds": {
        "InvcHead": [{"InvoiceNum": 0, "GroupID": group, "InvoiceType": "Mis",
                      "CustNum": cust_num, "PONum": "pi_U1", "ExternalID": "pi_U1",
                      "InvoiceDate": "2026-11-02T00:00:00", "CurrencyCode": "USD",
                      "RowMod": "A"}],
        "InvcDtl": [{"InvoiceNum": 0, "PartNum": "SKU-01000", "SellingShipQty": 1,
                     "DocUnitPrice": 25, "RowMod": "A"}]},
        "continueProcessingOnError": False, "rollbackParentOnChildError": True})
    assert resp.status_code == 200, resp.text
    [head] = resp.json()["parameters"]["ds"]["InvcHead"]
    assert head["Posted"] is False
    return head["InvoiceNum"]


def test_every_group_is_posted_through_the_posting_services_and_checked(epicor) -> None:
    adapter = epicor.adapter()
    cust = customer(1)
    order, inv = order_and_invoice(1, cust.external_id, "USD", 2500)
    dep = BankDeposit(external_id="po_P1", bank_account="1010", clearing_account="1250",
                      deposit_date=D, amount=Money(4000, "USD"))
    for doc in (cust, order, inv, payment(1, cust.external_id, inv.external_id, inv.total),
                journal("txn_P1", "USD", 150), dep):
        [res] = adapter.post([doc])
        assert res.ok and res.created, res.error
    by_path = epicor.control("GET", "stats")["by_path"]
    for service in ("ARInvoicePostSvc", "CashRecPostSvc", "BankFundPostSvc"):
        assert by_path[f"POST Erp.PROC.{service}/RunDirect"] == 1
        assert by_path[f"GET Erp.PROC.{service}/GetNewParameters"] == 1
    assert by_path["POST Erp.BO.GLJrnGrpSvc/PostGroupJournals"] == 1
    api = Api(epicor)
    [head] = api.get("Erp.BO.ARInvoiceSvc/ARInvoices", **{
        "$filter": "ExternalID eq 'pi_T000001'"}).json()["value"]
    assert head["Posted"] is True and head["InvoiceType"] == "Mis" and head["OrderNum"] > 0
    assert head["DocInvoiceBal"] == 0                    # the receipt posted against it
    for entity in ("InvcGrpSvc/InvcGrps", "CashGrpSvc/CashGrps", "GLJrnGrpSvc/GLJrnGrps",
                   "GLJournalEntrySvc/GLJournalEntries"):   # posting removes them
        assert api.get(f"Erp.BO.{entity}").json()["value"] == [], entity
    sources = {(x.source, x.account, x.amount_minor) for x in adapter.gl_lines(None, END)}
    assert sources == {("ARInvoice", "1200", 5000), ("ARInvoice", "4000", -5000),
                       ("CashReceipt", "1250", 5000), ("CashReceipt", "1200", -5000),
                       ("GLJournal", "6100", 150), ("GLJournal", "1250", -150),
                       ("BankTransfer", "1010", 4000), ("BankTransfer", "1250", -4000)}
    assert adapter.trial_balance(D) == {("1200", "USD"): 0, ("4000", "USD"): -5000,
                                        ("1250", "USD"): 850, ("6100", "USD"): 150,
                                        ("1010", "USD"): 4000}
    again = epicor.adapter()                             # found, posted: nothing to do
    assert [r.created for r in again.post([inv])] == [False]
    assert epicor.control("GET", "stats")["by_path"][
        "POST Erp.PROC.ARInvoicePostSvc/RunDirect"] == 1


def test_cash_applied_to_an_unposted_invoice_is_refused(epicor) -> None:
    adapter = epicor.adapter()
    cust = customer(2)
    [res] = adapter.post([cust])
    api = Api(epicor)
    number = enter_unposted_invoice(api, int(res.ref.id.split("/")[1]))
    [res] = adapter.post([payment(2, cust.external_id, "pi_U1", Money(2500, "USD"))])
    assert res.error is not None and "not posted" in res.error.message
    assert str(number) in res.error.message
    assert adapter.read(DocKind.PAYMENT) == []
    assert adapter.gl_lines(None, END) == []


def test_a_period_closed_after_entry_refuses_the_posting_until_reopened(epicor) -> None:
    adapter = epicor.adapter()
    cust = customer(3)
    [res] = adapter.post([cust])
    api = Api(epicor)
    enter_unposted_invoice(api, int(res.ref.id.split("/")[1]))
    epicor.control("POST", "periods", {"close": "2026-11"})
    line = OrderLine(line_no=1, sku="SKU-01000", description="Item", quantity=Decimal(1),
                     unit_price=Money(2500, "USD"))
    inv = Invoice(external_id="pi_U1", customer=cust.external_id, invoice_date=D, due_date=D,
                  currency="USD", lines=(line,), total=Money(2500, "USD"))
    [res] = adapter.post([inv])                          # found, but its posting is refused
    assert res.error is not None and "2026-11" in res.error.message, res.error
    assert adapter.gl_lines(None, END) == []
    body = assert_error(api.post("Erp.PROC.ARInvoicePostSvc/RunDirect", {"ds": {
        "ARInvoicePostParam": [{"GroupID": "T261102"}]}}), 400)
    assert "closed" in body["ErrorMessage"] and "2026-11" in body["ErrorMessage"]
    epicor.control("POST", "periods", {"open": "2026-11"})
    [res] = adapter.post([inv])
    assert res.ok and not res.created                    # posted now, not entered twice
    assert {x.account: x.amount_minor for x in adapter.gl_lines(None, END)} == {
        "1200": 2500, "4000": -2500}
    assert len(api.get("Erp.BO.ARInvoiceSvc/ARInvoices").json()["value"]) == 1


def test_foreign_currency_journal_lines_keep_document_amounts_and_book_by_the_rate(
        epicor) -> None:
    adapter = epicor.adapter()
    j = journal("txn_FX", "EUR", 12345)
    [res] = adapter.post([j])
    assert res.ok, res.error
    api = Api(epicor)
    [rate] = api.get("Erp.BO.CurrExRateSvc/CurrExRates", **{
        "$filter": "SourceCurrCode eq 'EUR' and TargetCurrCode eq 'USD'"}).json()["value"]
    lines = api.get("Erp.BO.GLJrnDtlSvc/GLJrnDtls", **{
        "$filter": "LineReference eq 'txn_FX'",
        "$select": "GLAccount,CurrencyCode,DebitAmount,CreditAmount,BookDebitAmount,"
                   "BookCreditAmount,BookCurrencyCode"}).json()["value"]
    book = (Decimal("123.45") * Decimal(str(rate["CurrentRate"]))).quantize(Decimal("0.01"))
    assert {(x["GLAccount"], x["CurrencyCode"], Decimal(str(x["DebitAmount"])),
             Decimal(str(x["CreditAmount"])), Decimal(str(x["BookDebitAmount"])),
             Decimal(str(x["BookCreditAmount"])), x["BookCurrencyCode"]) for x in lines} == {
        ("6100", "EUR", Decimal("123.45"), 0, book, 0, "USD"),
        ("1250", "EUR", 0, Decimal("123.45"), 0, book, "USD")}
    [rec] = epicor.adapter().read(DocKind.JOURNAL, ["txn_FX"])
    assert rec.doc == j
    # a line given only in book currency gets its document amount back through the rate
    resp = api.post("Erp.BO.GLJrnGrpSvc/UpdateExt", {"ds": {"GLJrnGrp": [{
        "GroupID": "T1", "JEDate": "2026-11-02T00:00:00", "RowMod": "A"}]},
        "continueProcessingOnError": False, "rollbackParentOnChildError": True})
    assert resp.status_code == 200, resp.text
    resp = api.post("Erp.BO.GLJournalEntrySvc/UpdateExt", {"ds": {
        "GLJrnHed": [{"JournalNum": 0, "GroupID": "T1", "CurrencyCode": "EUR",
                      "Description": "book only", "RowMod": "A"}],
        "GLJrnDtlMnl": [{"JournalNum": 0, "GLAccount": "6100", "DebitAmount": 108,
                         "RowMod": "A"},
                        {"JournalNum": 0, "GLAccount": "1250", "CreditAmount": 108,
                         "RowMod": "A"}]},
        "continueProcessingOnError": False, "rollbackParentOnChildError": True})
    assert resp.status_code == 200, resp.text
    docs = sorted(Decimal(str(x["DocTransAmt"]))
                  for x in resp.json()["parameters"]["ds"]["GLJrnDtlMnl"])
    assert docs == [-(Decimal(108) / Decimal(str(rate["CurrentRate"]))).quantize(
        Decimal("0.01")), (Decimal(108) / Decimal(str(rate["CurrentRate"]))).quantize(
        Decimal("0.01"))]


def test_shipment_invoices_need_a_pack_slip(epicor) -> None:
    adapter = epicor.adapter()
    [res] = adapter.post([customer(4)])
    api = Api(epicor)
    api.post("Erp.BO.InvcGrpSvc/UpdateExt", {"ds": {"InvcGrp": [{
        "GroupID": "T2", "InvoiceDate": "2026-11-02T00:00:00", "RowMod": "A"}]},
        "continueProcessingOnError": False, "rollbackParentOnChildError": True})
    order = order_and_invoice(4, "cus_T000004", "USD", 100)[0]
    [ores] = adapter.post([order])
    body = assert_error(api.post("Erp.BO.ARInvoiceSvc/UpdateExt", {"ds": {
        "InvcHead": [{"InvoiceNum": 0, "GroupID": "T2", "InvoiceType": "Shp",
                      "CustNum": int(res.ref.id.split("/")[1]),
                      "OrderNum": int(ores.ref.id.split("/")[1]), "RowMod": "A"}],
        "InvcDtl": [{"InvoiceNum": 0, "PartNum": "SKU-01000", "SellingShipQty": 1,
                     "DocUnitPrice": 1, "RowMod": "A"}]},
        "continueProcessingOnError": False, "rollbackParentOnChildError": True}), 400)
    assert "PackNum" in body["ErrorMessage"]
