"""Deterministic, realistic Stripe history (and live activity) for the sandbox.

``generate(engine, history_days, scale, seed)`` replays ``history_days`` of a
small e-commerce + SaaS business ending at the engine's "now" through the
engine's own business functions (the ones the API handlers call), so history
obeys exactly the rules live traffic does.  Bulk mode only changes
bookkeeping (see ``engine.py``): events older than Stripe's 30-day retention
are not stored, balance transactions are written directly in their state as
of now, and changed objects are handed every ``FLUSH_OBJECTS`` objects to the
store's writer process (``Store.start_async``), which applies them in large
transactions on the other core.

Volume: ``scale=1.0`` over 90 days ≈ 28,500 balance transactions; BT count
grows linearly with scale and days.

CLI: ``python -m sandbox.stripe.generator --bts 1000000 --db /tmp/s.db``.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import random
import time
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from . import accrual, profiles, subscription_history
from .clock import DAY, midnight
from .ledger import save_unswept
# ``_World`` and ``localize`` are also imported from here by accrual.py and
# subscription_history.py.
from .history_world import World as _World, localize  # noqa: F401

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]

# BTs per simulated day at scale 1.0 (payments dominate; see module docstring).
PAYMENTS_PER_DAY = 290
CUSTOMERS = 3000
SUBSCRIBERS = 600
BTS_PER_SCALE_DAY = 317.0
# Write changed objects every ~this many (not once per simulated day): small
# batches are rendered, sent and freed while still in the CPU cache (measured
# at 1M BTs: per-day batches of ~100 MB made every pass run at DRAM speed).
FLUSH_OBJECTS = 100

def scale_for_bts(bts: int, history_days: int) -> float:
    return bts / (BTS_PER_SCALE_DAY * history_days)


def generate(
    engine: Engine,
    history_days: int = 90,
    scale: float = 1.0,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    end: int | None = None,
    bulk: bool = True,
    profile: str | None = None,
) -> dict[str, Any]:
    """Build a seeded history ending at ``end`` (default: ``engine.now()``).

    Same engine seed, generator seed and ``end`` give byte-identical data.
    ``bulk=False`` replays the same history through the live path instead
    (clock pinned to each step, every event stored, BTs flipped to available
    by the daily job, synchronous writes); tests use it to prove the bulk
    shortcuts change nothing.  Holds the engine lock throughout (the API
    waits), so the history is generated atomically with respect to live
    traffic.  Returns a summary.
    """
    e = engine
    store = e.store
    started = time.perf_counter()
    phases: dict[str, float] = {}
    with e.lock:
        if profile is not None:
            profiles.apply(e, profile)
        e.run_due(e.now())
        e.flush()
        end = e.now() if end is None else end
        start = midnight(end - history_days * DAY)
        world = _World(e, seed, scale)
        if bulk:
            e.bulk, e.horizon = True, end
            store.bulk(True)
            store.start_async()
        # Millions of long-lived dicts and no reference cycles: the cyclic GC
        # would only rescan them over and over (it cost ~30% at 1M BTs).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            e.unschedule("daily", "")
            e.schedule(start + DAY, "daily", "")
            _simulate(world, start, end, progress, replay=not bulk)
            phases["simulate"] = time.perf_counter() - started
        finally:
            if gc_was_enabled:
                gc.enable()
            e.clock.pinned = None
            e.flush()
            if bulk:
                store.stop_async()
                phases["writer_drain"] = time.perf_counter() - started
                store.bulk(False)
                save_unswept(e)
                e.bulk = False
            e._save_state()
        e.run_due(e.now())
        e.flush()
    counts = dict(store.query("SELECT object, COUNT(*) FROM objects GROUP BY object"))
    counts["event"] = store.query("SELECT COUNT(*) FROM events")[0][0]
    return {
        "start": start,
        "end": end,
        "seconds": round(time.perf_counter() - started, 3),
        "phases": {k: round(v, 3) for k, v in phases.items()},
        "objects": counts,
    }


def _simulate(
    w: _World, start: int, end: int, progress: Callable[[int], None] | None, replay: bool
) -> None:
    e, rng, scale = w.e, w.rng, w.scale
    w.build_catalog(start)
    if e.profile == "accrual":
        accrual.plan(w, start, end)
    elif e.profile == "subscriptions":
        subscription_history.plan(w, start, end)
    days = (end - start + DAY - 1) // DAY
    n_customers = max(5, int(CUSTOMERS * scale))
    for t in sorted(start + rng.randrange(3 * DAY) for _ in range(max(3, n_customers // 10))):
        w.new_customer(t)
    n_subs = max(2, int(SUBSCRIBERS * scale))
    for day in range(days):
        d0 = start + day * DAY
        weekend = time.gmtime(d0).tm_wday >= 5
        volume = PAYMENTS_PER_DAY * scale * (0.8 if weekend else 1.08)
        plan: list[tuple[int, int]] = []
        plan += [(d0 + _daytime(rng), 0) for _ in range(_count(volume, rng))]
        plan += [(d0 + _daytime(rng), 1) for _ in range(_count(n_customers * 0.9 / days, rng))]
        share = 0.4 / 7 if day < 7 else 0.6 / max(1, days - 7)
        plan += [(d0 + _daytime(rng), 2) for _ in range(_count(n_subs * share, rng))]
        plan.sort()
        for t, kind in plan:
            if t >= end:
                break
            _due(w, t, replay)
            if kind == 0:
                w.payment(t)
            elif kind == 1:
                w.new_customer(t)
            else:
                w.subscribe(t)
            if len(e._dirty) >= FLUSH_OBJECTS:
                e.flush()
        _due(w, min(d0 + DAY - 1, end), replay)
        e.flush()
        if progress is not None:
            progress(day)


def _due(w: _World, t: int, replay: bool) -> None:
    """Run engine jobs and generator follow-ups up to ``t`` in time order."""
    e, followups = w.e, w.followups
    while followups and followups[0][0] <= t:
        ft, _, kind, payload = heapq.heappop(followups)
        if replay:
            e.clock.pinned = ft
        e.run_due(ft)
        w.run_followup(ft, kind, payload)
    if replay:
        e.clock.pinned = t
    e.run_due(t)


def _daytime(rng: random.Random) -> int:
    """Seconds into a UTC day, busier in the (European/US) afternoon."""
    return min(DAY - 1, max(0, int(rng.gauss(15.5 * 3600, 4.5 * 3600))))


def _count(mean: float, rng: random.Random) -> int:
    base = int(mean)
    return base + (1 if rng.random() < mean - base else 0)


def live_activity(e: Engine, n: int, t: int) -> int:
    """``n`` live actions at ``t`` (mostly payments, some refunds and sign-ups).

    The first call adopts the catalog and recent customers already in the
    store (e.g. a generated history), or creates a small catalog.
    """
    w = e.live_world
    if w is None:
        w = e.live_world = _World(e, e.seed + 99, 1.0)
        w.adopt(t)
    for _ in range(n):
        draw = w.rng.random()
        if draw < 0.85:
            w.payment(t)
        elif draw < 0.93 and w.recent_charges:
            ch = w.recent_charges[w.rng.randrange(len(w.recent_charges))]
            w.run_followup(t, "refund", (e.load(ch["id"], "charge"), None))
        elif draw < 0.97:
            w.new_customer(t)
        else:
            w.subscribe(t)
    return n


def main(argv: list[str] | None = None) -> None:
    from .engine import Engine
    from .store import Store

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="/tmp/stripe_sandbox_gen.db")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--bts", type=int, default=None, help="target balance transactions")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import os

    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(args.db + suffix):
            os.remove(args.db + suffix)
    scale = args.scale if args.scale is not None else scale_for_bts(args.bts or 30_000, args.days)
    engine = Engine(Store(args.db), seed=args.seed)
    summary = generate(engine, history_days=args.days, scale=scale, seed=args.seed)
    bts = summary["objects"].get("balance_transaction", 0)
    print(
        f"scale={scale:.3f} seconds={summary['seconds']} balance_transactions={bts} "
        f"rows/s={sum(summary['objects'].values()) / summary['seconds']:.0f}"
    )
    print(summary["objects"])


if __name__ == "__main__":
    main()
