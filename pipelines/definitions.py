"""The code location: ``dagster dev`` loads ``defs`` from here (see workspace.yaml)."""
from __future__ import annotations

from dagster import Definitions

from assets.erp import erp_assets, erp_replay_dead_letters
from assets.stripe import stripe_assets
from resources import build_resources

from .jobs import jobs
from .schedules import schedules

defs = Definitions(
    assets=[*stripe_assets, *erp_assets],
    jobs=[*jobs, erp_replay_dead_letters],
    schedules=schedules,
    resources=build_resources(),
)
