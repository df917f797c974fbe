"""Epicor-only behaviour of the sandbox (sandbox/epicor/README.md) and of its adapter:
API key + Basic/Bearer, company in the URL, §1.6 error bodies, OData paging without
nextLink, case-sensitive names, UpdateExt batches, lost write responses."""
from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.erp import ErpValidationError, make_adapter
from domain.erp import DocKind, InventoryAdjustment
from domain.money import Money
from tests.erp.conftest import ErpSandbox, start_erp_sandbox
from tests.erp.test_contract import customer, journal, order_and_invoice, payment

ERROR_KEYS = {"HttpStatus", "ReasonPhrase", "ErrorMessage", "ErrorType", "ErrorDetails",
              "CorrelationId"}


@pytest.fixture(scope="module")
def epicor_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ErpSandbox]:
    sb = start_erp_sandbox("epicor", tmp_path_factory.mktemp("erp-epicor-specific"))
    yield sb
    sb.proc.stop()


@pytest.fixture
def epicor(epicor_session: ErpSandbox) -> ErpSandbox:
    epicor_session.reset()
    return epicor_session


class Api:
    """Raw HTTP against /{Instance}/api/v2/odata/{Company} with a bearer token."""

    def __init__(self, sb: ErpSandbox) -> None:
        env = sb.env
        self.root = env["ERP_BASE_URL"]
        self.base = f"{self.root}/api/v2/odata/{env['EPICOR_COMPANY']}"
        self.key = env["EPICOR_API_KEY"]
        resp = httpx.post(f"{self.root}/TokenResource.svc/", headers={
            "username": env["EPICOR_USERNAME"], "password": env["EPICOR_PASSWORD"]})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["TokenType"] == "Bearer" and body["ExpiresIn"] > 0
        self.headers = {"x-api-key": self.key, "Authorization": f"Bearer {body['AccessToken']}"}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.base}/{path}", params=params, headers=self.headers)

    def post(self, path: str, body: Any) -> httpx.Response:
        return httpx.post(f"{self.base}/{path}", json=body, headers=self.headers)


