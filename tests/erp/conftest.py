"""One ERP sandbox process per ERP kind for the session; adapters built from its env file.

Tests are parametrized over the ERPs the product supports.  Each sandbox is
started as a user would: ``python -m sandbox.<kind> --port P --env-file F``;
the adapter is built from that env file by ``connectors.erp.make_adapter``.

``posted_history``: the generated 30-day Stripe history posted once per ERP per session,
through the product's posting path, into a sandbox of its own (other tests reset theirs),
with every request the adapter made recorded; the trial-balance, request-contract and
posting tests all check that one state.
"""
from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from connectors.erp import ErpAdapter, make_adapter
from domain.mapping import load_mapping
from domain.postings import utc_date
from posting.run import PostingReport, post_window, resume_waiting
from tests.support.erp_requests import RequestRecorder
from tests.support.processes import Proc, free_port, python_module, read_env_file, spawn
from warehouse.db import make_engine

ERP_KINDS = ["tims", "infor", "epicor"]
# sandbox options for tests: M3's invoicing job runs only when a test asks (``run_jobs``)
SANDBOX_ARGS = {"infor": ["--invoicing-interval", "0"]}


@dataclass
class ErpSandbox:
    kind: str
    env: dict[str, str]
    control_url: str
    proc: Proc

    def control(self, method: str, path: str, json: Any = None) -> Any:
        resp = httpx.request(method, f"{self.control_url}/_sandbox/{path}", json=json, timeout=60)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def reset(self) -> None:
        self.control("POST", "reset")

    def fault(self, **rule: Any) -> None:
        self.control("POST", "faults", rule)

    def adapter(self) -> ErpAdapter:
        return make_adapter(self.env)

    def run_jobs(self) -> None:
        """Run the ERP's own scheduled jobs now (M3: the invoicing job; others have none)."""
        if self.kind == "infor":
            self.control("POST", "jobs/invoicing", {})


def settle(sandbox: ErpSandbox, adapter: ErpAdapter, engine: sa.Engine, **kw: Any
           ) -> PostingReport:
    """What happens after a posting run: the ERP's own jobs run (M3: its invoicing job) and
    the ``erp_waiting_sensor``'s run posts what waited for them (M3 invoices and the
    receipts applied to them).  A no-op for ERPs whose documents never wait."""
    sandbox.run_jobs()
    return resume_waiting(adapter, engine, load_mapping(), **kw)


def start_erp_sandbox(kind: str, tmp: Path) -> ErpSandbox:
    port = free_port()
    env_file = tmp / f"{kind}.env"
    proc = spawn(python_module(f"sandbox.{kind}", "--port", str(port), "--env-file", str(env_file),
                               *SANDBOX_ARGS.get(kind, [])),
                 tmp / f"{kind}.log", health_url=f"http://127.0.0.1:{port}/_sandbox/health")
    try:
        deadline = time.monotonic() + 30
        while not env_file.exists():  # written once the socket accepts, maybe after /health
            if time.monotonic() > deadline:
                raise TimeoutError(f"{env_file} not written")
            time.sleep(0.05)  # polling for the file
        env = read_env_file(env_file)
    except BaseException:
        proc.stop()
        raise
    return ErpSandbox(kind, env, f"http://127.0.0.1:{port}", proc)


@pytest.fixture(scope="session", params=ERP_KINDS)
def erp_session(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ErpSandbox]:
    sb = start_erp_sandbox(request.param, tmp_path_factory.mktemp(f"erp-{request.param}"))
    yield sb
    sb.proc.stop()


@pytest.fixture(scope="session")
def tims_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ErpSandbox]:
    """One TIMS sandbox for the TIMS-only tests (``tims``)."""
    sb = start_erp_sandbox("tims", tmp_path_factory.mktemp("erp-tims-only"))
    yield sb
    sb.proc.stop()


@pytest.fixture
def tims(tims_session: ErpSandbox) -> ErpSandbox:
    """The TIMS-only sandbox, reset."""
    tims_session.reset()
    return tims_session


@pytest.fixture
def erp(erp_session: ErpSandbox) -> Iterator[ErpSandbox]:
    """A reset sandbox (seeded chart of accounts and items, no documents, no faults)."""
    erp_session.reset()
    yield erp_session


@dataclass
class PostedHistory:
    """The 30-day history as posted into one ERP sandbox (see the module docstring)."""

    sandbox: ErpSandbox
    adapter: ErpAdapter
    engine: sa.Engine
    report: PostingReport
    recorder: RequestRecorder
    as_of: int                    # the history's as-of instant (Stripe clock when mirrored)
    resumed: PostingReport | None = None    # the pickup run after the ERP's own jobs (M3)
    _ledger: dict[str, Any] = field(default_factory=dict)

    @property
    def as_of_day(self) -> date:
        return utc_date(self.as_of)

    def gl_lines(self) -> list[Any]:
        """Every GL line posted (dates up to 60 days past the as-of day: deposits land on
        arrival), read once through the adapter while the recorder listens."""
        if "lines" not in self._ledger:
            self._ledger["lines"] = self.adapter.gl_lines(None,
                                                          self.as_of_day + timedelta(days=60))
        return self._ledger["lines"]

    def trial_balance(self) -> dict[tuple[str, str], int]:
        """The trial balance as of the as-of day, through the adapter (read once)."""
        if "tb" not in self._ledger:
            self._ledger["tb"] = self.adapter.trial_balance(self.as_of_day)
        return self._ledger["tb"]


@pytest.fixture(scope="session")
def posted_history(erp_session: ErpSandbox, mirrored: tuple[Path, int],
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostedHistory]:
    tmp = tmp_path_factory.mktemp(f"history-{erp_session.kind}")
    sb = start_erp_sandbox(erp_session.kind, tmp)
    try:
        shutil.copy(mirrored[0], tmp / "warehouse.db")
        engine = make_engine(f"sqlite:///{tmp / 'warehouse.db'}")
        adapter = sb.adapter()
        recorder = RequestRecorder.attach(adapter)
        report = post_window(adapter, engine, load_mapping(), None, None)
        resumed = settle(sb, adapter, engine)
        yield PostedHistory(sb, adapter, engine, report, recorder, mirrored[1], resumed)
        adapter.close()
        engine.dispose()
    finally:
        sb.proc.stop()
