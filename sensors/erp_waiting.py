"""Pick up what waits for the ERP: documents the ERP will produce but has not yet (an M3
invoice before M3's invoicing job ran, and the receipts applied to it).

Every ``minimum_interval_seconds`` the sensor counts the ``waiting`` links; when there are
any, it requests one ``erp_resume_waiting`` run (run key per evaluation window, so one run
at a time; the ``erp_api`` pool keeps it from overlapping a posting).  Waiting documents
are never lost however long M3 takes: they stay ``waiting`` until M3 has them.
"""
from datetime import datetime, timezone  # no __future__ annotations: Dagster inspects hints

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from pipelines.ops import erp_resume_waiting
from posting import ledger
from resources.warehouse import WarehouseResource

INTERVAL = 600


@sensor(job=erp_resume_waiting, minimum_interval_seconds=INTERVAL,
        default_status=DefaultSensorStatus.RUNNING,
        description="Re-post documents that wait for the ERP (M3 invoices) until it has them.")
def erp_waiting_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
    with warehouse.engine().connect() as conn:
        waiting = ledger.waiting_count(conn)
    if not waiting:
        return SkipReason("nothing waits for the ERP")
    window = int(datetime.now(timezone.utc).timestamp()) // INTERVAL
    return RunRequest(run_key=f"erp-waiting-{window}", tags={"erp_waiting": str(waiting)})


erp_waiting_sensors = [erp_waiting_sensor]
