"""Resources wired to environment variables through ``EnvVar``.

``EnvVar`` values are read when a run starts and the UI shows only the
variable's name.  Optional settings are bound to their variable only when it
is set when the code location loads, so an unset one keeps its default
(``STRIPE_API_BASE`` unset = real Stripe) instead of failing the run.
"""
from __future__ import annotations

import os
from typing import Any

from dagster import EnvVar

from .alerts import ALERT_ENV, ALERT_INTEGER, AlertResource
from .erp import ERP_ENV, ErpResource
from .stripe import StripeResource
from .warehouse import WarehouseResource

# resource field -> environment variable
STRIPE_ENV = {"api_base": "STRIPE_API_BASE", "rate_limit": "STRIPE_RATE_LIMIT",
              "extract_workers": "STRIPE_EXTRACT_WORKERS",
              "event_max_attempts": "STRIPE_EVENT_MAX_ATTEMPTS",
              "event_retry_seconds": "STRIPE_EVENT_RETRY_SECONDS"}
INTEGER = {"rate_limit", "extract_workers", "event_max_attempts", "event_retry_seconds"}


def _optional(mapping: dict[str, str], integer: set[str] = INTEGER) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, var in mapping.items():
        if os.environ.get(var, "") != "":
            out[field] = EnvVar.int(var) if field in integer else EnvVar(var)
    return out


def build_resources() -> dict[str, Any]:
    return {
        "stripe": StripeResource(api_key=EnvVar("STRIPE_API_KEY"), **_optional(STRIPE_ENV)),
        "warehouse": WarehouseResource(**_optional({"url": "WAREHOUSE_URL"})),
        "erp": ErpResource(**_optional(ERP_ENV)),
        "alerts": AlertResource(**_optional(ALERT_ENV, ALERT_INTEGER)),
    }
