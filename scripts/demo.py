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

Then waits until the UI answers, prints what to click and the process group ids
(``PGIDS=...``), and keeps running until Ctrl-C or SIGTERM, when it stops
everything it started.  A process that dies is reported by name; the others keep
running.  ``--exit-when-ready`` returns once the UI is up, leaving the processes
running (used by tests).

Restartable: the Stripe sandbox keeps its objects and events in ``data/stripe.db``
(a restart continues its id streams, never reissuing an id) and the TIMS sandbox its
records in ``data/tims.state``; the Infor and Epicor sandboxes keep theirs in memory,
so the warehouse's links to them are deleted at start.  ``make clean`` starts afresh.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
import stripe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from demo_processes import (REPO, Child, raise_interrupt, read_env_file, start,  # noqa: E402
                            stop, supervise, wait_for_file, wait_until)
from warehouse.db import display_url, make_engine  # noqa: E402
from workbench.settings import ensure_token_file  # noqa: E402

# ERP sandboxes that keep their records in data/ across restarts (--state-file).
PERSISTENT_ERPS = {"tims"}


def forget_erp_links(warehouse_url: str, erp: str) -> int:
    """Delete the warehouse's links to ``erp``: its sandbox starts empty, so the next runs
    post again instead of trusting links to documents that no longer exist."""
    engine = make_engine(warehouse_url)
    if not sa.inspect(engine).has_table("erp_links"):
        return 0
    with engine.begin() as conn:
        return conn.execute(sa.text("DELETE FROM erp_links WHERE erp = :erp"), {"erp": erp}).rowcount


def webhook_endpoint(client: stripe.StripeClient, url: str) -> str:
    """A new endpoint for the receiver (its secret is shown only at creation); the endpoints
    a previous demo registered for the same URL are deleted first."""
    for old in client.v1.webhook_endpoints.list(params={"limit": 100}).auto_paging_iter():
        if old.url == url:
            client.v1.webhook_endpoints.delete(old.id)
    return client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": ["*"]}).secret


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
    procs: list[Child] = []
    signal.signal(signal.SIGTERM, raise_interrupt)  # stops what was started, in `finally`
    try:
        print(f"starting the Stripe sandbox ({args.history_days} days of history, kept in "
              f"{data / 'stripe.db'}) ...")
        stripe_log = logs / "stripe-sandbox.log"
        procs.append(start("Stripe sandbox", [
            sys.executable, "-m", "sandbox.stripe", "--port", str(args.stripe_port),
            "--history-days", str(args.history_days), "--scale", args.scale,
            "--rate-limit", "100", "--env-file", str(env_file), "--db", str(data / "stripe.db")],
            stripe_log, base_env))
        wait_until(f"http://127.0.0.1:{args.stripe_port}/_sandbox/health", procs[-1], timeout=600)
        erp_env: dict[str, str] = {}
        if args.erp != "none":
            print(f"starting the {args.erp} ERP sandbox ...")
            erp_file = data / "erp.env"
            erp_file.unlink(missing_ok=True)
            erp_args = [sys.executable, "-m", f"sandbox.{args.erp}", "--port", str(args.erp_port),
                        "--env-file", str(erp_file)]
            if args.erp in PERSISTENT_ERPS:
                erp_args += ["--state-file", str(data / f"{args.erp}.state")]
            else:
                dropped = forget_erp_links(warehouse_url, args.erp)
                print(f"the {args.erp} sandbox keeps its records in memory only: it starts "
                      f"empty, so the warehouse's {dropped} links to {args.erp} documents "
                      f"were deleted (the next runs post again)")
            procs.append(start(f"{args.erp} ERP sandbox", erp_args,
                               logs / f"{args.erp}-sandbox.log", base_env))
            wait_until(f"http://127.0.0.1:{args.erp_port}/_sandbox/health", procs[-1],
                       timeout=120)
            wait_for_file(erp_file, procs[-1])
            erp_env = read_env_file(erp_file)
        wait_for_file(env_file, procs[0])
        stripe_env = read_env_file(env_file)
        client = stripe.StripeClient(stripe_env["STRIPE_API_KEY"],
                                     base_addresses={"api": stripe_env["STRIPE_API_BASE"]})
        secret = webhook_endpoint(client, f"http://127.0.0.1:{args.webhook_port}/webhooks/stripe")
        hooks_env = {"STRIPE_WEBHOOK_SECRET": secret, "WAREHOUSE_URL": warehouse_url,
                     "DAGSTER_GRAPHQL_URL": f"http://127.0.0.1:{args.port}/graphql"}
        (data / "webhooks.env").write_text(f"STRIPE_WEBHOOK_SECRET={secret}\n")
        print("starting the webhook receiver ...")
        procs.append(start("webhook receiver",
                           [sys.executable, "-m", "webhooks", "--port", str(args.webhook_port)],
                           logs / "webhooks.log", {**base_env, **hooks_env}))
        wait_until(f"http://127.0.0.1:{args.webhook_port}/health", procs[-1], timeout=60)
        first_day = (datetime.now(timezone.utc) - timedelta(days=args.history_days + 1)).date()
        env = {**base_env, **stripe_env, **erp_env, **hooks_env,
               "STRIPE_RATE_LIMIT": "100",  # the sandbox is limited like a live account
               "STRIPE_SYNC_START_DATE": first_day.isoformat(),
               "WAREHOUSE_URL": warehouse_url,
               "WORKBENCH_URL": f"http://127.0.0.1:{args.workbench_port}",
               "DAGSTER_HOME": str(home)}
        print("starting dagster dev ...")
        procs.append(start("dagster dev", [
            str(bindir / "dagster"), "dev", "-w", str(REPO / "workspace.yaml"),
            "-h", "127.0.0.1", "-p", str(args.port)], logs / "dagster.log", env))
        wait_until(f"http://127.0.0.1:{args.port}/server_info", procs[-1], timeout=300)
        ui = f"http://127.0.0.1:{args.port}"
        print("starting the exceptions workbench ...")
        token_file = ensure_token_file(data / "workbench_token")
        wb_log = logs / "workbench.log"
        procs.append(start("exceptions workbench",
                           [sys.executable, "-m", "workbench", "--port", str(args.workbench_port)],
                           wb_log, {**env, "STRIPE_ERP_DATA_DIR": str(data)}))
        wait_until(f"{env['WORKBENCH_URL']}/health", procs[-1], timeout=60)
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
Ctrl-C (or SIGTERM) stops everything; the data stays in {data} for the next
`make demo` (`make clean` to start afresh).""")
        print("PGIDS=" + ",".join(str(c.proc.pid) for c in procs), flush=True)
        if args.exit_when_ready:
            procs = []
            return
        supervise(procs)
    except KeyboardInterrupt:
        pass
    finally:
        stop(procs)


if __name__ == "__main__":
    main()
