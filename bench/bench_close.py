"""Benchmark: the month-end close over a month of 1,000,000 balance transactions.

Synthetic, deterministic data shaped like Stripe's is written to a SQLite warehouse: one
month of balance transactions in USD, EUR and GBP (and the next day's, 1/30 more) (charges with fees, refunds, one payout per
currency per day arriving two days later, so the last two days' payouts are in transit at the
month end), 20,000 invoices with their status transitions (some open at the month end) and a
few open dead letters.  The ERP's trial balance is built in memory from the same activity as
accrual postings would leave it (clearing = Stripe's balance, cash in transit = the payouts in
transit), with one stray journal of EUR 12.34 into clearing that the close must find.

Timed, as ``close/trial_balance`` runs it (assets/close.py): the warehouse reads
(warehouse/close_reads.py: balance per currency, posting-day cut-off, payouts in transit, open
invoices, dead letters), the computation (domain/close.py) and the report
(domain/close_report.py); twice: reporting timezone UTC, and America/New_York (five hours of
cut-off items).  Not timed: reading the ERP's trial balance and AR sub-ledger, which is the
ERP's API cost (one /trialbalance read in TIMS; bench_erp_posting.py measures ledger reads).
Target: under 10 s.

    .venv/bin/python bench/bench_close.py [--transactions 1000000]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from assets.close import period_bounds  # noqa: E402
from domain.close import CloseAccounts, compute_close  # noqa: E402
from domain.close_report import figures, markdown  # noqa: E402
from warehouse.close_reads import (cutoff_transactions, open_dead_letters,  # noqa: E402
                                   payouts_in_transit, stripe_balance, stripe_open_invoices,
                                   stripe_tax_collected)
from warehouse.db import make_engine  # noqa: E402
from warehouse.migrate import upgrade  # noqa: E402

MONTH = date(2026, 11, 1)
START = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())
END = int(datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp())
ACCOUNTS = CloseAccounts(clearing="1250", receivable="1200", in_transit="1260")
CURRENCIES = (("usd", 0.80), ("eur", 0.15), ("gbp", 0.05))
STRAY = ("EUR", 1234)


def sql_ts(epoch: int) -> str:
    """SQLAlchemy's SQLite storage format for a UTC timestamp."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def build(engine: sa.Engine, n: int, seed: int) -> dict[tuple[str, str], int]:
    """Write the month to the warehouse; return the ERP's trial balance at the month end."""
    rng = random.Random(seed)
    step = (END - START) / n
    total = n + n // 30                     # and the next day's activity (the cut-off)
    synced = sql_ts(END)
    bts, payouts = [], []
    pending: Counter[str] = Counter()        # per currency, since the last payout
    day_end = START + 86_400
    for i in range(total):
        created = START + int(i * step)
        while created >= day_end:           # each day's payouts, one per currency
            for cur, _ in CURRENCIES:
                if pending[cur] > 0:
                    pid = f"po_{day_end}_{cur}"
                    bts.append((f"txn_{pid}", day_end - 1, -pending[cur], 0, -pending[cur], cur,
                                "payout", "payout", pid))
                    payouts.append((pid, day_end - 1, pending[cur], cur, day_end + 2 * 86_400,
                                    f"txn_{pid}"))
                    pending[cur] = 0
            day_end += 86_400
        cur = rng.choices([c for c, _ in CURRENCIES], [w for _, w in CURRENCIES])[0]
        if rng.random() < 0.95:
            amount = rng.randint(500, 50_000)
            fee = amount * 29 // 1000 + 30
            row = (f"txn_{i:08d}", created, amount, fee, amount - fee, cur, "charge", "charge",
                   f"ch_{i:08d}")
        else:
            amount = -rng.randint(500, 20_000)
            row = (f"txn_{i:08d}", created, amount, 0, amount, cur, "refund", "refund",
                   f"re_{i:08d}")
        bts.append(row)
        pending[cur] += row[4]
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO stripe_balance_transactions (id, created, livemode, amount, fee, net, "
            "currency, type, reporting_category, source_id, raw, _version, _hash, _synced_at) "
            "VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, '{}', 1, 'h', ?)",
            [(b[0], sql_ts(b[1]), *b[2:], synced) for b in bts])
        conn.exec_driver_sql(
            "INSERT INTO stripe_payouts (id, created, livemode, amount, currency, arrival_date, "
            "automatic, status, balance_transaction_id, raw, _version, _hash, _synced_at) "
            "VALUES (?, ?, 0, ?, ?, ?, 1, 'paid', ?, '{}', 1, 'h', ?)",
            [(p[0], sql_ts(p[1]), p[2], p[3], sql_ts(p[4]), p[5], synced) for p in payouts])
        invoices = []
        for k in range(20_000):
            finalized = START + rng.randint(0, END - START - 1)
            paid = finalized + rng.randint(0, 20 * 86_400) if rng.random() < 0.9 else None
            cur = rng.choice(CURRENCIES)[0]
            raw = {"currency": cur, "total": rng.randint(1_000, 90_000), "status_transitions": {
                "finalized_at": finalized, "paid_at": paid, "voided_at": None,
                "marked_uncollectible_at": None}}
            invoices.append((f"in_{k:06d}", sql_ts(finalized), cur, "paid" if paid else "open",
                             raw["total"], json.dumps(raw), synced))
        conn.exec_driver_sql(
            "INSERT INTO stripe_invoices (id, created, livemode, currency, status, total, raw, "
            "_version, _hash, _synced_at) VALUES (?, ?, 0, ?, ?, ?, ?, 1, 'h', ?)", invoices)
        conn.exec_driver_sql(
            "INSERT INTO erp_dead_letters (erp, kind, external_id, source_id, source_day, "
            "error_type, error_message, payload, attempts, first_failed_at, last_failed_at) "
            "VALUES ('tims', 'payment', ?, ?, '2026-11-20', 'ErpValidationError', "
            "'customer not found', '{}', 1, ?, ?)",
            [(f"ch_dead_{k}", f"ch_dead_{k}", synced, synced) for k in range(5)])
    # the ERP's trial balance as accrual postings leave it, plus one stray journal
    tb: Counter[tuple[str, str]] = Counter()
    for b in bts:
        if b[1] < END:                       # the ERP's November: UTC posting days
            tb[("1250", b[5].upper())] += b[4]
    for p in payouts:
        if p[4] >= END:                      # in transit at the month end
            tb[("1260", p[3].upper())] += p[2]
    tb[("1250", STRAY[0])] += STRAY[1]
    return dict(tb)


