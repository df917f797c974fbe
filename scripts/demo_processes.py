"""The processes ``make demo`` starts: each in its own process group, named, supervised.

A child that dies is reported by name with the end of its log, and the others keep
running; SIGTERM or Ctrl-C to the demo stops every process group it started (SIGTERM,
then SIGKILL for what is left after a grace period).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
GRACE = 20.0  # seconds a process group gets to stop after SIGTERM


def _reset_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log: Path
    reported: bool = False


def start(name: str, args: list[str], log: Path, env: dict[str, str]) -> Child:
    """A child in its own process group with default signal handlers.

    ``dagster dev`` started from a non-interactive shell ignores SIGTERM
    otherwise; killing its process group stops the webserver, daemon and
    code server together.
    """
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_reset_signals)
    return Child(name, proc, log)


def wait_until(url: str, child: Child, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if child.proc.poll() is not None:
            sys.exit(f"{child.name}: process exited ({child.proc.returncode}); last lines of "
                     f"{child.log}:\n" + child.log.read_text()[-3000:])
        try:
            if httpx.get(url, timeout=2).status_code < 300:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"{child.name}: {url} did not answer within {timeout:.0f}s; see {child.log}")
        time.sleep(0.25)  # polling for readiness


def wait_for_file(path: Path, child: Child, timeout: float = 60) -> None:
    """Env files are written once the server accepts connections, maybe after /health."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if child.proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{child.name}: {path} was not written; see {child.log}")
        time.sleep(0.1)  # polling for the file


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stop(children: list[Child]) -> None:
    """SIGTERM every process group, wait for them, SIGKILL what is left after GRACE."""
    for c in children:
        try:
            os.killpg(c.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + GRACE
    for c in children:
        try:
            c.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    while any(_group_alive(c.proc.pid) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)  # waiting for the groups' other members to exit
    for c in children:
        if _group_alive(c.proc.pid):
            print(f"{c.name} did not stop within {GRACE:.0f}s of SIGTERM; killing it", flush=True)
            try:
                os.killpg(c.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        c.proc.poll()


def raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds into the caller's finally: stop(children)


def supervise(children: list[Child]) -> None:
    """Until SIGTERM/Ctrl-C: report each child that exits, by name, and keep the others."""
    while True:
        for c in children:
            if c.proc.poll() is not None and not c.reported:
                c.reported = True
                running = [o.name for o in children if o.proc.poll() is None]
                print(f"\n{c.name} exited (code {c.proc.returncode}); see {c.log}. Still "
                      f"running: {', '.join(running) or 'nothing'}.\nLast lines of its log:\n"
                      + c.log.read_text(errors="replace")[-1500:], flush=True)
        if all(c.reported for c in children):
            sys.exit("every demo process has exited")
        time.sleep(1)  # supervising the children
