"""Benchmark: generate and load a Stripe sandbox history of N balance transactions.

    python bench/bench_stripe_generate.py [--bts 1000000] [--days 90] [--db PATH]

Prints wall time, balance transactions per second and stored rows per second
(objects + events), plus the CPU split between the generator (its main
thread) and the SQLite writer process, and the load average before and
after: the two processes need both cores, so other work on the machine shows
up in the wall time but hardly in the CPU times.  Target: 1,000,000 balance
transactions in under 120 s on the 2-core dev machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.stripe import Engine, Store  # noqa: E402
from sandbox.stripe.generator import generate, scale_for_bts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--bts", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", default=None, help="SQLite file (default: a temp file)")
    args = parser.parse_args()
    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="stripe-bench-")
        args.db = os.path.join(tmp.name, "bench.db")
    scale = scale_for_bts(args.bts, args.days)
    engine = Engine(Store(args.db), seed=args.seed)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    main_thread = resource.getrusage(resource.RUSAGE_THREAD)
    summary = generate(engine, history_days=args.days, scale=scale, seed=args.seed)
    elapsed = time.perf_counter() - started
    main_after = resource.getrusage(resource.RUSAGE_THREAD)
    main_cpu = (main_after.ru_utime + main_after.ru_stime) - (
        main_thread.ru_utime + main_thread.ru_stime
    )
    objects = summary["objects"]
    bts = objects.get("balance_transaction", 0)
    rows = sum(objects.values())
    me, child = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    print(
        f"days={args.days} scale={scale:.3f} seconds={elapsed:.1f} "
        f"balance_transactions={bts} bts/s={bts / elapsed:,.0f} rows={rows} "
        f"rows/s={rows / elapsed:,.0f} db_mb={os.path.getsize(args.db) / 1e6:,.0f}"
    )
    print(f"phases (cumulative s): {summary['phases']}")
    print(
        f"cpu generator={me.ru_utime + me.ru_stime:.1f}s (main thread {main_cpu:.1f}) "
        f"(user {me.ru_utime:.1f} sys {me.ru_stime:.1f}) "
        f"writer={child.ru_utime + child.ru_stime:.1f}s "
        f"(user {child.ru_utime:.1f} sys {child.ru_stime:.1f}); "
        f"minor faults generator={me.ru_minflt:,} writer={child.ru_minflt:,}"
    )
    print(f"load average (1 min) before={load_before:.2f} after={os.getloadavg()[0]:.2f}")
    print(objects)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
