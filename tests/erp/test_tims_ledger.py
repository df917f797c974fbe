"""The TIMS general ledger (CONTRACT.md, "Accounting"): what each document posts, the
entries and trial-balance inquiries, closed periods; read through the API and the adapter."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from connectors.erp import ErpValidationError
from domain.money import Money
from tests.erp.test_contract import customer, journal, order_and_invoice
from tests.erp.tims_api import Api

D = "2026-11-02"


def entries(api: Api, query: str = "") -> list[tuple]:
    body = api("GET", f"/generalledger/entries?pageSize=200{query}").json()
    return [(e["sourceType"], e["sourceNumber"], e["accountNumber"], e["currency"],
             Decimal(str(e["debit"])), Decimal(str(e["credit"]))) for e in body["items"]]


def post(api: Api, path: str, body: dict) -> dict:
    resp = api("POST", path, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_tims_each_document_posts_its_entries(tims) -> None:
    api = Api(tims)
    post(api, "/customers", {"customerCode": "C1", "name": "One", "currency": "USD"})
    post(api, "/salesorders", {"customerCode": "C1", "orderDate": D, "currency": "USD",
                               "lines": [{"sku": "SKU-01000", "quantity": 2,
                                          "unitPrice": 10}]})
    assert entries(api) == []                               # no ledger effect
    post(api, "/accounts/receivable/invoices", {
        "customerCode": "C1", "invoiceDate": D, "currency": "USD", "taxAmount": 1.60,
        "freightAmount": 5, "lines": [{"sku": "SKU-01000", "quantity": 2, "unitPrice": 10},
                                      {"sku": "MISC", "quantity": 1, "unitPrice": 0.40}]})
    post(api, "/accounts/receivable/payments", {
        "customerCode": "C1", "paymentDate": "2026-11-03", "amount": 30, "currency": "USD",
        "method": "CARD", "bankAccountId": "STRIPE",
        "applications": [{"invoiceNumber": "INV-000001", "amount": 27}]})
    post(api, "/generalledger/journalentries", {
        "entryDate": "2026-11-03", "currency": "JPY", "lines": [
            {"accountNumber": "6100", "debit": 113}, {"accountNumber": "1250", "credit": 113}]})
    dep = {"bankAccountId": "OPER", "depositDate": "2026-11-05", "amount": 25.5,
           "currency": "USD", "clearingAccountNumber": "1250"}
    post(api, "/banking/deposits", {**dep, "externalReference": "po_1"})
    post(api, "/banking/deposits", {**dep, "externalReference": "po_2", "status": "Failed"})
    post(api, "/banking/deposits", {**dep, "externalReference": "po_3",
                                    "journalEntryId": "JE-2026-000001"})
    d = Decimal
    assert entries(api) == [
        ("ARInvoice", "INV-000001", "1200", "USD", d("27.00"), d("0.00")),
        ("ARInvoice", "INV-000001", "4000", "USD", d("0.00"), d("20.00")),
        ("ARInvoice", "INV-000001", "4000", "USD", d("0.00"), d("0.40")),
        ("ARInvoice", "INV-000001", "2200", "USD", d("0.00"), d("1.60")),
        ("ARInvoice", "INV-000001", "4000", "USD", d("0.00"), d("5.00")),
        ("ARPayment", "PMT-000001", "1250", "USD", d("30.00"), d("0.00")),
        ("ARPayment", "PMT-000001", "1200", "USD", d("0.00"), d("27.00")),
        ("ARPayment", "PMT-000001", "2300", "USD", d("0.00"), d("3.00")),
        ("JournalEntry", "JE-2026-000001", "6100", "JPY", d("113"), d("0")),
        ("JournalEntry", "JE-2026-000001", "1250", "JPY", d("0"), d("113")),
        ("BankDeposit", "DEP-000001", "1010", "USD", d("25.50"), d("0.00")),
        ("BankDeposit", "DEP-000001", "1250", "USD", d("0.00"), d("25.50"))]
    assert api("GET", "/accounts/receivable/invoices/INV-000001").json()["balance"] == 0
    assert api("GET", "/generalledger/postingsetup").json()["receivablesAccount"] == "1200"


def test_tims_entries_and_trial_balance_by_date_through_the_adapter(tims) -> None:
    adapter = tims.adapter()
    for n, day in ((1, date(2026, 10, 30)), (2, date(2026, 11, 2)), (3, date(2026, 11, 20))):
        assert adapter.post([journal(f"txn_L{n}", "USD", 100 * n, when=day)])[0].created
    assert adapter.post([journal("txn_LK", "KWD", 12345)])[0].created
    lines = adapter.gl_lines(date(2026, 11, 1), date(2026, 11, 19))
    assert sorted((x.voucher, x.account, x.currency, x.amount_minor) for x in lines) == [
        ("JE-2026-000002", "1250", "USD", -200), ("JE-2026-000002", "6100", "USD", 200),
        ("JE-2026-000004", "1250", "KWD", -12345), ("JE-2026-000004", "6100", "KWD", 12345)]
    assert {x.source for x in lines} == {"JournalEntry"}
    assert adapter.trial_balance(date(2026, 11, 2)) == {
        ("1250", "USD"): -300, ("6100", "USD"): 300, ("1250", "KWD"): -12345,
        ("6100", "KWD"): 12345}
    assert adapter.trial_balance(date(2026, 10, 1)) == {}
    api = Api(tims)
    page = api("GET", "/generalledger/trialbalance?asOf=2026-12-31&pageSize=1&page=2").json()
    assert page["totalCount"] == 4 and len(page["items"]) == 1
    assert page["items"][0]["balance"] == -6.00     # ("1250", "USD"), after ("1250", "KWD")
    assert api("GET", "/generalledger/trialbalance").status_code == 400     # asOf required
    usd = entries(api, "&currency=USD&accountNumber=6100&from=2026-11-01")
    assert [e[4] for e in usd] == [Decimal("2.00"), Decimal("3.00")]


def test_tims_closed_periods_are_months_refused_by_name_until_reopened(tims) -> None:
    adapter = tims.adapter()
    cust = customer(80)
    order, inv = order_and_invoice(80, cust.external_id, "USD", 500)
    assert tims.control("POST", "periods", {"close": "2026-11"})["closed"] == ["2026-11"]
    assert [r.ok for r in adapter.post([cust])] == [True]        # no ledger effect
    assert adapter.post([order])[0].ok
    [refused] = adapter.post([inv])
    assert isinstance(refused.error, ErpValidationError)
    assert refused.error.code == "PERIOD_CLOSED" and refused.error.field == "invoiceDate"
    assert "The accounting period 2026-11 is closed" in refused.error.message
    december = journal("txn_DEC", "USD", 10, when=date(2026, 12, 1))
    assert adapter.post([december])[0].created                    # another month is open
    api = Api(tims)
    failed = {"bankAccountId": "OPER", "depositDate": D, "amount": 1, "currency": "USD",
              "clearingAccountNumber": "1250", "status": "Failed"}
    assert api("POST", "/banking/deposits", json=failed).status_code == 201
    assert api("POST", "/banking/deposits", json={**failed, "status": "Posted"}
               ).status_code == 422
    assert tims.control("POST", "periods", {"open": "2026-11"})["closed"] == []
    assert adapter.post([inv])[0].created
    assert adapter.trial_balance(date(2026, 11, 30))[("1200", "USD")] == 1000
    assert inv.total == Money(1000, "USD")