def close_once(engine: sa.Engine, tb: dict, tz: str) -> tuple[dict[str, float], object, str]:
    window_end = datetime(2026, 12, 1, tzinfo=ZoneInfo(tz))
    period_end, stripe_cut, erp_cut = period_bounds(window_end)
    steps: dict[str, float] = {}
    t = time.perf_counter()
    with engine.connect() as conn:
        balance = stripe_balance(conn, stripe_cut)
        steps["balance"] = time.perf_counter() - t
        cutoff = cutoff_transactions(conn, stripe_cut, erp_cut)
        transit = payouts_in_transit(conn, erp_cut)
        open_invoices = stripe_open_invoices(conn, stripe_cut)
        tax = stripe_tax_collected(conn, stripe_cut)
        dead = open_dead_letters(conn, "tims", period_end)
    steps["reads"] = time.perf_counter() - t
    result = compute_close(period_end=period_end, at=stripe_cut - 1, accounts=ACCOUNTS,
                           trial_balance=tb, stripe_balance=balance, ar_subledger={},
                           stripe_open_invoices=open_invoices, payouts_in_transit=transit,
                           cutoff=cutoff, stripe_tax=tax)
    report = markdown(result, erp="tims", timezone=tz,
                      accounts={"clearing": "1250", "receivable": "1200", "in_transit": "1260"},
                      dead_letters=dead)
    meta = figures(result)
    steps["total"] = time.perf_counter() - t
    steps["cutoff_items"] = len(cutoff)
    return steps, result, meta["currencies_off"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'warehouse.db'}")
        upgrade(engine)
        t = time.perf_counter()
        tb = build(engine, args.transactions, args.seed)
        print(f"built {args.transactions:,} balance transactions in "
              f"{time.perf_counter() - t:.1f}s (not timed)")
        worst = 0.0
        for tz in ("UTC", "America/New_York"):
            steps, result, off = close_once(engine, tb, tz)
            worst = max(worst, steps["total"])
            figures_line = ", ".join(
                f"{c.currency} unexplained {c.unexplained_minor} in transit "
                f"{c.in_transit_stripe_minor} explained {c.explained_minor}"
                for c in result.currencies.values())
            print(f"close {MONTH:%Y-%m} ({tz}): {steps['total']:.2f}s "
                  f"(Stripe balance query {steps['balance']:.2f}s, all warehouse reads "
                  f"{steps['reads']:.2f}s, {steps['cutoff_items']:,} cut-off items); "
                  f"unexplained {result.unexplained_minor} minor units, off: {off}")
            print(f"    {figures_line}")
            assert off == STRAY[0] and result.currencies[STRAY[0]].unexplained_minor == STRAY[1]
        print(f"target < 10 s: {'met' if worst < 10 else 'MISSED'} (worst {worst:.2f}s)")
        engine.dispose()


if __name__ == "__main__":
    main()
