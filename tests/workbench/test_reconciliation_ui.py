"""A failed reconciliation check shows on its partition in the Dagster UI (headless Chromium),
against the browser tests' dagster dev: a posted receipt whose Stripe charge is gone from the
mirror fails the blocking check no_erp_document_without_source for that day."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from domain.erp import DocKind
from tests.workbench.conftest import Stack, gql
from warehouse.db import make_engine
from warehouse.schema import erp_links, stripe_charges

pytestmark = pytest.mark.e2e

LAUNCH = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
STATUS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""
CHECK = "no_erp_document_without_source"


def test_failed_reconciliation_check_is_shown_on_its_partition(stack: Stack, page) -> None:
    from playwright.sync_api import expect
    engine = make_engine(stack.warehouse_url)
    with engine.begin() as conn:      # a posted receipt whose Stripe charge left the mirror
        link = conn.execute(sa.select(erp_links.c.source_id, erp_links.c.source_day).where(
            erp_links.c.kind == DocKind.PAYMENT.value, erp_links.c.status == "posted")
            .limit(1)).one()
        conn.execute(stripe_charges.delete().where(stripe_charges.c.id == link.source_id))
    engine.dispose()
    day = link.source_day.isoformat()
    params = {"selector": {"repositoryLocationName": "stripe_erp",
                           "repositoryName": "__repository__", "jobName": "payout_reconciliation"},
              "runConfigData": {"execution": {"config": {"in_process": {}}}},
              "executionMetadata": {"tags": [{"key": "dagster/partition", "value": day}]}}
    launched = gql(stack.dagster, LAUNCH, p=params)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 180
    while (status := gql(stack.dagster, STATUS, id=run_id)["runOrError"]["status"]) not in (
            "SUCCESS", "FAILURE", "CANCELED") and time.monotonic() < deadline:
        time.sleep(0.5)  # polling the run's state through Dagster's API
    assert status == "FAILURE"                       # the blocking check stopped the run

    # Asset -> Checks -> the check -> Partitions: the day's evaluation failed
    page.goto(f"{stack.dagster}/assets/reconciliation/payouts?view=checks")
    row = page.locator("div", has_text=re.compile(r"^no_erp_docume.*Failed$")).last
    expect(row).to_be_visible(timeout=60_000)
    row.click()
    expect(page.get_by_text("This is a blocking asset check.")).to_be_visible()
    page.get_by_text("Partitions", exact=True).last.click()
    expect(page.get_by_text(re.compile(r"^Failed \(1\)$"))).to_be_visible()
    for status in ("Missing", "Passed", "Skipped", "In Progress", "Execution Failed"):
        page.get_by_text(re.compile(rf"^{status} \(\d+\)$")).click()   # only failed ones
    expect(page.get_by_text(day, exact=True).first).to_be_visible()
    day_before = (link.source_day - timedelta(days=1)).isoformat()
    expect(page.get_by_text(day_before, exact=True)).to_have_count(0)
    page.get_by_text(day, exact=True).first.click()
    expect(page.get_by_text("orphans", exact=True)).to_be_visible()

    # Asset -> Partitions -> the day: its materialization says which checks failed
    page.goto(f"{stack.dagster}/assets/reconciliation/payouts?view=partitions&partition={day}")
    expect(page.locator("tr", has_text="checks_failed")).to_contain_text("1")
    expect(page.locator("tr", has_text="check_results")).to_contain_text(f"{CHECK}: FAILED")
