"""The waiting sensor launches a pickup run only when documents wait for the ERP."""
from __future__ import annotations

from datetime import date

from dagster import RunRequest, SkipReason, build_sensor_context

from domain.erp import DocKind
from posting import ledger
from resources.warehouse import WarehouseResource
from sensors.erp_waiting import erp_waiting_sensor
from warehouse.db import make_engine
from warehouse.migrate import upgrade


def test_sensor_requests_a_pickup_only_while_something_waits(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    upgrade(engine)
    warehouse = WarehouseResource(url=url)
    with build_sensor_context(resources={"warehouse": warehouse}) as context:
        assert isinstance(erp_waiting_sensor(context), SkipReason)
    with engine.begin() as conn:
        ledger.record_waiting(conn, "infor", [{
            "kind": DocKind.INVOICE, "external_id": "pi_1", "source_id": "ch_1",
            "source_day": date(2026, 11, 2), "reason": "waiting for M3's invoicing job"}])
    with build_sensor_context(resources={"warehouse": warehouse}) as context:
        request = erp_waiting_sensor(context)
    assert isinstance(request, RunRequest) and request.tags["erp_waiting"] == "1"
    with engine.connect() as conn:
        assert ledger.waiting_days(conn, "infor") == [date(2026, 11, 2)]
