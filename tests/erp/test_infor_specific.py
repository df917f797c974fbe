"""Infor M3 behaviour beyond the common contract: ION OAuth tokens, the MI bulk envelope
(HTTP 200 with failed transactions), M3 field lengths, lost answers on every write program,
closed periods and over-application, and the raw gateway/EXPORTMI/GLS200MI shapes."""
from __future__ import annotations

import ast
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from connectors.erp import ErpAuthError, ErpValidationError
from domain.erp import BankDeposit, Customer, DocKind, InventoryAdjustment, Payment, PaymentApplication
from domain.money import Money
from tests.erp.test_contract import D, customer, journal, order_and_invoice, payment

# the Infor sandbox only (the session fixture is parametrized over every ERP)
infor = pytest.mark.parametrize("erp_session", ["infor"], indirect=True)
REPO = Path(__file__).resolve().parents[2]


class Raw:
    """Direct ION API calls, as a generic M3 client would make them."""

    def __init__(self, env: dict[str, str]) -> None:
        self.ion = json.loads(Path(env["INFOR_IONAPI_FILE"]).read_text())
        self.url = f"{env['ERP_BASE_URL']}/{self.ion['ti']}/M3/m3api-rest/v2/execute"
        self.company, self.division = env["INFOR_COMPANY"], env["INFOR_DIVISION"]
        resp = httpx.post(self.ion["pu"] + self.ion["ot"], data={
            "grant_type": "password", "username": self.ion["saak"], "password": self.ion["sask"],
            "client_id": self.ion["ci"], "client_secret": self.ion["cs"]})
        resp.raise_for_status()
        self.headers = {"Authorization": f"Bearer {resp.json()['access_token']}"}

    def bulk(self, program: str, transactions: list[dict[str, Any]], **params: Any) -> dict:
        resp = httpx.post(self.url, headers=self.headers, params=params, json={
            "program": program, "cono": int(self.company), "divi": self.division,
            "transactions": transactions})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.url}/{path}", headers=self.headers, params=params)

    def select(self, query: str) -> list[list[str]]:
        data = self.bulk("EXPORTMI", [{"transaction": "Select",
                                       "record": {"QERY": query, "SEPC": ";"}}], maxrecs=0)
        return [r["REPL"].split(";") for r in data["results"][0]["records"]]


def token_requests(erp) -> int:
    stats = erp.control("GET", "stats")
    return sum(n for path, n in stats["by_path"].items() if path.endswith("token.oauth2"))


# ---------------------------------------------------------------------------- auth
@infor
def test_expired_token_is_refreshed_and_revoked_one_relogs_in(erp) -> None:
    adapter = erp.adapter()
    adapter.health()
    assert token_requests(erp) == 1
    erp.control("POST", "tokens", {"expire": True})          # gateway now answers 401
    assert all(r.ok for r in adapter.post([customer(1)]))
    assert token_requests(erp) == 2                           # one refresh_token grant
    erp.control("POST", "tokens", {"revoke": True})           # refresh token gone too
    adapter.health()
    assert token_requests(erp) == 4                           # refused refresh, then password


@infor
def test_token_is_refreshed_before_it_expires(erp) -> None:
    erp.control("POST", "tokens", {"ttl": 30})                # inside the adapter's margin
    try:
        adapter = erp.adapter()
        adapter.health()
        adapter.health()
        assert token_requests(erp) == 2                       # refreshed proactively, no 401
        stats = erp.control("GET", "stats")
        assert sum(stats["by_path"].values()) == 4
    finally:
        erp.control("POST", "tokens", {"ttl": 7200})


@infor
def test_bad_credentials_raise_auth_error_without_secrets(erp, tmp_path) -> None:
    ion = json.loads(Path(erp.env["INFOR_IONAPI_FILE"]).read_text())
    secret = "s3cr3t-not-the-real-one"
    bad = tmp_path / "bad.ionapi"
    bad.write_text(json.dumps({**ion, "sask": secret}))
    adapter = type(erp.adapter()).from_env({**erp.env, "INFOR_IONAPI_FILE": str(bad)})
    with pytest.raises(ErpAuthError) as exc:
        adapter.health()
    assert "invalid_grant" in str(exc.value) and secret not in str(exc.value)
    assert secret not in repr(adapter) and ion["cs"] not in repr(adapter)


