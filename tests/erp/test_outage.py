"""An ERP outage fails the posting run fast, with an error naming the ERP, its base URL
(never credentials), the document and the HTTP status; the next run resumes where it
stopped.  Checked against each ERP sandbox, its faults injected through its control API."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.erp import ErpUnavailable, make_adapter
from connectors.erp.retry import public_url
from domain.erp import DocKind
from domain.mapping import load_mapping
from posting.run import post_window
from resources.erp import outage_failure
from tests.erp.test_stripe_to_erp import days, engine_copy
from tests.posting.fake_erp import FakeErp
from tests.support.erp_checks import erp_summary

MAPPING = load_mapping()
BUDGET = 3.0


def secrets(env: dict[str, str]) -> list[str]:
    """Every credential the adapter was given (env values and the .ionapi file's)."""
    out = [v for k, v in env.items() if any(w in k for w in ("KEY", "SECRET", "PASSWORD"))]
    if env.get("INFOR_IONAPI_FILE"):
        ion = json.loads(Path(env["INFOR_IONAPI_FILE"]).read_text())
        out += [ion[k] for k in ("ci", "cs", "saak", "sask")]
    return [s for s in out if s]


def test_an_outage_fails_fast_naming_erp_url_document_status_and_the_next_run_resumes(
        erp, engine, mirrored, tmp_path) -> None:
    gte, lt = days(mirrored, 3, 2)
    clean = FakeErp()
    post_window(clean, engine_copy(engine, tmp_path), MAPPING, gte, lt)

    adapter = make_adapter({**erp.env, "ERP_RETRY_MAX_SECONDS": str(BUDGET)})
    policy = adapter.retry_policy
    now = {"t": 0.0}               # the outage clock advances by what the policy sleeps

    def sleep(seconds: float) -> None:
        now["t"] += seconds
    policy.sleep, policy.clock = sleep, lambda: now["t"]
    original, batches, failing = adapter.post, {"n": 0}, {}

    def post(docs):
        batches["n"] += 1
        if batches["n"] == 3:      # the ERP goes down after two batches were posted
            erp.fault(kind="503", rate=1.0)
            failing.update(kind=DocKind(docs[0].kind).value, first=docs[0].external_id)
        return original(docs)
    adapter.post = post
    with pytest.raises(ErpUnavailable) as caught:
        post_window(adapter, engine, MAPPING, gte, lt)
    exc = caught.value
    assert policy.slept <= BUDGET and policy.retries >= 2    # waited, within the budget
    message = str(exc)
    assert exc.erp == erp.kind and f"{erp.kind} at {public_url(erp.env['ERP_BASE_URL'])}" \
        in message
    assert exc.status == 503 and "HTTP 503" in message
    assert exc.kind == failing["kind"] and exc.document == failing["first"]
    assert f"posting {failing['kind']} {failing['first']}" in message
    assert "next run resumes" in message
    assert not [s for s in secrets(erp.env) if s in message]
    failure = outage_failure(exc)                  # what the Dagster step raises
    assert failure.allow_retries is False and failure.metadata["document"].value == exc.document
    with engine.connect() as conn:
        linked = conn.execute(sa.text("SELECT count(*) FROM erp_links")).scalar()
    assert linked > 0                              # the first batches stay posted

    erp.control("DELETE", "faults")                # the ERP is back: the next run resumes
    resumed = make_adapter(erp.env)
    report = post_window(resumed, engine, MAPPING, gte, lt)
    assert report.dead == 0, report.totals()
    assert report.totals()["already_linked"] == linked
    assert erp_summary(resumed) == erp_summary(clean)
