"""Exceptions as asset checks on the ERP assets, per partition (day of the Stripe source):

* ``no_open_dead_letters`` (WARN): documents of the day the ERP refused and does not hold;
* ``no_blocked_documents``: documents of the day that wait on a prerequisite the ERP refused
  (``Blocked`` dead letters); WARN while they are younger than ``ERP_BLOCKED_MAX_AGE_HOURS``
  (default 24), ERROR once one is older: someone must fix the cause and replay.

Their metadata lists the first documents with the ERP's exact message, so the exception is
read in the UI (and in an alert), not by SQL. Replay: the job ``erp_replay_dead_letters``.
"""
from datetime import date, datetime, timedelta, timezone  # no __future__: Dagster inspects hints

import sqlalchemy as sa
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue

from pipelines.partitions import stripe_daily
from posting.exceptions import open_dead_letters_in

CHECKS = {
    "no_open_dead_letters": "No document of the day was refused by the ERP (open dead letters, "
                            "with the ERP's message, in the metadata).",
    "no_blocked_documents": "No document of the day waits on a prerequisite the ERP refused "
                            "(error once one is older than ERP_BLOCKED_MAX_AGE_HOURS).",
}


def check_specs(keys: list[AssetKey]) -> list[AssetCheckSpec]:
    return [AssetCheckSpec(name, asset=key, description=desc, partitions_def=stripe_daily)
            for key in keys for name, desc in CHECKS.items()]


def _table(rows: list[dict]) -> MetadataValue:
    lines = ["| document | Stripe source | type | the ERP's message |", "|---|---|---|---|"]
    lines += [f"| {r['external_id']} | {r['source_id'] or ''} | {r['error_type']} | "
              f"{(r['error_message'] or '').replace('|', '/')} |" for r in rows]
    return MetadataValue.md("\n".join(lines))


def dead_letter_checks(engine: sa.Engine, erp: str, kind: str, key: AssetKey, first: date,
                       last: date, max_age_hours: float) -> list[AssetCheckResult]:
    with engine.connect() as conn:
        found = open_dead_letters_in(conn, erp, kind, first, last)
    meta = {"open_dead_letters": found["total"], "blocked": found["blocked"],
            "first_documents": _table(found["first"])}
    oldest = found["oldest_blocked"]
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=timezone.utc)
    too_old = oldest is not None and \
        datetime.now(timezone.utc) - oldest > timedelta(hours=max_age_hours)
    first_message = found["first"][0]["error_message"] if found["first"] else ""
    return [
        AssetCheckResult(asset_key=key, check_name="no_open_dead_letters",
                         passed=found["total"] == 0, severity=AssetCheckSeverity.WARN,
                         metadata=meta, description=None if not found["total"] else
                         f"{found['total']} {kind} documents refused by {erp}, e.g. "
                         f"{first_message}; fix the cause, then run erp_replay_dead_letters"),
        AssetCheckResult(asset_key=key, check_name="no_blocked_documents",
                         passed=found["blocked"] == 0,
                         severity=AssetCheckSeverity.ERROR if too_old else AssetCheckSeverity.WARN,
                         metadata={**meta, "max_age_hours": max_age_hours},
                         description=None if not found["blocked"] else
                         f"{found['blocked']} {kind} documents wait on a document {erp} refused"
                         + (f" for more than {max_age_hours:g} h" if too_old else "")),
    ]
