"""One ERP sandbox process per ERP kind for the session; adapters built from its env file.

Tests are parametrized over the ERPs the product supports.  Each sandbox is
started as a user would: ``python -m sandbox.<kind> --port P --env-file F``;
the adapter is built from that env file by ``connectors.erp.make_adapter``.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.erp import ErpAdapter, make_adapter
from tests.support.processes import Proc, free_port, python_module, read_env_file, spawn

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


@pytest.fixture
def erp(erp_session: ErpSandbox) -> Iterator[ErpSandbox]:
    """A reset sandbox (seeded chart of accounts and items, no documents, no faults)."""
    erp_session.reset()
    yield erp_session