@infor
def test_gateway_shapes(erp) -> None:
    raw = Raw(erp.env)
    assert httpx.get(f"{raw.url}/CRS610MI/GetBasicData", params={"CUNO": "TEMPLATE"}).status_code == 401
    assert raw.get("NOSUCHMI/Get").status_code == 404
    assert raw.get("CRS610MI/NoSuchTransaction").status_code == 404
    one = raw.get("CRS610MI/LstByNumber;maxrecs=1", CUNO="").json()
    assert one["nrOfSuccessfullTransactions"] == 1 and len(one["results"][0]["records"]) == 1
    other = raw.bulk("CRS610MI", [{"transaction": "GetBasicData", "record": {"CUNO": "TEMPLATE"}}],
                     cono=999)
    assert other["nrOfFailedTransactions"] == 0  # body company (100) wins over the query
    resp = httpx.post(raw.url, headers=raw.headers, json={
        "program": "CRS610MI", "cono": 999, "transactions": [
            {"transaction": "GetBasicData", "record": {"CUNO": "TEMPLATE"}}]}).json()
    assert resp["wasTerminated"] and "company 999" in resp["terminationReason"]


# ---------------------------------------------------------------------------- MI envelope
@infor
def test_failed_transactions_answer_http_200_with_nok_items(erp) -> None:
    raw = Raw(erp.env)
    data = raw.bulk("OIS100MI", [
        {"transaction": "AddBatchHead", "record": {"CUNO": "NOBODY"}},
        {"transaction": "AddBatchHead", "record": {"CUNO": "TEMPLATE", "CUOR": "x" * 21}},
        {"transaction": "AddBatchHead", "record": {"CUNO": "TEMPLATE", "CUOR": "ok"},
         "selectedColumns": ["ORNO"]},
        {"transaction": "AddBatchLine", "record": {"ORNO": "1", "ITNO": "SKU-01000", "BOGUS": "1"}},
        {"transaction": "NoSuchTransaction", "record": {}}])
    assert (data["nrOfSuccessfullTransactions"], data["nrOfFailedTransactions"]) == (1, 4)
    unknown, too_long, ok, bogus, missing = data["results"]
    assert unknown["errorType"] == "ServerReturnedNOK" and unknown["errorField"] == "CUNO"
    assert unknown["errorMessage"] == "Customer number NOBODY does not exist"
    assert too_long["errorField"] == "CUOR" and "max 20" in too_long["errorMessage"]
    assert list(ok["records"][0]) == ["ORNO"] and ok["records"][0]["ORNO"].isdigit()
    assert bogus["errorField"] == "BOGUS" and missing["errorMessage"]
    required = raw.bulk("CRS610MI", [{"transaction": "Add", "record": {"CUTM": "TEMPLATE"}}])
    assert required["results"][0]["errorField"] == "CUNM"
    assert required["results"][0]["errorMessage"] == "Customer name must be entered"


@infor
def test_field_lengths_come_back_as_validation_errors_and_spare_the_batch(erp) -> None:
    adapter = erp.adapter()
    long_mail = Customer(external_id="cus_LONG", name="Long mail", currency="USD",
                         email="a" * 45 + "@example.com")
    long_name = Customer(external_id="cus_NAME", name="N" * 80, currency="USD")
    results = adapter.post([customer(1), long_mail, long_name])
    assert results[0].ok                 # the adapter cuts nothing: the posting run applies
    err = results[1].error               # the mapping's field policies before it is called
    assert isinstance(err, ErpValidationError) and err.field == "MAIL" and "50" in err.message
    err = results[2].error
    assert isinstance(err, ErpValidationError) and err.field == "CUNM" and "36" in err.message
    assert adapter.read(DocKind.CUSTOMER, ["cus_NAME"]) == []
    order, _ = order_and_invoice(1, "cus_T000001", "USD", 100, sku="SKU-0100000000000")
    [res] = adapter.post([order])
    assert res.error.field == "ITNO" and "15" in res.error.message


# ---------------------------------------------------------------------------- lost answers
@infor
@pytest.mark.parametrize("program,count", [
    ("CRS610MI", 1), ("OIS100MI", 1), ("OIS100MI", 3), ("MWS410MI", 1), ("MHS850MI", 1),
    ("ARS040MI", 1), ("ARS251MI", 1), ("GLS840MI", 1)])
