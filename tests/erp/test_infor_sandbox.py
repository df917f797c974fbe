"""The M3 sandbox follows M3's documented order-to-invoice flow (sandbox/infor/README.md):
Confirm makes a customer order only; delivery is released and reported; only M3's
invoicing job makes the invoice, its AR record and its GL voucher.  Closed periods and the
MI value rules are refused as M3 refuses them.  Driven with raw MI calls."""
from __future__ import annotations

import pytest

from tests.erp.infor_support import Raw

infor = pytest.mark.parametrize("erp_session", ["infor"], indirect=True)
PICK = {"WHLO": "MAI", "E0PA": "STRIPE", "E065": "STRIPE", "CUNO": "RAWCUST",
        "PRFL": "*EXE", "RPDT": "20261102"}


def one(data: dict, n: int = 0) -> dict:
    item = data["results"][n]
    assert not item.get("errorMessage"), item
    return item


def confirmed_order(raw: Raw) -> str:
    raw.bulk("CRS610MI", [{"transaction": "Add", "record": {
        "CUTM": "TEMPLATE", "CUNO": "RAWCUST", "CUNM": "Raw customer", "CUA1": "Raw"}}])
    tmp = one(raw.bulk("OIS100MI", [{"transaction": "AddBatchHead", "record": {
        "CUNO": "RAWCUST", "CUCD": "EUR", "ORDT": "20261102", "CUOR": "raw-1"}}]))
    orno_tmp = tmp["records"][0]["ORNO"]
    lines = raw.bulk("OIS100MI", [
        {"transaction": "AddBatchLine", "record": {"ORNO": orno_tmp, "ITNO": "SKU-01004",
                                                   "ORQT": "3", "SAPR": "12.50"}},
        {"transaction": "AddBatchLine", "record": {"ORNO": orno_tmp, "ITNO": "MISC",
                                                   "ORQT": "1", "SAPR": "4.99"}},
        {"transaction": "Confirm", "record": {"ORNO": orno_tmp}}])
    assert lines["nrOfFailedTransactions"] == 0, lines
    return lines["results"][2]["records"][0]["ORNO"]


def invoices_of(raw: Raw, orno: str) -> list[dict]:
    return one(raw.bulk("OIS350MI", [{"transaction": "LstAllInvByCO",
                                      "record": {"ORNO": orno}}]))["records"]


@infor
def test_only_delivery_and_the_invoicing_job_make_an_invoice(erp) -> None:
    raw = Raw(erp.env)
    orno = confirmed_order(raw)
    head = one(raw.bulk("OIS100MI", [{"transaction": "GetHead", "record": {"ORNO": orno}}]))
    assert (head["records"][0]["ORSL"], head["records"][0]["ORST"]) == ("22", "22")
    erp.run_jobs()                                     # nothing delivered: nothing invoiced
    assert invoices_of(raw, orno) == []
    assert raw.select("count(*) from FSLEDG") == [["0"]]
    assert one(raw.bulk("GLS200MI", [{"transaction": "LstVouchersByDt", "record": {
        "FRDT": "20000101", "TODT": "20991231"}}]))["records"] == []

    lines = one(raw.bulk("MWS411MI", [{"transaction": "LstDelLnByOrd",
                                       "record": {"RIDN": orno}}]))["records"]
    dlix = lines[0]["DLIX"]
    assert {x["DLIX"] for x in lines} == {dlix} and [x["RIDL"] for x in lines] == ["1", "2"]
    early = raw.bulk("MHS850MI", [{"transaction": "AddCOPick", "record": {
        **PICK, "RIDN": orno, "RIDL": "1", "PLSX": "1", "DLIX": dlix}}])
    assert early["results"][0]["errorField"] == "PLSX"            # not released for picking
    release = raw.bulk("MWS410MI", [
        {"transaction": "RelForAlloc", "record": {"DLIX": dlix, "OLUP": "1"}},
        {"transaction": "RelForPick", "record": {"DLIX": dlix, "OLUP": "1"}},
        {"transaction": "RelForPick", "record": {"DLIX": dlix, "OLUP": "1"}}])
    assert release["nrOfFailedTransactions"] == 1 and "already" in \
        release["results"][2]["errorMessage"]
    [pick] = one(raw.bulk("MWS420MI", [{"transaction": "LstPickHeader",
                                        "record": {"DLIX": dlix}}]))["records"]
    reports = raw.bulk("MHS850MI", [
        {"transaction": "AddCOPick", "record": {**PICK, "RIDN": orno, "RIDL": ridl,
                                                "PLSX": pick["PLSX"], "DLIX": dlix,
                                                "PMSN": f"RAW-{ridl}"}}
        for ridl in ("1", "2", "2")])
    assert reports["nrOfFailedTransactions"] == 1
    assert reports["results"][2]["errorField"] == "PMSN"          # the same report twice
    bal = one(raw.bulk("MMS200MI", [{"transaction": "GetItmWhsBal", "record": {
        "WHLO": "MAI", "ITNO": "SKU-01004"}}]))["records"][0]
    assert bal["STQT"] == "999997"                                # the delivery issued stock
    head = one(raw.bulk("OIS100MI", [{"transaction": "GetHead", "record": {"ORNO": orno}}]))
    assert head["records"][0]["ORSL"] == "66"
    assert invoices_of(raw, orno) == []                           # delivered, not invoiced

    run = erp.control("POST", "jobs/invoicing", {"invoice_date": "2026-11-03"})
    assert [x["ORNO"] for x in run["invoiced"]] == [orno]
    [inv] = invoices_of(raw, orno)
    assert (inv["IVAV"], inv["RAFC"], inv["CUCD"], inv["IDAT"]) == (
        "42.49", "42.49", "EUR", "20261103")
    assert raw.select(f"ESTRCD,ESCUAM,ESIVDT from FSLEDG where ESCINO = {inv['IVNO']}") == [
        ["10", "42.49", "20261103"]]
    vono = one(raw.bulk("OIS350MI", [{"transaction": "GetInvHead", "record": {
        "YEA4": inv["YEA4"], "IVNO": inv["IVNO"]}}]))["records"][0]["VONO"]
    head = one(raw.bulk("GLS200MI", [{"transaction": "GetVoucherHead", "record": {
        "DIVI": "AAA", "YEA4": inv["YEA4"], "VONO": vono}}]))["records"][0]
    assert head["DSUM"] == head["CSUM"] and (head["CUAD"], head["CUAC"]) == ("42.49", "42.49")
    lines = one(raw.bulk("GLS200MI", [{"transaction": "LstVoucherLines", "record": {
        "DIVI": "AAA", "YEA4": inv["YEA4"], "VONO": vono}}]))["records"]
    assert sorted((x["AIT1"], x["CUCD"], x["CUAM"], x["ACAM"]) for x in lines) == [
        ("1200", "EUR", "42.49", "45.89"), ("4000", "EUR", "-37.50", "-40.50"),
        ("4000", "EUR", "-4.99", "-5.39")]                       # local USD at 1.08 per EUR
    assert {x["FEID"] for x in lines} == {"OI20"}
    erp.run_jobs()                                                # invoiced once only
    assert len(invoices_of(raw, orno)) == 1
    dl = one(raw.bulk("MWS410MI", [{"transaction": "GetHead", "record": {"DLIX": dlix}}]))
    assert (dl["records"][0]["PGRS"], dl["records"][0]["IVNO"]) == ("80", inv["IVNO"])


