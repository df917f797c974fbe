"""Soak benchmark: live Stripe activity, faults on both sides, kill -9 of the receiver and of a
sync run, ending with the ERP identical to a clean posting of the same Stripe history.

Brings up the whole product as ``make demo`` does (Stripe sandbox, TIMS sandbox, webhook
receiver, ``dagster dev`` with the sensors), on the embedded default (SQLite) or on
PostgreSQL (``--backend postgres``: deploy/dagster.yaml, Postgres warehouse).  Then, for
``--minutes`` (default 30):

* the Stripe sandbox makes ``--rate`` (20) events/s of live activity (its ``live_rate``),
  delivered by its webhooks to the receiver;
* ``--fault-rate`` (5%) of the product's calls fail on each side: Stripe answers 500/429,
  the ERP answers 503 or executes the request and loses the answer (a 504 after the fact);
* every ``--kill-every`` seconds (300) the receiver is killed with SIGKILL and restarted (the
  sandbox retries what it could not deliver), and a ``stripe_event_sync`` run that is in
  progress is killed with SIGKILL (its run worker); the deployment recovers by itself.

At the end activity stops, deliveries are flushed and the product is left to catch up (faults
still on).  The Stripe sandbox is then mirrored into a fresh warehouse and posted to in-memory
ERPs (clean runs): the TIMS sandbox must hold every document of the live period (else *lost*),
nothing a clean posting of the whole history does not make (else *extra*; live events may touch
older objects, whose documents are then posted), and nothing twice (*duplicated*).
Prints: events, faults injected, kills, lost, duplicated, extra, receiver RSS start/end, and how
long the product took to catch up once activity stopped.

    .venv/bin/python bench/bench_soak.py [--minutes 30] [--backend sqlite|postgres]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from connectors.erp import make_adapter  # noqa: E402
from domain.erp import DocKind  # noqa: E402
from tests.support.dagster_stack import (DagsterStack, kill_9, run_process_ids,  # noqa: E402
                                         wait_for)
from tests.support.processes import free_port, read_env_file  # noqa: E402

CONTROL = httpx.Client(timeout=300)   # sandbox control calls; the sandboxes are busy
SYNC_RUNS = """{ runsOrError(filter: {pipelineName: "stripe_event_sync", statuses: [STARTED]},
  limit: 5) { ... on Runs { results { runId status } } } }"""
RUN_STATUS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""
ALL_RUNS = """{ runsOrError(filter: {pipelineName: "stripe_event_sync"}, limit: 100000) {
  ... on Runs { results { status } } } }"""
IN_PROGRESS = """{ runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED,
  CANCELING]}, limit: 5) { ... on Runs { results { runId } } } }"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Receiver:
    """The webhook receiver, restartable after a kill -9 with the env ``make demo`` gave it."""

    def __init__(self, work: Path, port: int, pgid: int, env: dict[str, str]) -> None:
        self.work, self.port, self.pgid, self.env = work, port, pgid, env

    def kill_and_restart(self) -> None:
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc = subprocess.Popen([sys.executable, "-m", "webhooks", "--port", str(self.port)],
                                cwd=REPO, env=self.env, start_new_session=True,
                                stdout=open(self.work / "logs" / "webhooks.log", "ab"),
                                stderr=subprocess.STDOUT)
        self.pgid = proc.pid
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code < 300:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("receiver did not restart")
            time.sleep(0.1)  # polling for readiness

    def rss(self) -> float:
        return rss_mb(self.pgid)


def start_product(args: argparse.Namespace, work: Path, ports: dict[str, int]
                  ) -> tuple[list[int], dict[str, str], object]:
    cmd = [sys.executable, str(REPO / "scripts" / "demo.py"), "--port", str(ports["ui"]),
           "--stripe-port", str(ports["stripe"]), "--erp", "tims", "--erp-port", str(ports["erp"]),
           "--webhook-port", str(ports["hooks"]), "--history-days", "1", "--scale", "tiny",
           "--data-dir", str(work), "--exit-when-ready"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "ERP_"))}
    cluster, hooks_env = None, {}
    warehouse_url = f"sqlite:///{work / 'warehouse.db'}"
    if args.backend == "postgres":
        from tests.support.postgres import start_cluster
        cluster = start_cluster()
        env["DAGSTER_POSTGRES_URL"] = cluster.create_database("dagster")
        warehouse_url = cluster.create_database("warehouse")
        cmd += ["--dagster-yaml", str(REPO / "deploy" / "dagster.yaml"),
                "--warehouse-url", warehouse_url]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        sys.exit(done.stdout[-3000:] + done.stderr[-3000:])
    pgids = [int(x) for x in done.stdout.split("PGIDS=")[1].split()[0].split(",")]
    hooks_env = {**env, "PYTHONUNBUFFERED": "1", "WAREHOUSE_URL": warehouse_url,
                 "DAGSTER_GRAPHQL_URL": f"http://127.0.0.1:{ports['ui']}/graphql",
                 **read_env_file(work / "webhooks.env")}
    return pgids, hooks_env, cluster


