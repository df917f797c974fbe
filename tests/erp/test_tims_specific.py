"""TIMS-only behaviour of the sandbox contract (sandbox/tims/README.md) and of its adapter:
OAuth, XML negotiation, RFC 7807 problems, Idempotency-Key replay, /batch, exact amounts."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from connectors.erp import ErpAuthError, ErpValidationError, make_adapter
from domain.erp import DocKind, InventoryAdjustment, Invoice, OrderLine
from domain.money import Money
from tests.erp.test_contract import customer, journal, order_and_invoice, payment
from tests.erp.tims_api import Api


def test_tims_oauth_client_credentials(tims) -> None:
    base = tims.env["ERP_BASE_URL"]
    bad = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials",
                                                  "client_id": tims.env["TIMS_CLIENT_ID"],
                                                  "client_secret": "wrong"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    grant = httpx.post(f"{base}/oauth/token", data={"grant_type": "password"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    ok = Api(tims)
    assert ok("GET", "/customers").status_code == 200
    anon = httpx.get(f"{base}/customers")
    assert anon.status_code == 401
    assert anon.headers["content-type"].startswith("application/problem+json")
    assert anon.headers["www-authenticate"].startswith("Bearer")


def test_tims_adapter_reauthenticates_once_and_hides_its_secret(tims) -> None:
    adapter = tims.adapter()
    adapter.health()
    tims.control("POST", "tokens/revoke")
    assert adapter.post([customer(1)])[0].created
    secret = tims.env["TIMS_CLIENT_SECRET"]
    assert secret not in repr(adapter) and secret not in str(vars(adapter))
    wrong = make_adapter({**tims.env, "TIMS_CLIENT_SECRET": "not-the-secret"})
    with pytest.raises(ErpAuthError) as err:
        wrong.health()
    assert "invalid_client" in err.value.message and "not-the-secret" not in err.value.message


def test_tims_xml_negotiation(tims) -> None:
    api = Api(tims)
    xml = {"Accept": "application/xml"}
    resp = api("GET", "/generalledger/accounts?pageSize=2", headers=xml)
    assert resp.headers["content-type"].startswith("application/xml")
    assert "<accounts><items><account><accountNumber>1010</accountNumber>" in resp.text
    assert "<totalCount>22</totalCount>" in resp.text    # 2450 deferred revenue (e15rev)
    body = ("<customer><name>Xml Co</name><currency>KWD</currency>"
            "<externalReference>cus_XML</externalReference>"
            "<billingAddress><city>Kuwait City</city><country>KW</country></billingAddress>"
            "</customer>")
    made = api("POST", "/customers", content=body,
               headers={**xml, "Content-Type": "application/xml"})
    assert made.status_code == 201, made.text
    assert "<customerCode>C10001</customerCode>" in made.text and "<balance>0.000</balance>" in \
        made.text
    order = ("<salesOrder><customerCode>C10001</customerCode><orderDate>2026-11-02</orderDate>"
             "<currency>KWD</currency><lines><line><sku>SKU-01000</sku><quantity>2</quantity>"
             "<unitPrice>12.340</unitPrice></line></lines></salesOrder>")
    so = api("POST", "/salesorders", content=order,
             headers={"Content-Type": "application/xml"})
    assert so.status_code == 201, so.text
    assert so.json()["total"] == 24.68 and '"total":24.680' in so.text
    missing = api("GET", "/salesorders/SO-999999", headers=xml)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+xml")
    assert '<problem xmlns="urn:ietf:rfc:7807">' in missing.text
    assert "<detail>Sales order SO-999999 does not exist</detail>" in missing.text


def test_tims_problem_json_shapes(tims) -> None:
    api = Api(tims)
    unbalanced = {"entryDate": "2026-11-02", "currency": "USD", "externalReference": "txn_U",
                  "lines": [{"accountNumber": "6100", "debit": 100.00, "credit": 0},
                            {"accountNumber": "1250", "debit": 0, "credit": 99.00}]}
    resp = api("POST", "/generalledger/journalentries", json=unbalanced)
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    p = resp.json()
    assert set(p) == {"type", "title", "status", "detail", "instance", "errors", "traceId"}
    assert p["type"] == "https://tims.example/errors/validation" and p["status"] == 422
    assert p["detail"] == "Journal entry is not balanced"
    assert p["instance"] == "/api/v1/generalledger/journalentries"
    assert p["errors"] == [{"field": "lines", "code": "UNBALANCED",
                            "message": "debits 100.00 != credits 99.00"}]
    ok = {**unbalanced, "lines": [unbalanced["lines"][0],
                                  {"accountNumber": "1250", "debit": 0, "credit": 100}]}
    first = api("POST", "/generalledger/journalentries", json=ok)
    assert first.status_code == 201 and first.json()["journalEntryId"] == "JE-2026-000001"
    assert first.headers["location"] == "/api/v1/generalledger/journalentries/JE-2026-000001"
    dup = api("POST", "/generalledger/journalentries", json=ok)
    assert dup.status_code == 409 and dup.json()["existingId"] == "JE-2026-000001"
    too_big = api("GET", "/customers?pageSize=201")
    assert too_big.status_code == 400 and too_big.json()["errors"][0]["field"] == "pageSize"


def test_tims_idempotency_key_replay_and_mismatch(tims) -> None:
    api = Api(tims)
    body = {"name": "Once", "currency": "USD", "externalReference": "cus_ONCE"}
    key = {"Idempotency-Key": "k-1"}
    first = api("POST", "/customers", json=body, headers=key)
    again = api("POST", "/customers", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    other = api("POST", "/customers", json={**body, "name": "Twice"}, headers=key)
    assert other.status_code == 422
    assert other.json()["type"] == "https://tims.example/errors/idempotency-key-reuse"
    assert api("GET", "/customers").json()["totalCount"] == 1


def test_tims_batch_sub_requests_are_independent(tims) -> None:
    api = Api(tims)
    reqs = [{"method": "POST", "path": "/customers", "idempotencyKey": f"b{i}",
             "body": {"name": f"B{i}", "currency": "USD", "externalReference": f"cus_B{i}"}}
            for i in range(3)]
    reqs[1]["body"]["currency"] = "US"
    reqs.append({"method": "GET", "path": "/customers?externalReference=cus_B0,cus_B2,cus_B9"})
    resp = api("POST", "/batch", json={"requests": reqs})
    assert resp.status_code == 200
    out = resp.json()["responses"]
    assert [r["status"] for r in out] == [201, 422, 201, 200]
    assert out[1]["body"]["errors"][0]["code"] == "INVALID_CURRENCY"
    assert [c["externalReference"] for c in out[3]["body"]["items"]] == ["cus_B0", "cus_B2"]
    replay = api("POST", "/batch", json={"requests": reqs[:1]}).json()["responses"][0]
    assert replay["headers"]["Idempotent-Replayed"] == "true"
    too_many = api("POST", "/batch", json={"requests": [reqs[3]] * 501})
    assert too_many.status_code == 422


def test_tims_amounts_keep_the_minor_unit_exactly(tims) -> None:
    adapter = tims.adapter()
    for cur, unit in (("KWD", 12340), ("JPY", 2500), ("USD", 1999)):
        cust = customer(ord(cur[0]), cur)
        order, inv = order_and_invoice(ord(cur[0]), cust.external_id, cur, unit)
        for doc in (cust, order, inv):
            assert adapter.post([doc])[0].ok
    raw = Api(tims)("GET", "/accounts/receivable/invoices").text
    assert '"total":24.680' in raw and '"total":5000,' in raw and '"total":39.98' in raw
    api = Api(tims)
    bad = api("POST", "/generalledger/journalentries", json={
        "entryDate": "2026-11-02", "currency": "JPY",
        "lines": [{"accountNumber": "6100", "debit": 1.5, "credit": 0},
                  {"accountNumber": "1250", "debit": 0, "credit": 1.5}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "TOO_MANY_DECIMALS"


def test_tims_over_application_and_closed_period(tims) -> None:
    adapter = tims.adapter()
    cust = customer(40)
    order, inv = order_and_invoice(40, cust.external_id, "USD", 1000)
    for doc in (cust, order, inv):
        adapter.post([doc])
    first = payment(40, cust.external_id, inv.external_id, Money(1500, "USD"))
    over = payment(41, cust.external_id, inv.external_id, Money(1000, "USD"))
    ok, rejected = adapter.post([first, over])
    assert ok.created
    assert isinstance(rejected.error, ErpValidationError)
    assert rejected.error.code == "OVER_APPLIED" and rejected.error.status == 422
    assert "exceeds the open balance 5.00" in rejected.error.message
    tims.control("POST", "periods/close", {"before": "2026-12-01"})
    [closed] = adapter.post([journal("txn_CLOSED", "USD", 10)])
    assert closed.error.code == "PERIOD_CLOSED" and "2026-11-02" in closed.error.message
    assert closed.error.field == "entryDate"


def test_tims_unresolved_references_are_rejected_per_document(tims) -> None:
    adapter = tims.adapter()
    cust = customer(50)
    adapter.post([cust])
    line = OrderLine(line_no=1, sku="SKU-01000", description="x", quantity=Decimal(1),
                     unit_price=Money(100, "USD"))
    orphan = Invoice(external_id="in_ORPHAN", order="pi_nope", customer=cust.external_id,
                     invoice_date=date(2026, 11, 2), due_date=date(2026, 11, 2),
                     currency="USD", lines=(line,), total=Money(100, "USD"))
    _, good = order_and_invoice(51, cust.external_id, "USD", 100)
    good = good.model_copy(update={"order": None})
    bad, fine = adapter.post([orphan, good])
    assert isinstance(bad.error, ErpValidationError) and bad.error.field == "orderNumber"
    assert fine.created


def test_tims_lost_responses_never_duplicate(tims) -> None:
    adapter = tims.adapter()
    adapter.health()
    docs = [customer(60 + i) for i in range(4)]
    # the create batch acts, then its answer is lost (a 500, later a dropped connection)
    tims.fault(kind="500", count=1, after=True, path_prefix="/api/v1/batch")
    results = adapter.post(docs[:2])
    assert [(r.ok, r.created) for r in results] == [(True, True)] * 2
    tims.fault(kind="drop", count=1, after=True, path_prefix="/api/v1/batch")
    results = adapter.post(docs)  # two found, two created (answer lost, found on re-lookup)
    assert [(r.ok, r.created) for r in results] == [(True, False)] * 2 + [(True, True)] * 2
    tims.fault(kind="timeout", count=2)
    assert [(r.ok, r.created) for r in adapter.post(docs)] == [(True, False)] * 4
    assert len(adapter.read(DocKind.CUSTOMER)) == 4
    stats = tims.control("GET", "stats")
    # each create batch sent once: a lost answer is followed by a lookup, never a blind re-send
    assert stats["faults_injected"] == 4 and stats["by_path"]["/api/v1/batch"] == 2


def test_tims_inventory_adjustments_and_absolute_quantity(tims) -> None:
    api = Api(tims)
    adj = {"locationId": "MAIN", "delta": -2, "externalReference": "pi_X:SKU-01002"}
    assert api("POST", "/inventory/items/SKU-01002/adjustments", json=adj).status_code == 201
    dup = api("POST", "/inventory/items/SKU-01002/adjustments", json=adj)
    assert dup.status_code == 409 and dup.json()["existingId"] == "ADJ-000001"
    assert api("POST", "/inventory/items/SKU-99999/adjustments", json=adj).status_code == 404
    put = api("PUT", "/inventory/items/SKU-01002/quantity",
              json={"locationId": "MAIN", "onHand": 7, "reasonCode": "COUNT"})
    assert put.status_code == 200 and put.json()["onHand"] == 7
    adapter = tims.adapter()
    assert adapter.on_hand("SKU-01002", "MAIN") == 7
    [misc] = adapter.post([InventoryAdjustment(external_id="pi_Y:MISC", sku="MISC",
                                               location="MAIN", delta=Decimal(-1))])
    assert misc.error.code == "NOT_STOCKED"
    tims.control("POST", "items", [{"sku": "NEW-1", "on_hand": 5, "location": "WEST",
                                    "stocked": True}])
    assert adapter.on_hand("NEW-1", "WEST") == 5


def test_tims_read_round_trips_documents(tims) -> None:
    adapter = tims.adapter()
    cust = customer(70, "EUR")
    order, inv = order_and_invoice(70, cust.external_id, "EUR", 1234, qty=3)
    pay = payment(70, cust.external_id, inv.external_id, inv.total)
    jn = journal("txn_RT", "EUR", 77)
    for doc in (cust, order, inv, pay, jn):
        assert adapter.post([doc])[0].created
    fresh = tims.adapter()  # nothing cached: keys are resolved through the API
    for kind, doc in ((DocKind.CUSTOMER, cust), (DocKind.SALES_ORDER, order),
                      (DocKind.INVOICE, inv), (DocKind.PAYMENT, pay), (DocKind.JOURNAL, jn)):
        [rec] = fresh.read(kind, [doc.external_id])
        assert rec.doc == doc, kind


def test_tims_sandbox_needs_no_product_code() -> None:
    for path in Path(__file__).resolve().parents[2].joinpath("sandbox", "tims").glob("*.py"):
        text = path.read_text()
        for pkg in ("domain", "connectors", "warehouse", "posting", "pipelines"):
            assert f"from {pkg}" not in text and f"import {pkg}" not in text, path
