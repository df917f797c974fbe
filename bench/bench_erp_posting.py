"""Benchmark: documents posted per second into each ERP sandbox, and ERP calls per document.

Mirrors a generated Stripe history (``--days``, ``--scale``) into a SQLite
warehouse once, then, for each ERP (``--erp tims,infor,epicor``), starts its
sandbox and posts the whole history through the product's posting path
(``posting.run.post_window``: link table, find-then-create, batches, and on Epicor the
posting of every group through its posting services with the read-back check).  Where the
ERP produces documents itself later (M3: invoices come from its invoicing job), the run
leaves them waiting; the ERP's job then runs (not timed: it is the ERP's work) and the
pickup run (``posting.run.resume_waiting``, what ``erp_waiting_sensor`` launches) posts
them: both runs count.  Targets: >= 200 documents/s per sandbox, <= 0.5 ERP calls per
document.  For adapters that read the general ledger it then reads the trial balance and
every GL line back (calls and seconds printed separately: reading is not posting).

    .venv/bin/python bench/bench_erp_posting.py [--days 14] [--scale 1] [--erp tims,infor,epicor]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from connectors.erp import ErpAdapter  # noqa: E402
from connectors.stripe import StripeApi  # noqa: E402
from domain.mapping import load_mapping  # noqa: E402
from posting.run import post_window, resume_waiting  # noqa: E402
from tests.erp.conftest import start_erp_sandbox  # noqa: E402
from tests.sandbox.fixtures import start_stripe_sandbox  # noqa: E402
from warehouse.db import make_engine  # noqa: E402
from warehouse.migrate import upgrade  # noqa: E402
from warehouse.stripe_sync import TABLES, sync_window  # noqa: E402


TARGET_CALLS = 0.5
# Epicor's posting services (and their parameter defaults): the calls the posting step adds
POSTING_STEPS = ("PostSvc/", "PostGroupJournals")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--scale", default="1")
    p.add_argument("--erp", default="tims,infor,epicor")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-erp-"))
    sb = start_stripe_sandbox(work, history_days=args.days, scale=args.scale, seed=11, timeout=600)
    try:
        base = work / "mirror.db"
        engine = make_engine(f"sqlite:///{base}")
        upgrade(engine)
        clock = sb.control("GET", "health")["clock"]
        sync_window(StripeApi(sb.api_key, sb.base_url, rate_limit=10_000), engine, list(TABLES),
                    None, clock + 1)
        engine.dispose()
    finally:
        sb.stop()
    mapping = load_mapping()
    print(f"Stripe history: {args.days} days at scale {args.scale}, mirrored")
    for kind in args.erp.split(","):
        db = work / f"{kind}.db"
        shutil.copy(base, db)
        engine = make_engine(f"sqlite:///{db}")
        erp = start_erp_sandbox(kind, work)
        try:
            adapter = erp.adapter()
            adapter.health()
            started, calls = time.monotonic(), adapter.calls
            report = post_window(adapter, engine, mapping, None, None)
            seconds = time.monotonic() - started
            waited = report.waiting
            if waited:                     # the ERP's own job (not timed), then the pickup run
                erp.run_jobs()
                started = time.monotonic()
                pickup = resume_waiting(adapter, engine, mapping)
                seconds += time.monotonic() - started
                for k, r in pickup.kinds.items():
                    report.kinds[k].created += r.created
                    report.kinds[k].found += r.found
                    report.kinds[k].dead += r.dead
                    report.kinds[k].waiting = r.waiting
            docs = report.posted + report.dead
            used = adapter.calls - calls
            per_kind = ", ".join(f"{k.value} {r.created + r.found}" for k, r in
                                 report.kinds.items())
            print(f"{kind:7s} {docs:,} documents in {seconds:.1f}s -> {docs / seconds:,.0f} docs/s; "
                  f"{used:,} ERP calls -> {used / docs:.3f} calls/document "
                  f"({'within' if used / docs <= TARGET_CALLS else 'OVER'} the {TARGET_CALLS} "
                  f"target); dead-lettered {report.dead}, still waiting {report.waiting}"
                  + (f" ({waited:,} waited for the ERP's job)" if waited else "")
                  + f" ({per_kind})")
            by_path = erp.control("GET", "stats")["by_path"]
            posting = {p: n for p, n in by_path.items() if any(w in p for w in POSTING_STEPS)}
            if posting:
                print(f"        posting steps: {sum(posting.values()):,} calls "
                      f"({', '.join(f'{p} {n}' for p, n in sorted(posting.items()))})")
            if type(adapter).gl_lines is not ErpAdapter.gl_lines:
                started, calls = time.monotonic(), adapter.calls
                lines = adapter.gl_lines(None, date(9999, 12, 31))
                balances = adapter.trial_balance(date(9999, 12, 31))
                print(f"{'':7s} ledger read: {len(lines):,} GL lines and {len(balances)} "
                      f"trial-balance rows in {time.monotonic() - started:.1f}s, "
                      f"{adapter.calls - calls} ERP calls")
        finally:
            erp.proc.stop()
            engine.dispose()


if __name__ == "__main__":
    main()
