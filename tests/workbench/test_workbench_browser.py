"""The exceptions workbench in a real browser (headless Debian Chromium via Playwright),
against real sandboxes and a real Dagster webserver and daemon."""
from __future__ import annotations

import re

import pytest

from tests.workbench.conftest import TOKEN, UNKNOWN_SKU, Stack, gql, sales_order_sku

pytestmark = pytest.mark.e2e

RUNS = """{ runsOrError(filter: {pipelineName: "erp_replay_dead_letters"}) { ... on Runs {
  results { runId status tags { key value } } } } }"""


def login(page, stack: Stack, who: str = "Ada Finance") -> None:
    page.goto(stack.workbench + "/")
    page.get_by_label("Your name").fill(who)
    page.get_by_label("Token").fill(TOKEN)
    page.get_by_role("button", name="Log in").click()


def test_unknown_sku_suggested_applied_previewed_replayed_through_dagster_and_resolved(
        stack: Stack, page) -> None:
    from playwright.sync_api import expect
    assert stack.dead_letter_ids, "the setup posted no dead letter"
    assert sales_order_sku(stack.adapter, stack.payment_intent) is None  # refused by TIMS

    login(page, stack)
    letter = page.locator(".letter", has_text=f"Item {UNKNOWN_SKU} does not exist")
    expect(letter).to_have_count(1)
    expect(letter.locator(".message")).to_have_text(f"Item {UNKNOWN_SKU} does not exist")
    first = letter.locator(".candidate").first
    expect(first.locator(".code")).to_have_text("SKU-01042")

    first.get_by_role("button", name="Apply and replay").click()
    expect(page.locator("#diff")).to_contain_text(f'+    "{UNKNOWN_SKU}": "SKU-01042"')
    order = page.locator("#preview tr.doc", has_text="sales_order")
    expect(order).to_have_count(1)
    expect(order.locator(".detail")).to_contain_text("SKU-01042")
    assert "SKU-01042" not in stack.mapping.read_text()  # a preview writes nothing

    page.locator("#confirm").click()
    expect(page.locator("#run-status")).to_have_text("SUCCESS", timeout=150_000)
    rows = page.locator("#letters tr[id^='letter-']")
    expect(rows).to_have_count(len(stack.dead_letter_ids))
    for i in range(len(stack.dead_letter_ids)):
        expect(rows.nth(i).locator(".state")).to_have_text("resolved")
    run_id = re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)

    # the ERP now holds the sales order, with the suggested item
    assert sales_order_sku(stack.adapter, stack.payment_intent) == "SKU-01042"
    # the mapping file carries the fix, and it loads
    assert f'"{UNKNOWN_SKU}": "SKU-01042"' in stack.mapping.read_text()
    # the replay is in Dagster's run history, tagged with who launched it
    runs = {r["runId"]: r for r in gql(stack.dagster, RUNS)["runsOrError"]["results"]}
    tags = {t["key"]: t["value"] for t in runs[run_id]["tags"]}
    assert runs[run_id]["status"] == "SUCCESS" and tags["workbench/launched_by"] == "Ada Finance"

    page.goto(stack.workbench + "/")
    expect(page.locator("#no-dead-letters")).to_be_visible()
    page.goto(stack.workbench + "/audit")
    entry = page.locator("#audit tr", has_text="apply_and_replay")
    expect(entry).to_contain_text("Ada Finance")
    expect(entry).to_contain_text(f"mapped SKU {UNKNOWN_SKU} to ERP item SKU-01042")
    expect(entry.locator("a")).to_have_attribute("href", f"{stack.dagster}/runs/{run_id}")
    assert TOKEN not in (stack.logs / "workbench.log").read_text()


def test_every_page_but_health_needs_the_token(stack: Stack, page) -> None:
    import httpx
    assert httpx.get(stack.workbench + "/health").json() == {"status": "ok"}
    for path in ("/", "/reconciliation", "/audit", "/anomalies"):
        r = httpx.get(stack.workbench + path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
    assert httpx.get(stack.workbench + "/audit",
                     headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    page.goto(stack.workbench + "/login")
    page.get_by_label("Your name").fill("Mallory")
    page.get_by_label("Token").fill("not-the-token")
    page.get_by_role("button", name="Log in").click()
    from playwright.sync_api import expect
    expect(page.locator(".error")).to_have_text("Wrong name or token.")