def assert_error(resp: httpx.Response, status: int, error_type: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == ERROR_KEYS and body["HttpStatus"] == status and body["ErrorMessage"]
    if error_type is not None:
        assert body["ErrorType"] == error_type
    return body


def test_api_key_and_basic_or_bearer_are_both_required(epicor) -> None:
    api = Api(epicor)
    env = epicor.env
    url = f"{api.base}/Erp.BO.BankAcctSvc/BankAccts"
    assert api.get("Erp.BO.BankAcctSvc/BankAccts").status_code == 200
    assert_error(httpx.get(url, headers={"Authorization": api.headers["Authorization"]}), 401)
    assert_error(httpx.get(url, headers={**api.headers, "x-api-key": "nope"}), 401)
    assert_error(httpx.get(url, headers={"x-api-key": api.key}), 401)
    basic = base64.b64encode(f"{env['EPICOR_USERNAME']}:{env['EPICOR_PASSWORD']}".encode())
    ok = httpx.get(url, params={"api-key": api.key},
                   headers={"Authorization": f"Basic {basic.decode()}"})
    assert ok.status_code == 200 and {r["BankAcctID"] for r in ok.json()["value"]} == {
        "STRIPE", "OPER", "TRANSIT"}
    bad = base64.b64encode(f"{env['EPICOR_USERNAME']}:wrong".encode()).decode()
    assert_error(httpx.get(url, params={"api-key": api.key},
                           headers={"Authorization": f"Basic {bad}"}), 401)
    assert httpx.post(f"{api.root}/TokenResource.svc/", headers={
        "username": env["EPICOR_USERNAME"], "password": "wrong"}).status_code == 401


def test_company_and_names_in_the_url(epicor) -> None:
    api = Api(epicor)
    other = api.base.rsplit("/", 1)[0]
    assert_error(httpx.get(f"{other}/NOSUCH/Erp.BO.BankAcctSvc/BankAccts",
                           headers=api.headers), 404)
    assert_error(httpx.get(f"{other}/EPIC03/Erp.BO.BankAcctSvc/BankAccts",
                           headers=api.headers), 403, "UnauthorizedAccessException")
    assert_error(api.get("Erp.BO.customerSvc/Customers"), 404,
                 "Epicor.RESTApi.ErrorHandling.ApiException")
    assert_error(api.get("Erp.BO.CustomerSvc/customers"), 404,
                 "Epicor.RESTApi.ErrorHandling.ApiException")
    assert_error(api.get("Erp.BO.CustomerSvc/Customers", **{"$filter": "externalID eq 'x'"}),
                 400, "ODataException")
    assert_error(api.get("Erp.BO.CustomerSvc/Customers", **{"$filter": "ExternalID eq"}),
                 400, "ODataException")


def test_paging_is_top_and_skip_without_next_link(epicor) -> None:
    adapter = epicor.adapter()
    assert all(r.ok for r in adapter.post([customer(i) for i in range(150)]))
    api = Api(epicor)
    first = api.get("Erp.BO.CustomerSvc/Customers", **{
        "$select": "CustNum,ExternalID", "$orderby": "CustNum", "$top": "500",
        "$count": "true"}).json()
    assert len(first["value"]) == 100 and "@odata.nextLink" not in first
    assert first["@odata.count"] == 150 and set(first["value"][0]) == {"CustNum", "ExternalID"}
    second = api.get("Erp.BO.CustomerSvc/Customers", **{
        "$select": "CustNum", "$orderby": "CustNum", "$skip": "100"}).json()
    assert len(second["value"]) == 50
    assert second["value"][0]["CustNum"] == first["value"][-1]["CustNum"] + 1
    ids = ",".join(f"'cus_T{n:06d}'" for n in (3, 4, 999))
    found = api.get("Erp.BO.CustomerSvc/Customers", **{"$filter": f"ExternalID in ({ids})"})
    assert sorted(r["ExternalID"] for r in found.json()["value"]) == ["cus_T000003",
                                                                      "cus_T000004"]
    assert len(adapter.read(DocKind.CUSTOMER)) == 150


def test_odata_crud_and_duplicate_keys(epicor) -> None:
    api = Api(epicor)
    row = {"CustID": "ACME", "Name": "Acme Inc", "ExternalID": "cus_acme", "CurrencyCode": "USD"}
    created = api.post("Erp.BO.CustomerSvc/Customers", row)
    assert created.status_code == 201 and created.json()["CustNum"] > 0
    num = created.json()["CustNum"]
    assert_error(api.post("Erp.BO.CustomerSvc/Customers", row), 409, "DuplicateRecordException")
    patched = httpx.patch(f"{api.base}/Erp.BO.CustomerSvc/Customers('EPIC06',{num})",
                          json={"EMailAddress": "ap@acme.test"}, headers=api.headers)
    assert patched.status_code == 204
    got = api.get(f"Erp.BO.CustomerSvc/Customers('EPIC06',{num})").json()
    assert got["EMailAddress"] == "ap@acme.test" and got["CustID"] == "ACME"
    assert_error(api.get("Erp.BO.CustomerSvc/Customers('EPIC06',999999)"), 404)
    order = api.post("Erp.BO.SalesOrderSvc/SalesOrders", {
        "CustNum": num, "PONum": "pi_crud", "OrderDate": "2026-11-02T00:00:00"})
    assert order.status_code == 201
    onum = order.json()["OrderNum"]
    bad = api.post("Erp.BO.SalesOrderSvc/OrderDtls", {
        "OrderNum": onum, "PartNum": "NOPE", "SellingQuantity": 1, "DocUnitPrice": 5})
    detail = assert_error(bad, 400, "Ice.Common.BusinessObjectException")["ErrorDetails"][0]
    assert (detail["Table"], detail["Field"]) == ("OrderDtl", "PartNum")
    line = api.post("Erp.BO.SalesOrderSvc/OrderDtls", {
        "OrderNum": onum, "PartNum": "SKU-01000", "SellingQuantity": 2, "DocUnitPrice": 19.99})
    assert line.status_code == 201 and line.json()["OrderLine"] == 1
    lines = api.get(f"Erp.BO.SalesOrderSvc/SalesOrders('EPIC06',{onum})/OrderDtls").json()
    assert [d["DocExtPriceDtl"] for d in lines["value"]] == [39.98]


def test_update_ext_links_lines_by_temporary_key_and_reports_row_errors(epicor) -> None:
    adapter = epicor.adapter()
    [cust] = adapter.post([customer(1)])
    cust_num = int(cust.ref.id.split("/")[1])
    api = Api(epicor)
    resp = api.post("Erp.BO.SalesOrderSvc/UpdateExt", {"ds": {
        "OrderHed": [{"OrderNum": -1, "CustNum": cust_num, "PONum": "pi_a", "RowMod": "A"},
                     {"OrderNum": -2, "CustNum": cust_num, "PONum": "pi_b", "RowMod": "A"}],
        "OrderDtl": [{"OrderNum": -1, "PartNum": "SKU-01000", "SellingQuantity": 1,
                      "DocUnitPrice": 10, "RowMod": "A"},
                     {"OrderNum": -2, "PartNum": "SKU-01001", "SellingQuantity": 1,
                      "DocUnitPrice": 10, "RowMod": "A"},
                     {"OrderNum": -2, "PartNum": "SKU-99999", "SellingQuantity": 1,
                      "DocUnitPrice": 10, "RowMod": "A",
                      "SysRowID": "00000000-0000-0000-0000-0000000000aa"}]},
        "continueProcessingOnError": True, "rollbackParentOnChildError": True})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["parameters"]["errorsOccurred"] is True
    [err] = body["returnObj"]["BOUpdError"]
    assert set(err) == {"TableName", "ErrorLevel", "ErrorType", "ErrorText", "ErrorSysRowID",
                        "SysRowID", "RowMod"}
    assert err["TableName"] == "OrderDtl" and "SKU-99999" in err["ErrorText"]
    assert err["ErrorSysRowID"] == "00000000-0000-0000-0000-0000000000aa"
    [head] = body["parameters"]["ds"]["OrderHed"]  # pi_b rolled back with its bad line
    assert head["PONum"] == "pi_a" and head["OrderNum"] > 0 and head["DocOrderAmt"] == 10
    assert [d["OrderNum"] for d in body["parameters"]["ds"]["OrderDtl"]] == [head["OrderNum"]]
    missing = api.post("Erp.BO.SalesOrderSvc/UpdateExt", {"ds": {"OrderHed": []}})
    assert_error(missing, 400, "ODataException")


def test_adapter_reauthenticates_once_and_hides_secrets(epicor) -> None:
    adapter = epicor.adapter()
    adapter.health()
    epicor.control("POST", "tokens/expire")
    assert adapter.post([customer(1)])[0].created
    stats = epicor.control("GET", "stats")["by_path"]
    assert stats["POST TokenResource.svc"] == 2
    for secret in (epicor.env["EPICOR_API_KEY"], epicor.env["EPICOR_PASSWORD"]):
        assert secret not in repr(adapter)
    basic = make_adapter({**epicor.env, "EPICOR_AUTH": "basic"})
    assert basic.post([customer(2)])[0].created
    assert epicor.control("GET", "stats")["by_path"]["POST TokenResource.svc"] == 2


@pytest.mark.parametrize("kind", ["500", "timeout", "drop"])
def test_a_lost_write_response_never_duplicates(epicor, kind: str) -> None:
    adapter = epicor.adapter()
    cust = customer(1)
    order, inv = order_and_invoice(1, cust.external_id, "USD", 2500)
    for doc in (cust, order, inv):
        assert adapter.post([doc])[0].ok
    journals = [journal(f"txn_L{i}", "USD", 100 + i) for i in range(20)]
    pay = payment(1, cust.external_id, inv.external_id, inv.total)
    for docs, svc in ((journals, "GLJournalEntrySvc"), ([pay], "CashRecSvc")):
        # the ERP acts, the answer to the write is lost
        epicor.fault(kind=kind, count=1, after=True, path=f"{svc}/UpdateExt")
        results = adapter.post(docs)
        assert all(r.ok and r.created for r in results), [r.error for r in results]
    fresh = epicor.adapter()
    assert len(fresh.read(DocKind.JOURNAL)) == 20
    [held] = fresh.read(DocKind.INVOICE, [inv.external_id])
    assert held.open_balance == Money(0, "USD")
    assert len(fresh.read(DocKind.PAYMENT)) == 1
    stats = epicor.control("GET", "stats")
    assert stats["faults_injected"] == 2
    assert stats["by_path"]["POST Erp.BO.GLJournalEntrySvc/UpdateExt"] == 1  # not re-sent


def test_business_rules_answer_with_epicors_messages(epicor) -> None:
    adapter = epicor.adapter()
    cust = customer(1, "KWD")
    order, inv = order_and_invoice(1, cust.external_id, "KWD", 12345)
    for doc in (cust, order, inv):
        assert adapter.post([doc])[0].ok
    too_much = payment(1, cust.external_id, inv.external_id, Money(24700, "KWD"))
    [res] = adapter.post([too_much])
    assert isinstance(res.error, ErpValidationError) and "exceeds" in res.error.message
    [held] = adapter.read(DocKind.INVOICE, [inv.external_id])
    assert held.open_balance == Money(24690, "KWD")
    epicor.control("POST", "periods/close", {"before": "2026-12-01"})
    late, late_inv = order_and_invoice(2, cust.external_id, "KWD", 1000)
    assert adapter.post([late])[0].ok  # orders are not period-controlled
    [res] = adapter.post([late_inv])
    assert res.error is not None and "2026-11-02" in res.error.message


def test_inventory_batch_isolates_refused_rows(epicor) -> None:
    adapter = epicor.adapter()
    before = adapter.on_hand("SKU-01002", "MAIN")
    docs = [InventoryAdjustment(external_id="pi_I1:SKU-01002", sku="SKU-01002",
                                location="MAIN", delta=Decimal(-2)),
            InventoryAdjustment(external_id="pi_I2:SKU-404", sku="SKU-404", location="MAIN",
                                delta=Decimal(-1)),
            InventoryAdjustment(external_id="pi_I3:SKU-01003", sku="SKU-01003",
                                location="EAST", delta=Decimal(-1)),
            InventoryAdjustment(external_id="pi_I4:SKU-01002", sku="SKU-01002",
                                location="MAIN", delta=Decimal("0.5"))]
    results = adapter.post(docs)
    assert [r.ok for r in results] == [True, False, False, True]
    assert "SKU-404" in results[1].error.message and "EAST" in results[2].error.message
    assert adapter.on_hand("SKU-01002", "MAIN") == before - Decimal("1.5")
    held = {r.doc.external_id: r.doc.delta for r in epicor.adapter().read(DocKind.INVENTORY)}
    assert held == {"pi_I1:SKU-01002": Decimal(-2), "pi_I4:SKU-01002": Decimal("0.5")}


def test_lookups_are_exact_although_the_database_ignores_case(epicor) -> None:
    adapter = epicor.adapter()
    upper = customer(1).model_copy(update={"external_id": "cus_AbC"})
    lower = customer(2).model_copy(update={"external_id": "cus_abc"})
    assert adapter.post([upper])[0].created
    api = Api(epicor)
    ci = api.get("Erp.BO.CustomerSvc/Customers", **{"$filter": "ExternalID eq 'CUS_ABC'"})
    assert len(ci.json()["value"]) == 1  # SQL Server collation: case-insensitive
    assert epicor.adapter().find(DocKind.CUSTOMER, ["cus_abc"]) == {}
    assert epicor.adapter().post([lower])[0].created
    assert {r.doc.external_id for r in adapter.read(DocKind.CUSTOMER)} == {"cus_AbC", "cus_abc"}


def test_deposit_and_journal_round_trip(epicor) -> None:
    from domain.erp import BankDeposit
    adapter = epicor.adapter()
    dep = BankDeposit(external_id="po_X1", bank_account="1010", clearing_account="1250",
                      deposit_date=date(2026, 11, 3), amount=Money(5000, "JPY"))
    back = BankDeposit(external_id="po_X2", bank_account="1010", clearing_account="1250",
                       deposit_date=date(2026, 11, 4), amount=Money(700, "USD"), status="failed")
    assert all(r.created for r in adapter.post([dep, back]))
    held = {r.doc.external_id: r.doc for r in epicor.adapter().read(DocKind.DEPOSIT)}
    assert held == {"po_X1": dep, "po_X2": back}
    j = journal("txn_RT", "BHD", 1230)
    assert adapter.post([j])[0].created
    [rec] = epicor.adapter().read(DocKind.JOURNAL, ["txn_RT"])
    assert rec.doc == j


@pytest.mark.parametrize("style", ["or", "in"])
def test_lookups_and_writes_are_chunked_within_limits(epicor, style: str) -> None:
    adapter = make_adapter({**epicor.env, "EPICOR_FILTER_STYLE": style,
                            "EPICOR_MAX_QUERY_CHARS": "600", "EPICOR_BATCH_SIZE": "50"})
    docs = [customer(i) for i in range(120)]
    assert all(r.created for r in adapter.post(docs))
    stats = epicor.control("GET", "stats")["by_path"]
    assert stats["POST Erp.BO.CustomerSvc/UpdateExt"] == 3
    lookups = stats["GET Erp.BO.CustomerSvc/Customers"]
    assert lookups >= 6  # 600 characters of query string hold far fewer than 50 ids
    fresh = make_adapter({**epicor.env, "EPICOR_FILTER_STYLE": style,
                          "EPICOR_MAX_QUERY_CHARS": "600"})
    found = fresh.find(DocKind.CUSTOMER, [d.external_id for d in docs] + ["cus_none"])
    assert len(found) == 120
    assert [r.created for r in fresh.post(docs[:10])] == [False] * 10
