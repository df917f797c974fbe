"""Anomaly detection on cases injected into the Stripe sandbox: precision and recall.

    python bench/bench_anomalies.py [--days 14] [--scale small]

Generates a Stripe history, injects card-testing bursts, refund abuse and mislabelled SKUs
through the sandbox's API (tests/support/anomaly_cases.py), mirrors everything, scores every
charge, refund and dispute of the history (warehouse/anomalies.py) and compares the flagged
objects with the injected ones.  Everything not injected counts as normal, so a flag on an
ordinary object of the generated history is a false positive.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from connectors.stripe import StripeApi  # noqa: E402
from tests.sandbox.fixtures import start_stripe_sandbox  # noqa: E402
from tests.support.anomaly_cases import inject  # noqa: E402
from warehouse.anomalies import score_window  # noqa: E402
from warehouse.db import make_engine  # noqa: E402
from warehouse.migrate import upgrade  # noqa: E402
from warehouse.stripe_sync import sync_window  # noqa: E402

TARGETS = ["customers", "products", "prices", "charges", "refunds", "disputes",
           "balance_transactions"]


def measure(base: str, key: str, db: Path, seed: int = 5) -> dict:
    truth = inject(base, key, seed=seed)
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    sync_window(StripeApi(key, base, rate_limit=10_000), engine, TARGETS, None, None)
    started = time.perf_counter()
    scores = score_window(engine, 0, 2 ** 31, lookback_days=0)
    seconds = time.perf_counter() - started
    flagged = {s.id for s in scores if s.flagged}
    hits = flagged & truth.all
    engine.dispose()
    return {"scored": len(scores), "injected": len(truth.all), "flagged": len(flagged),
            "precision": len(hits) / len(flagged) if flagged else 0.0,
            "recall": len(hits) / len(truth.all),
            "recall_by_case": {name: len(getattr(truth, name) & flagged) / len(getattr(truth, name))
                               for name in ("card_testing", "refund_abuse", "mislabelled")},
            "false_positives": [(s.object_type, s.id, s.score, s.reasons) for s in scores
                                if s.flagged and s.id not in truth.all][:10],
            "missed": [(s.object_type, s.id, s.score, s.reasons) for s in scores
                       if not s.flagged and s.id in truth.all][:10],
            "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--scale", default="small")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-anomalies-"))
    sb = start_stripe_sandbox(work, history_days=args.days, scale=args.scale, seed=args.seed,
                              timeout=600)
    try:
        r = measure(sb.base_url, sb.api_key, work / "warehouse.db", args.seed)
    finally:
        sb.stop()
    print(f"history {args.days} days at scale {args.scale}: scored {r['scored']:,} charges, "
          f"refunds and disputes in {r['seconds']:.2f} s; injected {r['injected']}, "
          f"flagged {r['flagged']}")
    print(f"precision {r['precision']:.3f}  recall {r['recall']:.3f}  (by case: "
          + ", ".join(f"{k} {v:.2f}" for k, v in r["recall_by_case"].items()) + ")")
    for fp in r["false_positives"]:
        print("  false positive", fp)
    for miss in r["missed"]:
        print("  missed", miss)


if __name__ == "__main__":
    main()
