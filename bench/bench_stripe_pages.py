"""Benchmark: list pages of 100 charges per second from one sandbox worker.

Starts ``python -m sandbox.stripe`` (rate limiting off), walks
``GET /v1/charges?limit=100`` once to collect page cursors, then replays those
pages from a concurrent keep-alive ``httpx.AsyncClient`` for a fixed number of
requests and prints pages/s, MB/s and p50/p99 latency.  The target is >= 300
pages/s on the same host.  It also prints the server's CPU time per page:
on a 2-core host the Python client is usually the bottleneck, and the
server's own cost shows the worker's headroom.

    .venv/bin/python bench/bench_stripe_pages.py [--pages 3000] [--concurrency 8]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sandbox(history_days: int, scale: str, workdir: Path) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    env_file = workdir / "stripe.env"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.stripe", "--port", str(port), "--history-days",
         str(history_days), "--scale", scale, "--seed", "7", "--rate-limit", "0",
         "--env-file", str(env_file)],
        cwd=REPO, stdout=open(workdir / "stripe.log", "wb"), stderr=subprocess.STDOUT,
        start_new_session=True)
    deadline = time.monotonic() + 600
    while True:
        if proc.poll() is not None:
            raise SystemExit((workdir / "stripe.log").read_text()[-3000:])
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("sandbox did not become healthy")
        time.sleep(0.2)
    env = dict(line.split("=", 1) for line in env_file.read_text().split())
    return proc, env["STRIPE_API_BASE"], env["STRIPE_API_KEY"]


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process (Linux ``/proc``), to report server cost per page."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def collect_cursors(base: str, key: str) -> list[str | None]:
    """``starting_after`` values of every full page of charges (None = first page)."""
    cursors: list[str | None] = [None]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
        while True:
            params = {"limit": 100}
            if cursors[-1]:
                params["starting_after"] = cursors[-1]
            page = client.get("/v1/charges", params=params).json()
            if not page["has_more"] or len(page["data"]) < 100:
                break
            cursors.append(page["data"][-1]["id"])
    return cursors if len(cursors) == 1 else cursors[:-1]


async def run(base: str, key: str, cursors: list[str | None], pages: int,
              concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    total_bytes = 0
    counter = iter(range(pages))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"},
                                 limits=limits, timeout=30) as client:
        async def worker() -> None:
            nonlocal total_bytes
            for i in counter:
                cursor = cursors[i % len(cursors)]
                params = {"limit": "100"} if cursor is None else {
                    "limit": "100", "starting_after": cursor}
                t0 = time.perf_counter()
                resp = await client.get("/v1/charges", params=params)
                body = resp.content
                latencies.append(time.perf_counter() - t0)
                if resp.status_code != 200 or body.count(b'"object":"charge"') < 100:
                    raise RuntimeError(f"bad page: {resp.status_code} {body[:200]!r}")
                total_bytes += len(body)

        for _ in range(concurrency):  # warm-up: open the connections
            await client.get("/v1/charges", params={"limit": "1"})
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, total_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--history-days", type=int, default=90)
    parser.add_argument("--scale", default="1.0")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        proc, base, key = start_sandbox(args.history_days, args.scale, Path(tmp))
        try:
            startup = time.monotonic() - t0
            cursors = collect_cursors(base, key)
            cpu0 = cpu_seconds(proc.pid)
            elapsed, lat, nbytes = asyncio.run(run(base, key, cursors, args.pages,
                                                   args.concurrency))
            server_cpu = cpu_seconds(proc.pid) - cpu0
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    lat.sort()
    p50 = lat[len(lat) // 2] * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    print(f"sandbox startup (history {args.history_days} d, scale {args.scale}): {startup:.1f} s; "
          f"{len(cursors)} distinct pages of 100 charges")
    print(f"pages/s: {args.pages / elapsed:.0f}  ({args.pages} pages, concurrency "
          f"{args.concurrency}, {nbytes / elapsed / 1e6:.1f} MB/s)")
    print(f"latency p50: {p50:.2f} ms  p99: {p99:.2f} ms")
    print(f"server CPU: {server_cpu / args.pages * 1000:.2f} ms/page "
          f"(one worker could serve ~{args.pages / server_cpu:.0f} pages/s if the client "
          "were free; client and server share this host's cores)")


if __name__ == "__main__":
    main()
