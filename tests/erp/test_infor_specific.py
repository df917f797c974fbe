"""Infor M3 behaviour beyond the common contract, on the wire: ION OAuth tokens, the MI
bulk envelope (HTTP 200 with failed transactions), M3 field lengths, lost answers on every
write program, and the raw gateway shapes.  AR, GL and order-to-invoice rules:
test_infor_accounting.py."""
from __future__ import annotations

import ast
import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from connectors.erp import ErpAuthError, ErpValidationError
from domain.erp import Customer, DocKind, InventoryAdjustment
from tests.erp.infor_support import REPO, Raw, infor, token_requests
from tests.erp.test_contract import customer, journal, order_and_invoice, payment


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


def test_sandbox_imports_no_product_code() -> None:
    product = {"domain", "connectors", "warehouse", "posting", "assets", "pipelines", "resources",
               "sensors", "webhooks"}
    for path in (REPO / "sandbox" / "infor").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            assert not {n.split(".")[0] for n in names} & product, (path.name, names)
