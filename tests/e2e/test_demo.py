"""`make demo` end to end: the UI lists the Stripe assets with their partitions, and a
backfill launched as the UI launches it runs as one run and lands the sandbox's truth."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import stripe

from connectors.erp import make_adapter
from domain.erp import DocKind
from tests.support.erp_checks import stripe_bts
from tests.support.processes import REPO, free_port, read_env_file
from tests.support.truth import DAY, truth_summary, warehouse_summary
from warehouse.db import make_engine
from assets import erp

pytestmark = pytest.mark.e2e

NAMES = ["customers", "products", "prices", "charges", "refunds", "disputes", "payouts",
         "balance_transactions", "subscriptions", "invoices"]
ERP_NAMES = list(erp.ERP_ASSETS)   # every asset of the erp_posting multi-asset
LAUNCH = """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status runs(limit: 10) { runId status tags { key value } } } } }"""
RUNS = """{ runsOrError(limit: 50) { ... on Runs { results { runId jobName status
  tags { key value } } } } }"""
ASSETS = """{ assetNodes { assetKey { path } groupName isPartitioned
  partitionKeysByDimension { partitionKeys } } }"""


@pytest.fixture
def demo(tmp_path: Path):
    ui_port, stripe_port, erp_port = free_port(), free_port(), free_port()
    done = subprocess.run(
        [sys.executable, "scripts/demo.py", "--port", str(ui_port), "--stripe-port",
         str(stripe_port), "--workbench-port", str(free_port()), "--erp", "tims", "--erp-port", str(erp_port), "--history-days", "10",
         "--scale", "tiny", "--data-dir", str(tmp_path), "--exit-when-ready"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "ERP_"))})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    pgids = [int(x) for x in done.stdout.split("PGIDS=")[1].split()[0].split(",")]
    try:
        yield f"http://127.0.0.1:{ui_port}", tmp_path
    finally:
        for pgid in pgids:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def gql(url: str, query: str, **variables) -> dict:
    body = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables},
                      timeout=60).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def test_demo_ui_lists_assets_and_backfills_stripe_and_erp_in_one_run(demo) -> None:
    url, data = demo
    nodes = {tuple(n["assetKey"]["path"]): n for n in gql(url, ASSETS)["assetNodes"]}
    assert {("stripe", n) for n in NAMES} <= set(nodes)
    charges = nodes[("stripe", "charges")]
    assert charges["groupName"] == "stripe" and charges["isPartitioned"]
    keys = charges["partitionKeysByDimension"][0]["partitionKeys"]
    assert len(keys) >= 10  # the sandbox's history, day by day, up to today

    days = keys[-6:-3]
    selection = [{"path": ["stripe", n]} for n in NAMES] + [{"path": ["erp", n]} for n in ERP_NAMES]
    launched = gql(url, LAUNCH, p={"assetSelection": selection,
                                   "partitionNames": days})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    deadline = time.monotonic() + 300
    while True:
        backfill = gql(url, STATUS, id=launched["backfillId"])["partitionBackfillOrError"]
        if backfill["status"] != "REQUESTED" or time.monotonic() > deadline:
            break
        time.sleep(1)  # polling the backfill's state
    assert backfill["status"] == "COMPLETED_SUCCESS", backfill
    [run] = backfill["runs"]
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert (tags["dagster/asset_partition_range_start"],
            tags["dagster/asset_partition_range_end"]) == (days[0], days[-1])

    env = read_env_file(data / "stripe.env")
    from datetime import datetime, timezone
    gte = int(datetime.strptime(days[0], "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp())
    lt = gte + len(days) * DAY
    truth = httpx.get(f"{env['STRIPE_API_BASE']}/_sandbox/ground_truth",
                      params={"created_gte": gte, "created_lt": lt}).json()
    engine = make_engine(f"sqlite:///{data / 'warehouse.db'}")
    assert warehouse_summary(engine, gte, lt) == truth_summary(truth)

    # ... and in the same run, posted to the ERP: one cash receipt per charge of those days
    charges = [b for b in stripe_bts(engine) if b[1] in ("charge", "payment")]
    adapter = make_adapter(read_env_file(data / "erp.env"))
    receipts = {r.doc.external_id for r in adapter.read(DocKind.PAYMENT)}
    assert receipts == {b[6] for b in charges} and receipts

    # Live: a payment, a partial refund and a payout made now reach the ERP through
    # webhook -> receiver -> landing table -> sensor (dagster dev's daemon) -> run.
    stripe_env = read_env_file(data / "stripe.env")
    client = stripe.StripeClient(stripe_env["STRIPE_API_KEY"],
                                 base_addresses={"api": stripe_env["STRIPE_API_BASE"]})
    cus = client.v1.customers.create(params={"email": "live@example.test", "name": "Live"})
    pi = client.v1.payment_intents.create(params={
        "amount": 4200, "currency": "usd", "customer": cus.id, "payment_method": "pm_card_visa",
        "confirm": True, "metadata": {"sku": "SKU-01001"}})
    refund = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 700})
    httpx.post(f"{stripe_env['STRIPE_API_BASE']}/_sandbox/clock/advance",
               json={"seconds": 3 * DAY}, timeout=120).raise_for_status()
    # accrual: a payout leaves Stripe clearing for cash in transit when Stripe sends it (a
    # journal named by its balance transaction) and reaches the bank when it is paid
    sent = client.v1.payouts.list(params={"limit": 1}).data[0]
    paid = client.v1.payouts.list(params={"limit": 1, "status": "paid"}).data[0]
    wanted = [(DocKind.PAYMENT, pi.latest_charge), (DocKind.JOURNAL, refund.balance_transaction),
              (DocKind.JOURNAL, sent.balance_transaction), (DocKind.DEPOSIT, paid.id)]
    deadline = time.monotonic() + 240
    while True:
        missing = [(k, v) for k, v in wanted if v not in adapter.find(k, [v])]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)  # polling the ERP for the sensor-driven run's result
    assert not missing, missing
    runs = gql(url, RUNS)["runsOrError"]["results"]
    sync_runs = [r for r in runs if r["jobName"] == "stripe_event_sync"]
    assert sync_runs and all(r["status"] in ("SUCCESS", "STARTED", "QUEUED", "STARTING")
                             for r in sync_runs)
    assert any(t["key"] == "stripe/events_to" for t in sync_runs[0]["tags"])
