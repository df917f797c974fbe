"""A whole stack for the browser tests, once per session, on free loopback ports:

the Stripe and TIMS sandboxes, a SQLite warehouse holding a dead letter caused by an
unknown SKU (a payment whose metadata says ``sku_1042``, posted to TIMS, which refuses the
sales order), ``dagster dev`` (webserver and daemon, tmp DAGSTER_HOME) loading the code
location, and the workbench itself; plus headless Debian Chromium driven by Playwright.
"""
from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from connectors.erp import ErpAdapter
from connectors.stripe import StripeApi
from domain.erp import DocKind
from domain.mapping import DEFAULT_MAPPING, load_mapping
from posting.run import post_window
from tests.erp.conftest import ErpSandbox, start_erp_sandbox
from tests.sandbox.fixtures import start_stripe_sandbox
from tests.support.processes import REPO, Proc, free_port, python_module, spawn
from warehouse.db import make_engine
from warehouse.migrate import upgrade
from warehouse.schema import erp_dead_letters
from warehouse.stripe_sync import TABLES, sync_window

CHROMIUM = "/usr/bin/chromium"
UNKNOWN_SKU = "sku_1042"
TOKEN = "test-workbench-token-4d1f"  # the login token of this test stack
LOCATION_LOADED = """{ workspaceOrError { ... on Workspace { locationEntries { name
  loadStatus locationOrLoadError { __typename } } } } }"""


@dataclass
class Stack:
    workbench: str          # http://127.0.0.1:P
    dagster: str            # http://127.0.0.1:Q
    erp: ErpSandbox
    adapter: ErpAdapter
    payment_intent: str
    dead_letter_ids: list[int]
    mapping: Path
    logs: Path
    warehouse_url: str


def gql(url: str, query: str, **variables: Any) -> dict[str, Any]:
    body = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables},
                      timeout=60).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def wait_healthy(url: str, proc: Proc, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 300:
                return
        except httpx.HTTPError:
            pass
        assert proc.popen.poll() is None and time.monotonic() < deadline, \
            proc.log.read_text()[-3000:]
        time.sleep(0.2)  # polling for the health answer


def _wait_for_location(url: str, proc: Proc, timeout: float = 180) -> None:
    """dagster dev answers before its code location is loaded: wait for the location."""
    deadline = time.monotonic() + timeout
    while True:
        entries = gql(url, LOCATION_LOADED)["workspaceOrError"]["locationEntries"]
        loaded = [e for e in entries if e["loadStatus"] == "LOADED"]
        if loaded:
            assert loaded[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation", \
                proc.log.read_text()[-3000:]
            return
        assert proc.popen.poll() is None and time.monotonic() < deadline, \
            proc.log.read_text()[-3000:]
        time.sleep(0.2)  # polling for the location's load status


def _dead_letter(tmp: Path, stripe_env: dict[str, str], erp: ErpSandbox, db: Path,
                 mapping: Path) -> tuple[str, list[int]]:
    client = stripe.StripeClient(stripe_env["STRIPE_API_KEY"],
                                 base_addresses={"api": stripe_env["STRIPE_API_BASE"]})
    cus = client.v1.customers.create(params={"email": "ada.lovelace7@example.com",
                                             "name": "Ada Lovelace"})
    pi = client.v1.payment_intents.create(params={
        "amount": 12900, "currency": "usd", "customer": cus.id, "payment_method": "pm_card_visa",
        "confirm": True, "description": "Order ORD-TEST-1",
        "metadata": {"order_id": "ORD-TEST-1", "sku": UNKNOWN_SKU}})
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    api = StripeApi(stripe_env["STRIPE_API_KEY"], stripe_env["STRIPE_API_BASE"],
                    rate_limit=10_000)
    sync_window(api, engine, list(TABLES), None, None)
    adapter = erp.adapter()
    try:
        post_window(adapter, engine, load_mapping(mapping), None, None)
    finally:
        adapter.close()
    with engine.connect() as conn:
        ids = [r.id for r in conn.execute(erp_dead_letters.select().where(
            erp_dead_letters.c.resolved_at.is_(None)))]
    engine.dispose()
    return pi.id, ids


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("workbench")
    procs: list[Proc] = []
    sb = start_stripe_sandbox(tmp, history_days=1, scale="tiny")
    procs.append(sb.proc)
    try:
        erp = start_erp_sandbox("tims", tmp)
        procs.append(erp.proc)
        mapping = tmp / "mapping.yaml"
        shutil.copy(DEFAULT_MAPPING, mapping)
        db = tmp / "warehouse.db"
        home = tmp / "dagster_home"
        home.mkdir()
        shutil.copy(REPO / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
        ui_port, wb_port = free_port(), free_port()
        ui = f"http://127.0.0.1:{ui_port}"
        env = {**sb.env, **erp.env, "WAREHOUSE_URL": f"sqlite:///{db}",
               "ERP_MAPPING_FILE": str(mapping), "DAGSTER_HOME": str(home),
               "STRIPE_SYNC_START_DATE": "2020-01-01", "STRIPE_ERP_DATA_DIR": str(tmp)}
        upgrade(make_engine(env["WAREHOUSE_URL"]))  # before any sensor of dagster dev looks
        # dagster dev loads its code location while the dead letter is being made
        dagster = spawn([str(Path(sys.executable).parent / "dagster"), "dev", "-w",
                         str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(ui_port)],
                        tmp / "dagster.log", env=env)
        procs.append(dagster)
        pi, ids = _dead_letter(tmp, sb.env, erp, db, mapping)
        wb = spawn(python_module("workbench", "--port", str(wb_port)), tmp / "workbench.log",
                   f"http://127.0.0.1:{wb_port}/health",
                   env={**env, "WORKBENCH_TOKEN": TOKEN, "DAGSTER_GRAPHQL_URL": f"{ui}/graphql"})
        procs.append(wb)
        wait_healthy(f"{ui}/server_info", dagster, timeout=240)
        _wait_for_location(ui, dagster)
        adapter = erp.adapter()
        yield Stack(f"http://127.0.0.1:{wb_port}", ui, erp, adapter, pi, ids, mapping, tmp,
                    env["WAREHOUSE_URL"])
        adapter.close()
    finally:
        for p in reversed(procs):
            p.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: `make test` installs Debian's chromium")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    from playwright.sync_api import expect
    expect.set_options(timeout=30_000)  # a busy machine renders Dagster's UI slowly
    yield pg
    context.close()


def sales_order_sku(adapter: ErpAdapter, external_id: str) -> str | None:
    records = adapter.read(DocKind.SALES_ORDER, [external_id])
    return records[0].doc.lines[0].sku if records else None  # type: ignore[attr-defined]
