"""kill -9 of a posting run: the deployment recovers without anyone touching the instance.

A real deployment (``dagster dev`` on the repository's instance file, SQLite or
PostgreSQL) backfills three days of ERP posting into the TIMS sandbox.  While the run is
posting (the ERP has created documents and the run waits on the ERP's 503 Retry-After)
its run worker and step processes are killed with SIGKILL.  Then, with nobody acting on
the instance: the run is marked FAILURE, the ``erp_api`` pool slot it held is freed, and a
new backfill of the same range completes, after which the ERP holds each document of a
clean posting of those days, and every other document, exactly once (read back through the
TIMS API).
"""
from __future__ import annotations

import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from domain.erp import DocKind
from domain.mapping import load_mapping
from posting.run import post_window
from tests.erp.conftest import ErpSandbox, start_erp_sandbox
from tests.posting.fake_erp import FakeErp
from tests.support.dagster_stack import (DagsterStack, kill_9, run_process_ids, start_dagster,
                                         wait_for)
from tests.support.truth import DAY
from warehouse.db import make_engine
from warehouse.migrate import upgrade

pytestmark = pytest.mark.e2e

FIRST_DAY, N_DAYS = 5, 3          # days 5-7 of the 30-day shared history
INSTANCE_FILES = {"sqlite": "dagster.local.yaml", "postgres": "dagster.yaml"}
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


@pytest.fixture(scope="module")
def tims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ErpSandbox]:
    sb = start_erp_sandbox("tims", tmp_path_factory.mktemp("chaos-tims"))
    yield sb
    sb.proc.stop()


def partition_days(clock: int) -> tuple[list[str], int, int]:
    start = (clock // DAY - 30 + FIRST_DAY) * DAY
    days = [datetime.fromtimestamp(start + i * DAY, timezone.utc).strftime("%Y-%m-%d")
            for i in range(N_DAYS)]
    return days, start, start + N_DAYS * DAY


def warehouse_for(backend: str, mirrored: tuple[Path, int], tmp_path: Path,
                  request: pytest.FixtureRequest, stripe_history) -> str:
    """The Stripe history in a warehouse on ``backend`` (SQLite: a copy of the mirror)."""
    if backend == "sqlite":
        shutil.copy(mirrored[0], tmp_path / "warehouse.db")
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    from connectors.stripe import StripeApi
    from warehouse.stripe_sync import TABLES, sync_window
    url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    upgrade(engine)
    sync_window(StripeApi(stripe_history.api_key, stripe_history.base_url, rate_limit=1000),
                engine, list(TABLES), None, mirrored[1] + 1)
    engine.dispose()
    return url


def erp_documents(adapter) -> dict[str, Counter]:
    """External ids the ERP holds, per document kind, with how often each is there."""
    return {kind.value: Counter(r.doc.external_id for r in adapter.read(kind))
            for kind in DocKind}


def clean_posting(mirrored: tuple[Path, int], tmp_path: Path, gte: int, lt: int
                  ) -> dict[str, Counter]:
    path = tmp_path / "clean.db"
    shutil.copy(mirrored[0], path)
    fake = FakeErp()
    post_window(fake, make_engine(f"sqlite:///{path}"), load_mapping(), gte, lt)
    return erp_documents(fake)


def run_status(stack: DagsterStack, run_id: str) -> str:
    with stack.instance() as instance:
        return instance.get_run_by_id(run_id).status.value


def erp_api_holders(stack: DagsterStack) -> set[str]:
    with stack.instance() as instance:
        return instance.event_log_storage.get_concurrency_info("erp_api").active_run_ids


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_kill_9_of_a_posting_run_is_failed_its_slot_freed_and_the_range_reposted_once(
        backend, tims, stripe_history, mirrored, tmp_path, request) -> None:
    days, gte, lt = partition_days(mirrored[1])
    expected = clean_posting(mirrored, tmp_path, gte, lt)
    assert sum(map(len, expected.values())) > 20
    env = {**stripe_history.env, **tims.env,
           "WAREHOUSE_URL": warehouse_for(backend, mirrored, tmp_path, request,
                                           stripe_history),
           "STRIPE_SYNC_START_DATE": datetime.fromtimestamp(
               gte - 10 * DAY, timezone.utc).strftime("%Y-%m-%d"),
           "ERP_RETRY_MAX_SECONDS": "600"}    # the held run waits; it never gives up itself
    if backend == "postgres":
        env["DAGSTER_POSTGRES_URL"] = request.getfixturevalue("pg_cluster").create_database(
            f"dagster_{uuid.uuid4().hex[:12]}")        # its own database, beside the warehouse
    tims.reset()
    # Every write reaches the ERP, but its answer is a 503 with a long Retry-After: the run
    # creates documents, then waits.  That wait is where it is killed.
    tims.fault(kind="503", rate=1.0, after=True, methods=["POST"], retry_after=300)
    stack = start_dagster(tmp_path, INSTANCE_FILES[backend], env)
    try:
        first = stack.launch_erp_backfill(days)
        wait_for("ERP write while the run posts",
                 lambda: tims.control("GET", "stats")["faults_injected"] > 0)
        [run] = stack.backfill(first)["runs"]
        assert run["status"] == "STARTED"
        posted = erp_documents(tims.adapter())
        assert sum(map(len, posted.values())) > 0           # killed mid-posting
        with stack.instance() as instance:
            pids = run_process_ids(instance, run["runId"])
        assert run["runId"] in erp_api_holders(stack) and len(pids) == 2
        kill_9(pids)
        killed = time.monotonic()
        # The ERP answers again, and the same range is backfilled anew at once: before the
        # fix this backfill waited for the dead run's erp_api slot for as long as watched.
        tims.control("DELETE", "faults")
        again = stack.launch_erp_backfill(days)

        # nobody touches the instance: the deployment marks the run failed, frees the slot
        wait_for("run marked failed", lambda: run_status(stack, run["runId"]) == "FAILURE")
        failed = time.monotonic()
        wait_for("erp_api slot freed", lambda: run["runId"] not in erp_api_holders(stack),
                 timeout=300)
        print(f"{backend}: marked failed {failed - killed:.1f}s after kill -9, "
              f"slot freed after {time.monotonic() - killed:.1f}s")
        [rerun] = wait_for("second backfill's run finished", lambda: (
            lambda rs: rs if rs and all(r["status"] in FINISHED for r in rs) else None)(
                stack.backfill(again)["runs"]), timeout=300)
        assert rerun["status"] == "SUCCESS", rerun
        # run_retries re-launched the crashed run too: it completed (resumed) without error
        runs = wait_for("every posting run finished", lambda: (lambda rs: rs if all(
            r["status"] in FINISHED for r in rs) else None)(
                stack.gql(RUNS)["runsOrError"]["results"]), timeout=300)
        assert {r["runId"]: r["status"] for r in runs if r["status"] != "SUCCESS"} == {
            run["runId"]: "FAILURE"}
    finally:
        stack.proc.kill()
    held = erp_documents(tims.adapter())
    duplicated = {k: [e for e, n in c.items() if n > 1] for k, c in held.items()}
    assert not any(duplicated.values()), duplicated
    # every document of the range is there (exactly once, above); the deployment's own event
    # catch-up schedule may meanwhile post other days' activity, so the ERP may hold more
    missing = {k: set(c) - set(held[k]) for k, c in expected.items()}
    assert not any(missing.values()), missing


# the backfills' runs and their retries (sensors may launch other jobs meanwhile)
RUNS = """{ runsOrError(filter: {pipelineName: "__ASSET_JOB"}, limit: 50) {
  ... on Runs { results { runId status } } } }"""
