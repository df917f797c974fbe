"""README's "Backfill a range of days in the UI", step by step in Dagster 1.13's UI (headless
Chromium against the browser tests' dagster dev): Catalog filtered to the ten partitioned Stripe
assets, the header checkbox, Materialize selected (10)..., a typed range, Launch backfill; the
backfill Dagster records holds those assets and days. The dialog offers the last 90 days; two of
them before the sandbox's one day of history, so the run it starts writes nothing the other
browser tests read."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from assets.stripe import STRIPE_OBJECTS
from tests.workbench.conftest import Stack, gql

pytestmark = pytest.mark.e2e

SELECTION = 'group:"stripe" and not key:"stripe/events"'
BACKFILLS = """{ partitionBackfillsOrError(limit: 10) { ... on PartitionBackfills { results {
  id partitionNames assetSelection { path } } } } }"""


def test_readme_backfill_steps_launch_one_backfill_of_the_range(stack: Stack, page) -> None:
    from playwright.sync_api import expect
    before = {b["id"] for b in gql(stack.dagster, BACKFILLS)["partitionBackfillsOrError"]["results"]}

    page.goto(f"{stack.dagster}/assets?asset-selection={quote(SELECTION)}")
    expect(page.get_by_text("stripe / charges", exact=True).first).to_be_visible()
    expect(page.get_by_text("stripe / events", exact=True)).to_have_count(0)
    page.get_by_role("checkbox").first.evaluate("box => box.click()")   # the header row's
    page.get_by_role("button", name=re.compile(r"Materialize selected \(10\)")).click()
    dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
    expect(dialog).to_contain_text("Launch runs to materialize 10 assets")
    today = datetime.now(timezone.utc).date()
    days = [(today - timedelta(days=n)).isoformat() for n in (20, 19)]
    dialog.locator("input[type=text]").first.fill(f"[{days[0]}...{days[1]}]")
    dialog.locator("input[type=text]").first.press("Enter")
    expect(dialog).to_contain_text("2 partitions")
    dialog.get_by_role("button", name="Launch backfill").click()
    expect(dialog).to_have_count(0)

    def launched():
        results = gql(stack.dagster, BACKFILLS)["partitionBackfillsOrError"]["results"]
        return [b for b in results if b["id"] not in before]
    new = launched()
    assert len(new) == 1, new
    assert sorted(new[0]["partitionNames"]) == days
    assert sorted(tuple(a["path"]) for a in new[0]["assetSelection"]) == sorted(
        ("stripe", n) for n in STRIPE_OBJECTS)