@infor
def test_closed_periods_refuse_postings_naming_the_period(erp) -> None:
    raw = Raw(erp.env)
    erp.control("POST", "periods", {"close": "2026-11"})
    assert erp.control("GET", "periods") == {"closed": ["2026-11"]}

    def journal(key: str) -> dict:
        line = {"KEY1": key, "INRI": "GL", "CUCD": "USD", "ACDT": "20261115", "VTXT": key}
        return raw.bulk("GLS840MI", [
            {"transaction": "AddBatchHead", "record": {"CONO": "100", "KEY1": key,
                                                       "INTN": "STRIPE", "DESC": key}},
            {"transaction": "AddBatchLineFld", "record": {**line, "LINE": "1", "AIT1": "6100",
                                                          "CUAM": "2.00", "DBCR": "D"}},
            {"transaction": "AddBatchLineFld", "record": {**line, "LINE": "2", "AIT1": "1250",
                                                          "CUAM": "2.00", "DBCR": "C"}},
            {"transaction": "CtrlBatch", "record": {"CONO": "100", "KEY1": key}},
            {"transaction": "UpdBatch", "record": {"CONO": "100", "KEY1": key}}])
    refused = journal("CLOSED1")["results"][3]
    assert refused["errorField"] == "ACDT" and "202611" in refused["errorMessage"]
    assert "closed" in refused["errorMessage"]
    erp.control("POST", "periods", {"open": "2026-11"})
    assert journal("CLOSED1")["nrOfFailedTransactions"] == 0      # the key is free again

    orno = confirmed_order(raw)                       # deliver, then invoice into a closed month
    [line1, line2] = one(raw.bulk("MWS411MI", [{"transaction": "LstDelLnByOrd",
                                                "record": {"RIDN": orno}}]))["records"]
    raw.bulk("MWS410MI", [{"transaction": t, "record": {"DLIX": line1["DLIX"], "OLUP": "1"}}
                          for t in ("RelForAlloc", "RelForPick")])
    raw.bulk("MHS850MI", [{"transaction": "AddCOPick", "record": {
        **PICK, "RIDN": orno, "RIDL": x["RIDL"], "PLSX": "1", "DLIX": x["DLIX"]}}
        for x in (line1, line2)])
    erp.control("POST", "periods", {"close": "2026-10"})
    run = erp.control("POST", "jobs/invoicing", {"invoice_date": "2026-10-31"})
    assert run["invoiced"] == [] and "202610" in run["skipped"][0]["message"]
    assert invoices_of(raw, orno) == []                           # still waiting, not lost
    assert len(erp.control("POST", "jobs/invoicing", {})["invoiced"]) == 1


@infor
def test_values_are_strings_and_dates_are_yyyymmdd(erp) -> None:
    raw = Raw(erp.env)
    data = raw.bulk("OIS100MI", [
        {"transaction": "AddBatchHead", "record": {"CUNO": "TEMPLATE", "ORQT": 1}},
        {"transaction": "AddBatchHead", "record": {"CUNO": "TEMPLATE", "CUOR": 12}},
        {"transaction": "AddBatchHead", "record": {"CUNO": "TEMPLATE", "ORDT": "2026-11-02"}}])
    unknown, number, date = data["results"]
    assert unknown["errorField"] == "ORQT"                        # not an AddBatchHead field
    assert number["errorField"] == "CUOR" and "string" in number["errorMessage"]
    assert date["errorField"] == "ORDT" and "YYYYMMDD" in date["errorMessage"]
