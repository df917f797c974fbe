"""The code location: ``dagster dev`` loads ``defs`` from here (see workspace.yaml)."""
from __future__ import annotations

from dagster import Definitions

from assets.close import close_assets
from assets.erp import erp_assets
from assets.events import event_assets
from assets.reconciliation import reconciliation_assets
from assets.stripe import stripe_assets
from resources import build_resources
from sensors.erp_waiting import erp_waiting_sensors
from sensors.payouts import payout_sensors
from sensors.stripe_events import sensors

from .jobs import jobs
from .ops import op_jobs
from .schedules import schedules

defs = Definitions(
    assets=[*stripe_assets, *event_assets, *erp_assets, *reconciliation_assets, *close_assets],
    jobs=[*jobs, *op_jobs],
    schedules=schedules,
    sensors=[*sensors, *payout_sensors, *erp_waiting_sensors],
    resources=build_resources(),
)
