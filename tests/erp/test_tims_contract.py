"""Our TIMS contract document (``sandbox/tims/CONTRACT.md``) and the TIMS sandbox agree:
the same endpoints with the same query parameters and body schemas; every documented
request field accepted and nothing else; every field of an answer documented."""
from __future__ import annotations

from typing import Any

from sandbox.tims.routes import ROUTES
from tests.erp.tims_api import Api
from tests.support.erp_contract.tims import _paths, contract

# Served outside the route table (sandbox/tims/app.py).
APP_ENDPOINTS = {("POST", "/oauth/token"): (frozenset(), "TokenRequest"),
                 ("POST", "/batch"): (frozenset(), "BatchRequest")}


def test_the_sandbox_serves_exactly_the_documented_endpoints() -> None:
    documented = {(e.method, e.template): (e.query, e.body) for e in contract().endpoints}
    served = {(r.method, r.template): (r.query, r.body) for r in ROUTES} | APP_ENDPOINTS
    assert documented.keys() == served.keys(), documented.keys() ^ served.keys()
    for key, (query, body) in served.items():
        assert documented[key] == (query, body), key


def documented_fields(schema: str, read_only: bool = True) -> set[str]:
    """A schema's field paths (with the read-only ones unless ``read_only`` is False)."""
    from tests.support.erp_contract.tims import CONTRACT
    lines = CONTRACT.read_text().splitlines()
    start = lines.index(f"### `{schema}`")
    out = set()
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`") and (
                read_only or "read-only" not in cells[2]):
            out.add(cells[0].strip("`"))
    return out


FULL_BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "Customer": ("/customers", {
        "customerCode": "C99", "externalReference": "cus_F", "name": "Full", "email": "f@x.io",
        "phone": "1", "billingAddress": {"line1": "a", "line2": "b", "city": "c", "state": "d",
                                         "postalCode": "e", "country": "US"},
        "shippingAddress": {"line1": "f", "line2": "g", "city": "h", "state": "i",
                            "postalCode": "j", "country": "CA"},
        "locationId": "01", "currency": "USD", "taxExempt": False}),
    "SalesOrder": ("/salesorders", {
        "customerCode": "C99", "locationId": "MAIN", "purchaseOrderNumber": "PO",
        "orderDate": "2026-11-02", "currency": "USD", "externalReference": "pi_F",
        "lines": [{"lineNumber": 1, "sku": "SKU-01000", "description": "d", "quantity": 2,
                   "unitPrice": 1.50}]}),
    "JournalEntry": ("/generalledger/journalentries", {
        "entryDate": "2026-11-02", "currency": "USD", "memo": "m", "source": "s",
        "externalReference": "txn_F",
        "lines": [{"accountNumber": "6100", "debit": 1, "credit": 0, "memo": "a"},
                  {"accountNumber": "1250", "debit": 0, "credit": 1, "memo": "b"}]}),
    "Deposit": ("/banking/deposits", {
        "bankAccountId": "OPER", "depositDate": "2026-11-03", "amount": 1, "currency": "USD",
        "clearingAccountNumber": "1250", "status": "Posted", "memo": "m",
        "journalEntryId": "JE-2026-000001", "externalReference": "po_F"}),
    "Adjustment": ("/inventory/items/SKU-01000/adjustments", {
        "locationId": "MAIN", "delta": -1, "reasonCode": "SALE", "adjustmentDate": "2026-11-02",
        "externalReference": "pi_F:SKU-01000"}),
}


def test_documented_request_fields_are_accepted_and_nothing_else(tims) -> None:
    tims.reset()
    api = Api(tims)
    invoice = {"customerCode": "C99", "orderNumber": "SO-000001", "invoiceDate": "2026-11-02",
               "dueDate": "2026-11-30", "currency": "USD", "externalReference": "pi_F",
               "taxAmount": 0.30, "freightAmount": 0,
               "lines": FULL_BODIES["SalesOrder"][1]["lines"]}
    payment = {"customerCode": "C99", "paymentDate": "2026-11-03", "amount": 3.30,
               "currency": "USD", "method": "CARD", "bankAccountId": "STRIPE",
               "reference": "ch_F", "externalReference": "ch_F",
               "applications": [{"invoiceNumber": "INV-000001", "amount": 3.30}]}
    bodies = dict(FULL_BODIES)
    bodies["Invoice"] = ("/accounts/receivable/invoices", invoice)
    bodies["Payment"] = ("/accounts/receivable/payments", payment)
    order = ["Customer", "SalesOrder", "Invoice", "Payment", "JournalEntry", "Deposit",
             "Adjustment"]
    for schema in order:
        path, body = bodies[schema]
        assert set(_paths(body)) == documented_fields(schema, read_only=False), schema
        resp = api("POST", path, json=body)
        assert resp.status_code == 201, (schema, resp.text)
        answer = resp.json()
        assert set(_paths(answer)) <= documented_fields(schema), (
            schema, set(_paths(answer)) - documented_fields(schema))
        extra = api("POST", path, json={**body, "externalReference": body["externalReference"]
                                        + "2", "colour": "red"})
        assert extra.status_code == 422, schema
        unknown = [e["field"] for e in extra.json()["errors"] if e["code"] == "UNKNOWN_FIELD"]
        assert unknown == ["colour"], extra.text
    bad_query = api("GET", "/customers?externalRefrence=cus_F")
    assert bad_query.status_code == 400
    assert bad_query.json()["errors"][0]["code"] == "UNKNOWN_PARAMETER"
    # what the ledger answers after those postings is documented too
    entries = api("GET", "/generalledger/entries?pageSize=200").json()
    assert entries["items"]
    assert set(_paths(entries["items"][0])) <= documented_fields("LedgerEntry")
    tb = api("GET", "/generalledger/trialbalance?asOf=2026-12-31").json()
    assert {f"items[].{p}" for p in _paths(tb["items"][0])} | {"asOf"} <= \
        documented_fields("TrialBalance")
    setup = api("GET", "/generalledger/postingsetup").json()
    assert set(setup) == documented_fields("PostingSetup")