def test_lost_answers_on_writes_never_duplicate(erp, program: str, count: int) -> None:
    adapter = erp.adapter()
    custs = [customer(40 + i) for i in range(3)]
    pairs = [order_and_invoice(40 + i, c.external_id, "USD", 1500 + i) for i, c in enumerate(custs)]
    batches = [custs, [p[0] for p in pairs], [p[1] for p in pairs],
               [payment(40 + i, c.external_id, p[1].external_id, p[1].total)
                for i, (c, p) in enumerate(zip(custs, pairs))],
               [journal(f"txn_L{i}", "USD", 10 + i) for i in range(3)]]
    erp.fault(kind="500", count=count, after=True, program=program)
    for batch in batches:
        results = adapter.post(batch)
        assert all(r.ok for r in results), [r.error or r.waiting for r in results]
        erp.run_jobs()                   # M3's invoicing job, between orders and invoices
    assert erp.control("GET", "stats")["faults_injected"] == count
    fresh = erp.adapter()
    assert len(fresh.read(DocKind.CUSTOMER)) == 3
    assert len(fresh.read(DocKind.SALES_ORDER)) == 3
    invoices = fresh.read(DocKind.INVOICE)
    assert len(invoices) == 3 and all(i.open_balance.amount == 0 for i in invoices)
    assert len(fresh.read(DocKind.PAYMENT)) == 3 and len(fresh.read(DocKind.JOURNAL)) == 3
    raw = Raw(erp.env)
    assert len(raw.select("OAORNO from OOHEAD where OACONO = 100")) == 3
    assert raw.select("count(*) from FSLEDG where ESTRCD = 20") == [["3"]]   # paid once each
    assert raw.select("count(*) from FSLEDX") == [["3"]]
    for sku in {"SKU-01000"}:                                            # delivered once each
        assert fresh.on_hand(sku, "MAIN") == Decimal(1_000_000 - 6)


@infor
def test_dropped_connection_on_stock_adjustment_moves_stock_once(erp) -> None:
    adapter = erp.adapter()
    before = adapter.on_hand("SKU-01002", "MAIN")
    adj = InventoryAdjustment(external_id="pi_DROP:SKU-01002", sku="SKU-01002", location="MAIN",
                              delta=Decimal(-4))
    adapter.find(DocKind.INVENTORY, [adj.external_id])        # warm the token
    erp.fault(kind="drop", count=2, after=True, program="MMS850MI")  # lookup, then AddAdjust
    [res] = adapter.post([adj])
    assert res.ok
    assert adapter.on_hand("SKU-01002", "MAIN") == before - 4
    [held] = adapter.read(DocKind.INVENTORY, [adj.external_id])
    assert (held.doc.sku, held.doc.delta, held.doc.location) == ("SKU-01002", Decimal(-4), "MAIN")


@infor
def test_repeated_pmsn_never_adjusts_twice(erp) -> None:
    raw = Raw(erp.env)
    rec = {"E0PA": "STRIPE", "E065": "STRIPE", "WHLO": "MAI", "ITNO": "SKU-01003", "QLQT": "-1",
           "PMSN": "DUPLICATE-PMSN", "PRFL": "*EXE"}
    data = raw.bulk("MMS850MI", [{"transaction": "AddAdjust", "record": rec}] * 2)
    assert data["nrOfFailedTransactions"] == 1
    assert data["results"][1]["errorField"] == "PMSN"
    bal = raw.get("MMS200MI/GetItmWhsBal", WHLO="MAI", ITNO="SKU-01003").json()
    assert bal["results"][0]["records"][0]["STQT"] == "999999"
    msg = raw.get("MMS850MI/GetMvxMsg", E0PB="STRIPE", PMSN="DUPLICATE-PMSN").json()
    assert msg["results"][0]["records"][0]["MSGN"]


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


def test_sandbox_imports_no_product_code() -> None:
    product = {"domain", "connectors", "warehouse", "posting", "assets", "pipelines", "resources",
               "sensors", "webhooks"}
    for path in (REPO / "sandbox" / "infor").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            assert not {n.split(".")[0] for n in names} & product, (path.name, names)


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
