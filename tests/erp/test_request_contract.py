"""Every request each adapter makes, checked against what the ERP publishes.

The requests are those of the 30-day posting run (``posted_history``) plus the GL reads
of the trial-balance checks, recorded through httpx event hooks
(``tests/support/erp_requests.py``).  M3 programs, transactions and fields are checked
against ``m3_transactions.txt``, Epicor services, entity sets and fields against
``epicor_fields.txt``; anything not in them must be named, with its source, by the
fidelity table of the sandbox's README.  TIMS, which publishes nothing, is checked against
our contract document ``sandbox/tims/CONTRACT.md`` (``tests/support/erp_contract/``).

An ERP takes part once its sandbox README has a fidelity table (TIMS: once the contract
document exists); skipped with the reason until then.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.erp_contract import Element, check, has_fidelity_table, readme
from tests.support.erp_contract.fidelity import cells, covering, fidelity_rows, names_in
from tests.support.erp_contract.reference import EPICOR_FILE, M3_FILE, m3_reference
from tests.support.erp_contract.tims import CONTRACT
from tests.support.erp_ledger import missing_capability
from tests.support.erp_requests import Recorded


def test_every_request_is_in_the_published_contract(posted_history) -> None:
    kind = posted_history.sandbox.kind
    if kind == "tims" and not CONTRACT.exists():
        pytest.skip(f"tims: {CONTRACT.name} (the TIMS contract document) is not written yet")
    if kind != "tims" and not has_fidelity_table(kind):
        pytest.skip(f"{kind}: sandbox/{kind}/README.md has no fidelity table yet "
                    f"(a Markdown table with a Source column)")
    if missing_capability("gl_lines", posted_history.adapter) is None:
        posted_history.gl_lines()
        posted_history.trial_balance()
    recorder = posted_history.recorder
    assert recorder.unrecorded() == 0, "requests made through a client the recorder missed"
    assert len(recorder.requests) > 10
    report = check(kind, recorder.requests)
    assert report.listed > 100
    assert not report.uncovered, report.describe()


@pytest.mark.parametrize("kind", ["infor", "epicor"])
def test_fidelity_rows_all_give_a_source(kind: str) -> None:
    rows = fidelity_rows(readme(kind))
    if not rows:
        pytest.skip(f"{kind}: sandbox/{kind}/README.md has no fidelity table yet")
    assert all(r.source.strip(" -—*_") for r in rows), [r.text for r in rows
                                                       if not r.source.strip(" -—*_")][:5]


def test_reference_copies_equal_the_shared_originals() -> None:
    originals = [p / "shared" / "reference" / "erp" for p in Path(M3_FILE).parents]
    shared = next((p for p in originals if (p / M3_FILE.name).exists()), None)
    if shared is None:
        pytest.skip("shared/reference/erp is not reachable from this checkout")
    for copy in (M3_FILE, EPICOR_FILE):
        assert copy.read_bytes() == (shared / copy.name).read_bytes(), copy.name


# ------------------------------------------------------------------ the checkers themselves
def rec(method: str, path: str, body=None, **query: str) -> Recorded:
    return Recorded(method, path, path, {k: [v] for k, v in query.items()}, body)


def unlisted(kind: str, *requests: Recorded) -> set[str]:
    return {str(e) for e in check(kind, list(requests), rows=[]).uncovered}


def test_m3_checker_lists_what_the_swagger_has_and_nothing_else() -> None:
    assert "CUNO" in m3_reference().programs["OIS100MI"]["AddBatchHead"].inputs
    bulk = rec("POST", "/T/M3/m3api-rest/v2/execute", {"program": "OIS100MI", "transactions": [
        {"transaction": "AddBatchHead", "record": {"CUNO": "C1", "ZZZZ": "x"}},
        {"transaction": "Invent", "record": {}}]}, cono="100")
    single = rec("GET", "/T/M3/m3api-rest/v2/execute/EXPORTMI/Select", QERY=(
        "ESCINO,ESCUAM from FSLEDG where ESCONO = 100 and ESCINO = 'x''y'"), returncols="REPL")
    found = unlisted("infor", bulk, single)
    assert {"input field OIS100MI / AddBatchHead / ZZZZ", "transaction OIS100MI / Invent",
            "table FSLEDG", "table column FSLEDG / ESCINO", "table column FSLEDG / ESCUAM",
            "table column FSLEDG / ESCONO"} <= found
    assert not any("CUNO" in f or "cono" in f or "REPL" in f or "QERY" in f for f in found)


def test_epicor_checker_lists_what_the_swagger_has_and_nothing_else() -> None:
    base = "/I/api/v2/odata/EPIC06"
    found = unlisted(
        "epicor",
        rec("GET", f"{base}/Erp.BO.CustomerSvc/Customers", **{
            "$filter": "ExternalID eq 'cus_1' and contains(Nickname,'a')", "$top": "100"}),
        rec("POST", f"{base}/Erp.BO.GLJournalEntrySvc/UpdateExt", {
            "ds": {"GLJrnDtlMnl": [{"DocTransAmt": 1, "DocAmount": 2}]},
            "continueProcessingOnError": True}))
    assert {"field CustomerRow / Nickname", "method Erp.BO.GLJournalEntrySvc / UpdateExt",
            "field GLJrnDtlMnlRow / DocAmount",
            "method parameter UpdateExt / continueProcessingOnError"} <= found
    assert not any("ExternalID" in f or "DocTransAmt" in f or "$top" in f for f in found)


def test_fidelity_rows_cover_by_every_part_of_a_name(tmp_path) -> None:
    text = ("# x\n\n| Behaviour | Source |\n|---|---|\n"
            "| `EXPORTMI/Select` on `FSLEDG`: `ESCINO`, `ESCUAM` | M3 docs page |\n"
            "| `GET|POST /x` `a.b` | |\n")
    (tmp_path / "README.md").write_text(text)
    rows = fidelity_rows(tmp_path / "README.md")
    assert cells("| `GET|POST /x` | y |") == ["`GET|POST /x`", "y"]
    assert {"GET", "POST", "x", "a.b", "a", "b"} <= names_in("`GET|POST /x` `a.b`")
    assert covering(rows, Element("table column", (("FSLEDG",), ("ESCINO",))).spellings)
    assert not covering(rows, Element("table column", (("FSLEDG",), ("ESPYNO",))).spellings)
    assert not covering(rows, Element("x", (("a",), ("b",))).spellings)   # no source given