def inject_faults(stripe_base: str, erp_base: str, rate: float) -> None:
    half = round(rate / 2, 4)
    for rule in ({"kind": "500", "rate": half, "path_prefix": "/v1"},
                 {"kind": "429", "rate": half, "path_prefix": "/v1"}):
        CONTROL.post(f"{stripe_base}/_sandbox/faults", json=rule).raise_for_status()
    for rule in ({"kind": "503", "rate": half}, {"kind": "timeout", "rate": half, "after": True}):
        CONTROL.post(f"{erp_base}/_sandbox/faults", json=rule).raise_for_status()


def faults_injected(stripe_base: str, erp_base: str) -> tuple[int, int]:
    return (CONTROL.get(f"{stripe_base}/_sandbox/stats").json()["faults_injected"],
            CONTROL.get(f"{erp_base}/_sandbox/stats").json()["faults_injected"])


def count_events(stripe_base: str, s_env: dict[str, str], since: int) -> int:
    import stripe
    client = stripe.StripeClient(s_env["STRIPE_API_KEY"], max_network_retries=5,
                                 base_addresses={"api": stripe_base})
    return sum(1 for _ in client.v1.events.list(params={
        "limit": 100, "created": {"gte": since}}).auto_paging_iter())


def calibrate(stripe_base: str, s_env: dict[str, str], rate: float, seconds: int = 15) -> float:
    """The sandbox's ``live_rate`` counts actions (a payment makes several events): run 2
    actions/s for ``seconds``, then set the rate that makes ``rate`` events/s."""
    since = int(CONTROL.get(f"{stripe_base}/_sandbox/health").json()["clock"])
    CONTROL.post(f"{stripe_base}/_sandbox/config", json={"live_rate": 2}).raise_for_status()
    time.sleep(seconds)  # the calibration period itself, not a synchronisation
    per_action = max(1.0, count_events(stripe_base, s_env, since) / (2 * seconds))
    live_rate = round(rate / per_action, 2)
    CONTROL.post(f"{stripe_base}/_sandbox/config", json={"live_rate": live_rate}
                 ).raise_for_status()
    print(f"  {per_action:.1f} events per live action: live_rate {live_rate}", flush=True)
    return live_rate


