"""The code location: ``dagster dev`` loads ``defs`` from here (see workspace.yaml)."""
from __future__ import annotations

from dagster import AssetsDefinition, Definitions

from assets.close import close_assets
from assets.anomalies import anomaly_assets
from assets.erp import erp_assets
from assets.events import event_assets, event_checks
from assets.reconciliation import reconciliation_assets
from assets.revenue import revenue_assets
from assets.stripe import stripe_assets
from assets.subscription_metrics import subscription_metric_assets
from assets.subscriptions import subscription_assets
from resources import build_resources
from sensors.alerts import alert_on_old_dead_letters, alert_on_run_failure, make_check_failure_alerts
from sensors.erp_waiting import erp_waiting_sensors
from sensors.payouts import payout_sensors
from sensors.revenue import revenue_sensors
from sensors.stripe_events import sensors

from .jobs import jobs
from .ops import op_jobs
from .schedules import schedules

assets = [*stripe_assets, *event_assets, *erp_assets, *reconciliation_assets, *close_assets,
          *anomaly_assets, *revenue_assets, *subscription_assets, *subscription_metric_assets]
check_keys = [key for a in [*assets, *event_checks] if isinstance(a, AssetsDefinition)
              for key in a.check_keys]
alert_sensors = [alert_on_run_failure, make_check_failure_alerts(check_keys),
                 alert_on_old_dead_letters]

defs = Definitions(
    assets=assets,
    asset_checks=[*event_checks],
    jobs=[*jobs, *op_jobs],
    schedules=schedules,
    sensors=[*sensors, *payout_sensors, *erp_waiting_sensors, *revenue_sensors,
             *alert_sensors],
    resources=build_resources(),
)
