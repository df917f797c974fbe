"""A real Dagster deployment for chaos tests and the soak bench: ``dagster dev`` (webserver,
daemon, code server) on a free loopback port, with ``DAGSTER_HOME`` in a temporary folder
holding one of the repository's instance files (deploy/dagster.local.yaml for SQLite,
deploy/dagster.yaml for PostgreSQL).

Backfills are launched through the webserver's GraphQL API, as the UI launches them; run
records, run events and pool slots are read through ``DagsterInstance`` like the UI's
"Runs" and "Concurrency" pages do.  Nothing here touches the instance's state: crash
recovery is left to the deployment.
"""
from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support.processes import REPO, Proc, free_port, spawn
from assets import erp

T = TypeVar("T")
DEPLOY = REPO / "deploy"
ERP_ASSETS = list(erp.ERP_ASSETS)   # every asset of the erp_posting multi-asset
LAUNCH = """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
BACKFILL = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status runs(limit: 20) { runId status } } } }"""
ENV_PREFIXES = ("STRIPE_", "WAREHOUSE_", "DAGSTER_", "ERP_", "TIMS_", "INFOR_", "EPICOR_")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 180,
             interval: float = 0.2) -> T:
    """Poll ``probe`` until it returns something truthy (polling, not synchronisation by
    sleeping: the outcome is observed); TimeoutError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not observed within {timeout:.0f}s")
        time.sleep(interval)


@dataclass
class DagsterStack:
    url: str
    home: Path
    proc: Proc
    env: dict[str, str]

    def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        body = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables},
                          timeout=180).json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        return body["data"]

    def launch_erp_backfill(self, days: list[str]) -> str:
        """A backfill of the ERP posting assets for ``days``, launched as the UI does."""
        selection = [{"path": ["erp", n]} for n in ERP_ASSETS]
        launched = self.gql(LAUNCH, p={"assetSelection": selection, "partitionNames": days})
        launched = launched["launchPartitionBackfill"]
        if launched["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(launched)
        return launched["backfillId"]

    def backfill(self, backfill_id: str) -> dict[str, Any]:
        return self.gql(BACKFILL, id=backfill_id)["partitionBackfillOrError"]

    @contextmanager
    def instance(self) -> Iterator[Any]:
        """The deployment's instance, opened from its DAGSTER_HOME (read-only use)."""
        from dagster import DagsterInstance
        from dagster._core.instance.ref import InstanceRef
        saved = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "DAGSTER_POSTGRES_URL")}
        os.environ["DAGSTER_HOME"] = str(self.home)
        if "DAGSTER_POSTGRES_URL" in self.env:
            os.environ["DAGSTER_POSTGRES_URL"] = self.env["DAGSTER_POSTGRES_URL"]
        try:
            with DagsterInstance.from_ref(InstanceRef.from_dir(str(self.home))) as instance:
                yield instance
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def stop(self) -> None:
        self.proc.stop()


def start_dagster(tmp: Path, instance_file: str, env: dict[str, str]) -> DagsterStack:
    """``dagster dev`` on the repository's workspace, its instance from ``deploy/``."""
    home = tmp / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEPLOY / instance_file, home / "dagster.yaml")
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)}
    full.update(env, DAGSTER_HOME=str(home), PYTHONUNBUFFERED="1")
    bindir = Path(os.sys.executable).parent
    proc = spawn([str(bindir / "dagster"), "dev", "-w", str(REPO / "workspace.yaml"),
                  "-h", "127.0.0.1", "-p", str(port)], tmp / "dagster.log",
                 health_url=f"http://127.0.0.1:{port}/server_info", env=full, timeout=300)
    return DagsterStack(f"http://127.0.0.1:{port}", home, proc, env)


def run_process_ids(instance: Any, run_id: str) -> list[int]:
    """The run worker's and its step processes' pids, from the run's own events (each
    Dagster event records the pid of the process that emitted it)."""
    from dagster import DagsterEventType
    wanted = {DagsterEventType.RUN_START, DagsterEventType.STEP_START}
    pids = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is not None and event.event_type in wanted and event.pid not in pids:
            pids.append(event.pid)
    return pids


def kill_9(pids: list[int]) -> None:
    """SIGKILL each process: a crash, no chance to clean up or report."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