def kill_a_sync_run(stack: DagsterStack, timeout: float = 60) -> str | None:
    """SIGKILL the run worker of a stripe_event_sync run in progress (the first seen)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = stack.gql(SYNC_RUNS)["runsOrError"]["results"]
        for run in runs:
            with stack.instance() as instance:
                pids = run_process_ids(instance, run["runId"])
            if pids:
                kill_9(pids)
                return run["runId"]
        time.sleep(0.2)  # polling for a run in progress
    return None


def erp_ids(adapter) -> dict[str, Counter]:
    return {kind.value: Counter(r.doc.external_id for r in adapter.read(kind)) for kind in DocKind}


def clean_posting(work: Path, stripe_env: dict[str, str], gte: int, lt: int
                  ) -> tuple[dict[str, Counter], dict[str, Counter]]:
    """The Stripe sandbox mirrored afresh and posted to in-memory ERPs (clean runs): the live
    period ``[gte, lt)``, and the whole history (events of the live period may touch older
    objects, e.g. a refund of yesterday's charge, whose documents the product then posts)."""
    import shutil
    from connectors.stripe import StripeApi
    from domain.mapping import load_mapping
    from posting.activity import stripe_fetcher
    from posting.run import post_window
    from tests.posting.fake_erp import FakeErp
    from warehouse.db import make_engine
    from warehouse.migrate import upgrade
    from warehouse.stripe_sync import TABLES, sync_window
    engine = make_engine(f"sqlite:///{work / 'clean.db'}")
    upgrade(engine)
    api = StripeApi(stripe_env["STRIPE_API_KEY"], stripe_env["STRIPE_API_BASE"], rate_limit=1000)
    sync_window(api, engine, list(TABLES), None, lt)
    engine.dispose()
    out = []
    for name, since in (("live", gte), ("all", None)):
        shutil.copy(work / "clean.db", work / f"clean-{name}.db")
        fake = FakeErp()
        post_window(fake, make_engine(f"sqlite:///{work / f'clean-{name}.db'}"), load_mapping(),
                    since, lt, fetch=stripe_fetcher(api))
        out.append(erp_ids(fake))
    return out[0], out[1]


def compare(held: dict[str, Counter], live: dict[str, Counter], everything: dict[str, Counter]
            ) -> dict[str, object]:
    """lost: a document of the live period the ERP lacks; extra: an ERP document no clean
    posting of the history makes; duplicated: a document the ERP holds more than once."""
    lost = [(k, e) for k in live for e in sorted(set(live[k]) - set(held[k]))]
    extra = [(k, e) for k in everything for e in sorted(set(held[k]) - set(everything[k]))]
    duplicated = sum(n - 1 for c in held.values() for n in c.values() if n > 1)
    return {"documents": sum(map(len, live.values())), "held": sum(map(len, held.values())),
            "lost": len(lost), "duplicated": duplicated, "extra": len(extra),
            "examples": (lost + extra)[:5]}


def landed_events(warehouse_url: str, since: int) -> set[str]:
    import sqlalchemy as sa
    from warehouse.db import make_engine
    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.text(
            "SELECT id FROM stripe_events WHERE created >= :t"), {"t": since})}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--rate", type=float, default=20, help="live Stripe events per second")
    p.add_argument("--fault-rate", type=float, default=0.05)
    p.add_argument("--kill-every", type=float, default=300, help="seconds between kills")
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--catch-up", type=float, default=1800, help="seconds allowed to catch up")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    ports = {k: free_port() for k in ("ui", "stripe", "erp", "hooks")}
    pgids, hooks_env, cluster = start_product(args, work, ports)
    try:
        run(args, work, ports, pgids, hooks_env)
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


