"""Benchmark: webhook -> ERP latency, and a burst of 10,000 events.

Brings up the whole product as ``make demo`` does (Stripe sandbox, TIMS sandbox,
webhook receiver, ``dagster dev`` with the sensor), on the embedded default
(SQLite instance and warehouse) or on PostgreSQL (``--backend postgres``:
deploy/dagster.yaml and a Postgres warehouse on a throwaway cluster).

1. Latency: a payment is made in the Stripe sandbox; the clock runs until its
   cash receipt is in the ERP (read through the TIMS API).  ``--samples`` payments,
   one after the other; prints p50 and p95.
2. Burst: with webhook delivery paused, ``--burst-payments`` payments are made
   (about four events each); their events are then sent, signed, to the receiver
   by 64 concurrent clients.  Prints the receiver's throughput and errors, the
   time until every payment's receipt is in the ERP, and how many runs that took.

Targets: p50 <= 3 s and p95 <= 5 s on Postgres, p50 <= 5 s embedded; receiver
>= 1,000 events/s with no error; the burst in the ERP within 60 s in <= 30 runs.

    .venv/bin/python bench/bench_webhooks.py [--backend sqlite|postgres] [--samples 20]
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import stripe

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from connectors.erp import make_adapter  # noqa: E402
from domain.erp import DocKind  # noqa: E402
from tests.support.processes import free_port, read_env_file  # noqa: E402

RUNS = """{ runsOrError(filter: {pipelineName: "stripe_event_sync"}, limit: 1000) {
  ... on Runs { results { runId status startTime endTime } } } }"""


def wait_in_erp(adapter, charge_ids: list[str], timeout: float) -> float:
    started = time.monotonic()
    pending = list(charge_ids)
    while pending:
        found = set()
        for i in range(0, len(pending), 400):
            found |= set(adapter.find(DocKind.PAYMENT, pending[i:i + 400]))
        pending = [c for c in pending if c not in found]
        if pending and time.monotonic() - started > timeout:
            raise TimeoutError(f"{len(pending)} receipts still missing after {timeout}s")
        if pending:
            time.sleep(0.05)  # polling the ERP
    return time.monotonic()


def pay(client: stripe.StripeClient, i: int) -> str:
    pi = client.v1.payment_intents.create(params={
        "amount": 1000 + i, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
        "metadata": {"sku": f"SKU-{1000 + i % 50:05d}"}})
    return pi.latest_charge


def sign(body: bytes, secret: str) -> str:
    t = int(time.time())
    sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={sig}"


async def blast(url: str, bodies: list[bytes], secret: str, concurrency: int = 64) -> tuple[float, int]:
    """POST every body, signed, over ``concurrency`` keep-alive connections.

    A minimal HTTP/1.1 client on raw asyncio streams: requests are pre-built, so
    the load generator costs little CPU and the receiver is what is measured.
    """
    parsed = httpx.URL(url)
    requests = []
    for body in bodies:
        head = (f"POST {parsed.raw_path.decode()} HTTP/1.1\r\nHost: {parsed.host}:{parsed.port}\r\n"
                f"Content-Type: application/json\r\nStripe-Signature: {sign(body, secret)}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        requests.append(head + body)
    errors = 0
    it = iter(requests)

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
        try:
            for req in it:
                writer.write(req)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                errors += status != 200
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.monotonic() - started, errors


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--burst-payments", type=int, default=3400)  # ~3 events each: >= 10,000
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    ports = {k: free_port() for k in ("ui", "stripe", "erp", "hooks")}
    cmd = [sys.executable, str(REPO / "scripts" / "demo.py"), "--port", str(ports["ui"]),
           "--stripe-port", str(ports["stripe"]), "--erp", "tims", "--erp-port", str(ports["erp"]),
           "--webhook-port", str(ports["hooks"]), "--history-days", "1", "--scale", "tiny",
           "--data-dir", str(work), "--exit-when-ready"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "ERP_"))}
    cluster = None
    if args.backend == "postgres":
        from tests.support.postgres import start_cluster
        cluster = start_cluster()
        env["DAGSTER_POSTGRES_URL"] = cluster.create_database("dagster")
        cmd += ["--dagster-yaml", str(REPO / "deploy" / "dagster.yaml"),
                "--warehouse-url", cluster.create_database("warehouse")]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        sys.exit(done.stdout[-3000:] + done.stderr[-3000:])
    pgids = [int(x) for x in done.stdout.split("PGIDS=")[1].split()[0].split(",")]
    try:
        s_env = read_env_file(work / "stripe.env")
        client = stripe.StripeClient(s_env["STRIPE_API_KEY"], max_network_retries=20,
                                     base_addresses={"api": s_env["STRIPE_API_BASE"]})
        adapter = make_adapter(read_env_file(work / "erp.env"))
        ui = f"http://127.0.0.1:{ports['ui']}"

        # 1. latency, one payment at a time
        pay(client, 0)  # warm-up: first run imports the code location
        wait_in_erp(adapter, [pay(client, 1)], 120)
        latencies = []
        for i in range(args.samples):
            t0 = time.monotonic()
            charge = pay(client, 2 + i)
            latencies.append(wait_in_erp(adapter, [charge], 120) - t0)
        latencies.sort()
        p50 = statistics.median(latencies)
        p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
        print(f"[{args.backend}] webhook -> ERP latency over {len(latencies)} payments: "
              f"p50 {p50:.2f}s, p95 {p95:.2f}s, max {latencies[-1]:.2f}s")

        # 2. burst: events made with delivery paused, then sent at once
        [endpoint] = client.v1.webhook_endpoints.list().data
        client.v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
        since = int(httpx.get(f"{s_env['STRIPE_API_BASE']}/_sandbox/health").json()["clock"])
        charges = [pay(client, 100 + i) for i in range(args.burst_payments)]
        events = [ev.to_dict() for ev in client.v1.events.list(
            params={"limit": 100, "created": {"gte": since}}).auto_paging_iter()]
        events.reverse()
        bodies = [orjson.dumps(e) for e in events]
        runs_before = len(httpx.post(f"{ui}/graphql", json={"query": RUNS}).json()["data"]
                          ["runsOrError"]["results"])
        secret = read_env_file(work / "webhooks.env")["STRIPE_WEBHOOK_SECRET"]
        seconds, errors = asyncio.run(blast(f"http://127.0.0.1:{ports['hooks']}/webhooks/stripe",
                                            bodies, secret))
        sent_at = time.monotonic()
        print(f"[{args.backend}] receiver: {len(bodies):,} events in {seconds:.2f}s -> "
              f"{len(bodies) / seconds:,.0f} events/s, {errors} errors")
        done_at = wait_in_erp(adapter, charges, 600)
        runs = httpx.post(f"{ui}/graphql", json={"query": RUNS}).json()["data"]["runsOrError"]["results"]
        print(f"[{args.backend}] burst of {len(bodies):,} events ({len(charges):,} payments): all in "
              f"the ERP {done_at - sent_at:.1f}s after the last event was received "
              f"({done_at - sent_at + seconds:.1f}s after the first), in {len(runs) - runs_before} runs")
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pgid in pgids:
                try:
                    os.killpg(pgid, sig)
                except ProcessLookupError:
                    pass
            if sig == signal.SIGTERM:
                time.sleep(5)  # grace period for dagster dev to stop its children
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    main()
