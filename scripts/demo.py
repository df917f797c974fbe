"""``make demo``: the Stripe sandbox with 90 days of history, and the Dagster UI.

Starts, each in its own process group on 127.0.0.1:

1. the Stripe sandbox (``python -m sandbox.stripe``), which writes
   ``data/stripe.env`` (``STRIPE_API_KEY``, ``STRIPE_API_BASE``) once it serves;
2. the ERP sandbox chosen with ``--erp`` (tims, infor or epicor; default tims),
   which writes ``data/erp.env`` (``ERP_KIND``, ``ERP_BASE_URL``, credentials);
3. the webhook receiver (``python -m webhooks``), registered in the Stripe
   sandbox as a webhook endpoint for every event type;
4. ``dagster dev`` on port 3000 with ``DAGSTER_HOME=data/dagster_home`` (the
   embedded SQLite instance from ``deploy/dagster.local.yaml``), the warehouse
   at ``data/warehouse.db`` and the settings from the env file;
5. the exceptions workbench (``python -m workbench``, port 12114), its login token
   in ``data/workbench_token``.

Then waits until the UI answers, prints what to click, and keeps running until
Ctrl-C, when it stops everything it started.  ``--exit-when-ready`` returns
once the UI is up, leaving the processes running (used by tests; their process
group ids are printed as ``PGIDS=...``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import stripe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from warehouse.db import display_url  # noqa: E402
from workbench.settings import ensure_token_file  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _reset_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    """A child in its own process group with default signal handlers.

    ``dagster dev`` started from a non-interactive shell ignores SIGTERM
    otherwise; killing its process group stops the webserver, daemon and
    code server together.
    """
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_reset_signals)


def wait_until(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            sys.exit(f"{log.name}: process exited ({proc.returncode}); last lines:\n"
                     + log.read_text()[-3000:])
        try:
            if httpx.get(url, timeout=2).status_code < 300:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"{url} did not answer within {timeout:.0f}s; see {log}")
        time.sleep(0.25)  # polling for readiness


def wait_for_file(path: Path, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Env files are written once the server accepts connections, maybe after /health."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{path} was not written; see {log}")
        time.sleep(0.1)  # polling for the file


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def main() -> None:
    p = argparse.ArgumentParser(prog="make demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=3000, help="Dagster UI port")
    p.add_argument("--stripe-port", type=int, default=12111)
    p.add_argument("--erp", choices=["tims", "infor", "epicor", "none"], default="tims")
    p.add_argument("--erp-port", type=int, default=12112)
    p.add_argument("--webhook-port", type=int, default=12113)
    p.add_argument("--workbench-port", type=int, default=12114)
    p.add_argument("--history-days", type=int, default=90)
    p.add_argument("--scale", default="1")
    p.add_argument("--data-dir", type=Path, default=REPO / "data")
    p.add_argument("--exit-when-ready", action="store_true")
    p.add_argument("--dagster-yaml", type=Path, default=REPO / "deploy" / "dagster.local.yaml",
                   help="instance config (deploy/dagster.yaml for Postgres, with "
                        "DAGSTER_POSTGRES_URL set)")
    p.add_argument("--warehouse-url", default="", help="default: data/warehouse.db (SQLite)")
    args = p.parse_args()

    data = args.data_dir.resolve()
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    home = data / "dagster_home"
    home.mkdir(exist_ok=True)
    if not (home / "dagster.yaml").exists() or args.dagster_yaml.name != "dagster.local.yaml":
        shutil.copy(args.dagster_yaml, home / "dagster.yaml")
    warehouse_url = args.warehouse_url or f"sqlite:///{data / 'warehouse.db'}"
    env_file = data / "stripe.env"
    env_file.unlink(missing_ok=True)

    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("STRIPE_", "WAREHOUSE_", "DAGSTER_", "ERP_", "TIMS_",
                                     "INFOR_", "EPICOR_")) or k == "DAGSTER_POSTGRES_URL"}
    base_env["PYTHONUNBUFFERED"] = "1"
    bindir = Path(sys.executable).parent
    procs: list[subprocess.Popen] = []
    try:
        print(f"starting the Stripe sandbox ({args.history_days} days of history) ...")
        stripe_log = logs / "stripe-sandbox.log"
        procs.append(start([sys.executable, "-m", "sandbox.stripe", "--port", str(args.stripe_port),
                            "--history-days", str(args.history_days), "--scale", args.scale,
                            "--rate-limit", "100", "--env-file", str(env_file)],
                           stripe_log, base_env))
        wait_until(f"http://127.0.0.1:{args.stripe_port}/_sandbox/health", procs[-1], stripe_log,
                   timeout=600)
        erp_env: dict[str, str] = {}
        if args.erp != "none":
            print(f"starting the {args.erp} ERP sandbox ...")
            erp_file = data / "erp.env"
            erp_file.unlink(missing_ok=True)
            erp_log = logs / f"{args.erp}-sandbox.log"
            procs.append(start([sys.executable, "-m", f"sandbox.{args.erp}", "--port",
                                str(args.erp_port), "--env-file", str(erp_file)], erp_log, base_env))
            wait_until(f"http://127.0.0.1:{args.erp_port}/_sandbox/health", procs[-1], erp_log,
                       timeout=120)
            wait_for_file(erp_file, procs[-1], erp_log)
            erp_env = read_env_file(erp_file)
        wait_for_file(env_file, procs[0], stripe_log)
        stripe_env = read_env_file(env_file)
        client = stripe.StripeClient(stripe_env["STRIPE_API_KEY"],
                                     base_addresses={"api": stripe_env["STRIPE_API_BASE"]})
        endpoint = client.v1.webhook_endpoints.create(params={
            "url": f"http://127.0.0.1:{args.webhook_port}/webhooks/stripe", "enabled_events": ["*"]})
        hooks_env = {"STRIPE_WEBHOOK_SECRET": endpoint.secret, "WAREHOUSE_URL": warehouse_url,
                     "DAGSTER_GRAPHQL_URL": f"http://127.0.0.1:{args.port}/graphql"}
        (data / "webhooks.env").write_text(f"STRIPE_WEBHOOK_SECRET={endpoint.secret}\n")
        print("starting the webhook receiver ...")
        hooks_log = logs / "webhooks.log"
        procs.append(start([sys.executable, "-m", "webhooks", "--port", str(args.webhook_port)],
                           hooks_log, {**base_env, **hooks_env}))
        wait_until(f"http://127.0.0.1:{args.webhook_port}/health", procs[-1], hooks_log, timeout=60)
        first_day = (datetime.now(timezone.utc) - timedelta(days=args.history_days + 1)).date()
        env = {**base_env, **stripe_env, **erp_env, **hooks_env,
               "STRIPE_RATE_LIMIT": "100",  # the sandbox is limited like a live account
               "STRIPE_SYNC_START_DATE": first_day.isoformat(),
               "WAREHOUSE_URL": warehouse_url,
               "WORKBENCH_URL": f"http://127.0.0.1:{args.workbench_port}",
               "DAGSTER_HOME": str(home)}
        print("starting dagster dev ...")
        dagster_log = logs / "dagster.log"
        procs.append(start([str(bindir / "dagster"), "dev", "-w", str(REPO / "workspace.yaml"),
                            "-h", "127.0.0.1", "-p", str(args.port)], dagster_log, env))
        wait_until(f"http://127.0.0.1:{args.port}/server_info", procs[-1], dagster_log,
                   timeout=300)
        ui = f"http://127.0.0.1:{args.port}"
        print("starting the exceptions workbench ...")
        token_file = ensure_token_file(data / "workbench_token")
        wb_log = logs / "workbench.log"
        procs.append(start([sys.executable, "-m", "workbench", "--port", str(args.workbench_port)],
                           wb_log, {**env, "STRIPE_ERP_DATA_DIR": str(data)}))
        wait_until(f"{env['WORKBENCH_URL']}/health", procs[-1], wb_log, timeout=60)
        print(f"""
