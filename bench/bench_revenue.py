"""Benchmark: revenue schedules for 1,000,000 invoice lines and a month's recognition journal.

Synthetic, deterministic lines shaped like a year of Stripe subscription invoices (monthly,
quarterly and annual plans, negative prorations, one-off lines without a period; USD, EUR, GBP,
JPY, KWD), as a frame of the columns a warehouse read gives (times in Unix seconds), plus credit
notes, refunds and voids on about 1.2 % of the lines.  Timed: building the ledger (every line's
schedule and every adjustment), the per-month schedule table (what journals, the waterfall and the
blocking check read), and the June recognition journal per currency; then, reported separately,
the blocking check at the June month end and the waterfall.  The journal timed is both the
recognition journal and the one erp/revenue_recognition posts (deferral of what June billed plus
recognition, ``domain.revenue.month_close.month_entries``).  Target: schedules + journal < 30 s.

    .venv/bin/python bench/bench_revenue.py [--lines 1000000] [--seed 7]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from domain.revenue.adjustments import Adjustment  # noqa: E402
from domain.revenue.journals import invariant_violations, recognition_journal  # noqa: E402
from domain.revenue.ledger import build_ledger  # noqa: E402
from domain.revenue.month_close import month_entries  # noqa: E402
from domain.revenue.schedules import month_end_day, month_number  # noqa: E402
from domain.revenue.waterfall import deferred_balances, waterfall  # noqa: E402

DAY = 86400
YEAR_START = 1_767_225_600                     # 2026-01-01T00:00:00Z
CURRENCIES = np.array(["usd", "eur", "gbp", "jpy", "kwd"])
SCALE = np.array([1, 1, 1, 1, 10])             # KWD amounts end in 0 on Stripe


def synthetic_lines(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    kind = rng.choice(4, size=n, p=[0.72, 0.05, 0.13, 0.10])   # month, quarter, year, one-off
    start = YEAR_START + rng.integers(0, 365, n) * DAY + rng.integers(0, 24, n) * 3600
    months = np.choose(kind, [1, 3, 12, 0])
    end = (start.astype("datetime64[s]").astype("datetime64[D]").astype("datetime64[M]")
           + months).astype("datetime64[D]").astype("int64") * DAY + start % DAY
    end = np.where(kind == 3, start, end)
    currency = rng.integers(0, len(CURRENCIES), n)
    amount = rng.integers(100, 500_000, n) * SCALE[currency]
    proration = (rng.random(n) < 0.03) & (kind < 3)
    amount = np.where(proration, -amount // 3 // SCALE[currency] * SCALE[currency], amount)
    shifted = start + rng.integers(1, 20, n) * DAY
    start = np.where(proration & (shifted < end - DAY), shifted, start)
    booked = np.where(proration, start + rng.integers(0, 10, n) * DAY, start)
    ids = np.char.add("il_", np.arange(n).astype(str))
    return pd.DataFrame({
        "id": ids, "invoice_id": np.char.add("in_", (np.arange(n) // 3).astype(str)),
        "currency": CURRENCIES[currency], "amount": amount, "period_start": start,
        "period_end": end, "booked_at": booked,
        "revenue_key": np.char.add("prod_", (np.arange(n) % 40).astype(str))})


def synthetic_adjustments(lines: pd.DataFrame, seed: int) -> list[Adjustment]:
    rng = np.random.default_rng(seed + 1)
    n = len(lines)
    chosen = rng.choice(n, size=n // 80, replace=False)
    out = []
    for i in chosen:
        row = lines.iloc[i]
        when = int(row["booked_at"]) + int(rng.integers(0, 200)) * DAY
        pick = rng.random()
        if pick < 0.2:
            out.append(Adjustment(f"void:{row['id']}", row["id"], "void", when))
        else:
            scale = 10 if row["currency"] == "kwd" else 1
            amount = int(row["amount"]) // scale * int(rng.integers(1, 100)) // 100 * scale
            kind = "refund" if pick < 0.5 else "credit_note"
            out.append(Adjustment(f"{kind}:{row['id']}", row["id"], kind, when, amount))
    return out


def account(key: str, kind: str) -> str:
    return f"4000-{key}" if kind == "recognition" else f"4900-{kind}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    t = time.perf_counter()
    lines = synthetic_lines(args.lines, args.seed)
    adjustments = synthetic_adjustments(lines, args.seed)
    print(f"data: {len(lines):,} lines, {len(adjustments):,} adjustments "
          f"({time.perf_counter() - t:.1f} s to generate, not timed)")

    t0 = time.perf_counter()
    ledger = build_ledger(lines, adjustments, time_unit="s")
    t1 = time.perf_counter()
    table = ledger.months
    t2 = time.perf_counter()
    journal = recognition_journal(ledger, "2026-06", account, "2450")
    t3a = time.perf_counter()
    posted = month_entries(ledger, "2026-06", account, "4000", "2450")   # what the ERP gets
    t3 = time.perf_counter()
    violations = invariant_violations(ledger, month_end_day(month_number("2026-06")))
    t4 = time.perf_counter()
    report = waterfall(ledger, "2026-12")
    deferred = deferred_balances(ledger, ["2026-%02d" % m for m in range(1, 13)])
    t5 = time.perf_counter()

    print(f"ledger (schedules + adjustments): {t1 - t0:.2f} s; {len(ledger.segments['line']):,} "
          f"segments, {len(ledger.problems)} problems")
    print(f"per-month schedule table: {t2 - t1:.2f} s; {len(table):,} rows")
    print(f"June recognition journal: {t3a - t2:.2f} s; "
          + ", ".join(f"{e.currency} {len(e.lines)} lines" for e in journal))
    print(f"June ERP journal (deferral + recognition, erp/revenue_recognition): {t3 - t3a:.2f} s; "
          + ", ".join(f"{e.currency} {len(e.lines)} lines" for e in posted))
    print(f"SCHEDULES + JOURNAL: {t3 - t0:.2f} s (target < 30 s)")
    print(f"blocking check at 2026-06-30: {t4 - t3:.2f} s, {len(violations)} violations")
    print(f"waterfall 2026 + 12 month-end deferred balances: {t5 - t4:.2f} s; "
          f"{len(report)} rows, deferred at 2026-12-31: "
          + ", ".join(f"{r.currency} {r.deferred:,}" for r in
                      deferred[deferred["month"] == "2026-12"].itertuples()))


if __name__ == "__main__":
    main()
