"""Workbench pages read from the warehouse: reconciliation variances by payout with their
items, amounts in each currency's own decimals; flagged anomalies."""
from __future__ import annotations

from datetime import date, datetime, timezone

from starlette.testclient import TestClient

from domain.mapping import DEFAULT_MAPPING
from warehouse.db import make_engine
from warehouse.migrate import upgrade
from domain.anomalies import Score
from warehouse.anomalies import store_scores
from warehouse.schema import reconciliation_items, reconciliation_payouts
from workbench.app import create_app
from workbench.settings import Settings

TOKEN = "pages-token-9b7c"
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def _payout(pid: str, currency: str, amount: int, variance: int, status: str = "variance"):
    return {"payout_id": pid, "erp": "tims", "arrival_date": date(2026, 11, 30), "status": status,
            "currency": currency, "amount": amount, "expected": amount, "found": amount - variance,
            "variance": variance, "transactions": 3, "unmatched_items": 1, "reconciled_at": NOW}


def test_reconciliation_and_anomalies_pages(warehouse_url: str) -> None:
    engine = make_engine(warehouse_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(reconciliation_payouts.insert(), [
            _payout("po_usd", "usd", 7239001, 3453757), _payout("po_jpy", "jpy", 250000, 2500),
            _payout("po_kwd", "kwd", 1250, -1250), _payout("po_ok", "usd", 100, 0, "matched")])
        conn.execute(reconciliation_items.insert(), [
            {"payout_id": "po_usd", "erp": "tims", "balance_transaction_id": "txn_1",
             "kind": "receipt", "source_id": "ch_1", "expected": 3453757, "found": 0,
             "problem": "missing"}])
    burst = Score("charge", "ch_burst", "cus_1", int(NOW.timestamp()), 150, "usd", 0.5, ["x"])
    store_scores(engine, [burst])
    burst.score, burst.reasons = 0.78, ["7 charges by the customer within 10 minutes"]
    store_scores(engine, [burst])                          # re-scored: replaced, not added
    client = TestClient(create_app(Settings(token=TOKEN, mapping_path=DEFAULT_MAPPING), engine))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    page = client.get("/reconciliation", headers=auth).text
    assert "USD 72,390.01" in page and "USD 34,537.57" in page     # amount and variance
    assert "JPY 2,500" in page and "KWD -1.250" in page
    assert "txn_1" in page and "missing" in page and "po_ok" not in page
    page = client.get("/anomalies", headers=auth).text
    assert page.count("<tr id='anomaly-ch_burst'>") == 1 and "USD 1.50" in page and "within 10 minutes" in page
    assert TOKEN not in page
    assert client.get("/reconciliation", follow_redirects=False).status_code == 303


def test_apply_with_dagster_unreachable_says_so_and_audits_it(tmp_path) -> None:
    import shutil
    from tests.support.processes import free_port
    from workbench import audit
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    mapping = tmp_path / "mapping.yaml"
    shutil.copy(DEFAULT_MAPPING, mapping)
    settings = Settings(token=TOKEN, mapping_path=mapping,
                        graphql_url=f"http://127.0.0.1:{free_port()}/graphql")
    client = TestClient(create_app(settings, engine))
    resp = client.post("/apply", data={"ids": "7", "sku": "sku_9", "item": "SKU-01009"},
                       headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 400 and "replay was not launched" in resp.text
    assert '"sku_9": "SKU-01009"' in mapping.read_text()
    [entry] = audit.latest(engine)
    assert entry["who"] == "api" and entry["run_id"] is None and entry["dead_letter_ids"] == "7"
    assert "replay NOT launched" in entry["summary"] and "+    \"sku_9\"" in entry["mapping_diff"]


def test_dead_letters_grouped_by_cause_with_the_erps_message(tmp_path) -> None:
    from warehouse.schema import erp_dead_letters
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    letter = {"erp": "tims", "kind": "invoice", "source_day": date(2026, 11, 2),
              "error_type": "ErpValidationError", "error_field": "invoiceDate",
              "error_status": 422, "payload": {"total": {"amount": 100}},
              "first_failed_at": NOW, "last_failed_at": NOW}
    with engine.begin() as conn:
        conn.execute(erp_dead_letters.insert(), [
            {**letter, "external_id": f"pi_{i}", "source_id": f"ch_{i}",
             "error_message": f"The accounting period 2026-{10 + i % 2} is closed "
                              f"(invoiceDate 2026-{10 + i % 2}-0{1 + i % 9})"}
            for i in range(25)] + [
            {**letter, "kind": "sales_order", "external_id": "pi_x", "source_id": "ch_x",
             "error_message": "Item sku_9 does not exist"}])
    client = TestClient(create_app(Settings(token=TOKEN, mapping_path=DEFAULT_MAPPING), engine))
    page = client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).text
    first, second = page.split("<section class='cause'")[1:]
    assert "ErpValidationError: The accounting period … is closed (invoiceDate …)" in first
    assert "(25)" in first and first.count("class='letter'") == 20 and "and 5 more" in first
    assert "Item sku_9 does not exist" in second and "(1)" in second