Dagster UI:      {ui}
Stripe sandbox:  {env['STRIPE_API_BASE']} (settings in {env_file})
ERP sandbox:     {erp_env.get('ERP_KIND', 'none')} {erp_env.get('ERP_BASE_URL', '')}
Webhooks:        http://127.0.0.1:{args.webhook_port}/webhooks/stripe (sensor stripe_events_sensor)
Workbench:       {env['WORKBENCH_URL']} (log in with any name and the token in {token_file})
Warehouse:       {display_url(warehouse_url)}
Logs:            {logs}

Backfill a date range: open {ui}/assets, tick the group "stripe" (or open one
asset, e.g. stripe/charges), click "Materialize" -> pick a range of days in the
partition selector (e.g. the last 30) -> "Launch backfill". The range runs as
one run; watch it under Runs. Re-running a range changes nothing. Select the
groups "stripe" and "erp" together to mirror and post the range in one run.
Ctrl-C stops everything.""")
        if args.exit_when_ready:
            print("PGIDS=" + ",".join(str(p.pid) for p in procs))
            procs = []
            return
        while all(p.poll() is None for p in procs):
            time.sleep(1)  # supervising: exit when a child dies
        sys.exit("a demo process exited; see the logs above")
    except KeyboardInterrupt:
        pass
    finally:
        stop(procs)


if __name__ == "__main__":
    main()
