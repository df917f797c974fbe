"""Mapping suggestion quality on injected unknown SKUs and customers.

    python bench/bench_suggestions.py [--cases 200] [--seed 16]

Prints, for items and customers apart and together: the share of cases whose right ERP
code is ranked first, and among the first three.  The cases (tests/support/
suggestion_cases.py) are variants of the sandboxes' real catalogue: typos, case, separators,
leading zeros, reordered words, abbreviations, e-mail +tags.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from domain.suggestions import CustomerSuggester, ItemSuggester  # noqa: E402
from tests.support.suggestion_cases import Case, cases, erp_customers, erp_items  # noqa: E402


def rank_all(batch: list[Case]) -> list[tuple[Case, list[str]]]:
    items, mapped = erp_items()
    by_item, by_customer = ItemSuggester(items, mapped), CustomerSuggester(erp_customers())
    out = []
    for c in batch:
        found = (by_item.suggest(c.code, name=c.name) if c.kind == "item"
                 else by_customer.suggest(name=c.name, email=c.email))
        out.append((c, [s.code for s in found]))
    return out


def quality(ranked: list[tuple[Case, list[str]]]) -> tuple[float, float]:
    first = sum(codes[:1] == [c.truth] for c, codes in ranked) / len(ranked)
    top3 = sum(c.truth in codes[:3] for c, codes in ranked) / len(ranked)
    return first, top3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--misses", action="store_true", help="print the cases ranked wrong")
    args = ap.parse_args()
    started = time.perf_counter()
    ranked = rank_all(cases(args.cases, args.seed))
    seconds = time.perf_counter() - started
    for label, part in (("items", [r for r in ranked if r[0].kind == "item"]),
                        ("customers", [r for r in ranked if r[0].kind == "customer"]),
                        ("all", ranked)):
        first, top3 = quality(part)
        print(f"{label:10s} cases {len(part):4d}  right first {first:6.1%}  in top 3 {top3:6.1%}")
    print(f"ranked {len(ranked)} cases in {seconds:.2f} s "
          f"({seconds / len(ranked) * 1000:.1f} ms per dead letter)")
    if args.misses:
        for c, codes in ranked:
            if codes[:1] != [c.truth]:
                print("miss", c, codes)


if __name__ == "__main__":
    main()
