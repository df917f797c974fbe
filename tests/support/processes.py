"""Start and stop the project's real processes (sandboxes, receiver, dagster) from tests.

Every server binds a free loopback port chosen here and is polled on a health URL until it
answers; nothing sleeps for a fixed time.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_env_file(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def _reset_signals() -> None:  # runs in the child before exec
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@dataclass
class Proc:
    popen: subprocess.Popen
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def stop(self, timeout: float = 20) -> None:
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, not a shutdown."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=10)


def spawn(args: list[str], log: Path, health_url: str | None = None, env: dict | None = None,
          timeout: float = 180, cwd: Path = REPO) -> Proc:
    """Start `args` in its own process group; wait until `health_url` answers 2xx."""
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    fh = open(log, "ab")
    popen = subprocess.Popen(args, cwd=cwd, env=full_env, stdout=fh, stderr=subprocess.STDOUT,
                             start_new_session=True, preexec_fn=_reset_signals)
    proc = Proc(popen, log)
    if health_url:
        deadline = time.monotonic() + timeout
        while True:
            if popen.poll() is not None:
                raise RuntimeError(f"{args[:3]} exited with {popen.returncode}:\n{log.read_text()[-4000:]}")
            try:
                if httpx.get(health_url, timeout=2).status_code < 300:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError(f"{health_url} not healthy in {timeout}s:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)  # polling interval, not synchronisation: we wait for the health answer
    return proc


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