def run(args, work: Path, ports: dict[str, int], pgids: list[int], hooks_env: dict[str, str]
        ) -> None:
    s_env, e_env = read_env_file(work / "stripe.env"), read_env_file(work / "erp.env")
    stripe_base, erp_base = s_env["STRIPE_API_BASE"], e_env["ERP_BASE_URL"].split("/api")[0]
    stack = DagsterStack(f"http://127.0.0.1:{ports['ui']}", work / "dagster_home", None,
                         {k: v for k, v in hooks_env.items() if k == "DAGSTER_POSTGRES_URL"})
    receiver = Receiver(work, ports["hooks"], pgids[2], hooks_env)
    pgids[2:3] = []                           # the receiver is stopped through ``receiver``
    try:
        soak(args, work, stack, receiver, stripe_base, erp_base, s_env, e_env, hooks_env)
    finally:
        try:
            os.killpg(receiver.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def soak(args, work, stack, receiver, stripe_base, erp_base, s_env, e_env, hooks_env) -> None:
    start_clock = int(CONTROL.get(f"{stripe_base}/_sandbox/health").json()["clock"])
    stats0 = faults_injected(stripe_base, erp_base)
    inject_faults(stripe_base, erp_base, args.fault_rate)
    activity_began = time.monotonic()
    calibrate(stripe_base, s_env, args.rate)
    started = time.monotonic()
    rss = [receiver.rss()]
    kills = {"receiver": 0, "sync_run": 0}
    killed_runs: list[tuple[str, float]] = []
    next_kill = started + args.kill_every
    print(f"soak: {args.minutes} min at {args.rate} events/s, {args.fault_rate:.0%} faults, "
          f"kill -9 every {args.kill_every:.0f}s ({args.backend}); work dir {work}", flush=True)
    while time.monotonic() - started < args.minutes * 60:
        if time.monotonic() >= next_kill:
            rss.append(receiver.rss())
            receiver.kill_and_restart()
            kills["receiver"] += 1
            run_id = kill_a_sync_run(stack)
            if run_id:
                kills["sync_run"] += 1
                killed_runs.append((run_id, time.monotonic()))
            next_kill += args.kill_every
            print(f"  {(time.monotonic() - started) / 60:.1f} min: receiver killed and "
                  f"restarted, sync run {run_id} killed", flush=True)
        time.sleep(1)  # the soak's pacing: the sandbox makes the activity
    rss.append(receiver.rss())
    CONTROL.post(f"{stripe_base}/_sandbox/config", json={"live_rate": 0}).raise_for_status()
    soaked = time.monotonic() - activity_began
    end_clock = int(CONTROL.get(f"{stripe_base}/_sandbox/health").json()["clock"]) + 1
    stopped = time.monotonic()
    flushed = CONTROL.post(f"{stripe_base}/_sandbox/webhooks/flush", json={"timeout": 300})
    print(f"  activity stopped; webhook deliveries idle: {flushed.json()}", flush=True)
    # a kill lands when the run was still running: its run is then FAILURE (a run that had
    # just finished when its process was signalled keeps its SUCCESS)
    def final_status(run_id: str) -> str:
        return wait_for(f"run {run_id} finished", lambda: (lambda s: s if s in (
            "SUCCESS", "FAILURE", "CANCELED") else None)(
                stack.gql(RUN_STATUS, id=run_id)["runOrError"]["status"]), timeout=300)
    landed = [r for r, _ in killed_runs if final_status(r) == "FAILURE"]

    import stripe
    client = stripe.StripeClient(s_env["STRIPE_API_KEY"], max_network_retries=5,
                                 base_addresses={"api": stripe_base})
    events = {e.id for e in client.v1.events.list(params={
        "limit": 100, "created": {"gte": start_clock}}).auto_paging_iter()}
    adapter = make_adapter(e_env)
    live, everything = clean_posting(work, s_env, start_clock, end_clock)
    caught_up, complete_at = time.monotonic() + args.catch_up, None
    while True:                       # the product catches up with the last events
        result = compare(erp_ids(adapter), live, everything)
        if not result["lost"] and complete_at is None:
            complete_at = time.monotonic()
        quiet = not stack.gql(IN_PROGRESS)["runsOrError"]["results"]
        if (quiet and not result["lost"]) or time.monotonic() > caught_up:
            break
        time.sleep(5)  # polling the ERP and the runs while the product catches up
    injected = [a - b for a, b in zip(faults_injected(stripe_base, erp_base), stats0)]
    CONTROL.delete(f"{stripe_base}/_sandbox/faults")   # faults stay on while catching up
    CONTROL.delete(f"{erp_base}/_sandbox/faults")
    runs = Counter(r["status"] for r in stack.gql(ALL_RUNS)["runsOrError"]["results"])
    print(f"  after activity stopped: ERP complete after "
          f"{'-' if complete_at is None else f'{complete_at - stopped:.0f}s'}, runs quiet after "
          f"{time.monotonic() - stopped:.0f}s{'' if quiet else ' (NOT quiet: timed out)'}; "
          f"sync runs by status {dict(runs)}", flush=True)
    not_landed = len(events - landed_events(hooks_env["WAREHOUSE_URL"], start_clock))
    print(f"[{args.backend}] {args.minutes:g} min soak: {len(events):,} events "
          f"({len(events) / soaked:.1f}/s incl. calibration), {not_landed} not landed; faults "
          f"injected: Stripe {injected[0]:,}, ERP {injected[1]:,}; kills: receiver "
          f"{kills['receiver']}, sync run {len(landed)} (of {kills['sync_run']} signalled)")
    print(f"[{args.backend}] ERP vs clean posting: {result['documents']:,} documents of the live "
          f"period ({result['held']:,} in the ERP), lost {result['lost']}, duplicated "
          f"{result['duplicated']}, extra {result['extra']}"
          f"{' e.g. ' + str(result['examples']) if result['examples'] else ''}; "
          f"receiver RSS start {rss[0]:.1f} MB, end {rss[-1]:.1f} MB "
          f"(before each kill: {', '.join(f'{r:.0f}' for r in rss)})")

if __name__ == "__main__":
    main()
