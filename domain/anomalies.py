"""Anomaly scores for charges, refunds and disputes: rules a reviewer can read, plus an
IsolationForest (scikit-learn) over the same features for what no rule names.

Features, from the Stripe objects alone (local, no outside service):

* charges: amount against the customer's own history (and the shop's per currency), the
  Stripe fee ratio, Stripe Radar's ``outcome.risk_score``, velocity (the customer's charges
  within 10 minutes) and declines within an hour, card country against the
  customer's country, currency against the customer's usual currency, and the SKU in the
  metadata against the catalogue (a SKU the catalogue lacks, or an amount that is not a
  whole number of that SKU's unit price: a mislabelled SKU);
* refunds: how soon after the charge, the share of the charge refunded, and the customer's
  refunds (count and share of their charges) over the history given;
* disputes: reason, and the customer's disputes.

The score is ``1 - prod(1 - w)`` over the rules that fire (weights below, each with its
reason), plus up to ``ISOLATION_WEIGHT`` from the IsolationForest's outlier score, capped at
1.  An object is flagged for review at ``FLAG_AT`` or above: the forest alone cannot flag,
it ranks.  Pure: no I/O, no Dagster.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from statistics import median
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest

FLAG_AT = 0.6
ISOLATION_WEIGHT = 0.15
# Stripe Radar's risk levels: elevated from 65, highest from 75 (risk_score 0..99).
RISK_ELEVATED, RISK_HIGHEST = 65, 75
VELOCITY_WINDOW, DECLINE_WINDOW = 600, 3600
Obj = dict[str, Any]


@dataclass
class Score:
    object_type: str                 # charge | refund | dispute
    id: str
    customer: str | None
    created: int
    amount: int
    currency: str
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    features: list[float] = field(default_factory=list, repr=False)

    @property
    def flagged(self) -> bool:
        return self.score >= FLAG_AT


def _ref(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


def _combine(weights: Iterable[float]) -> float:
    keep = 1.0
    for w in weights:
        keep *= 1 - w
    return 1 - keep


class _Rules:
    def __init__(self) -> None:
        self.fired: list[tuple[float, str]] = []

    def add(self, when: bool, weight: float, reason: str) -> None:
        if when:
            self.fired.append((weight, reason))


def _mode(values: Iterable[str]) -> str | None:
    counts: dict[str, int] = defaultdict(int)
    for v in values:
        counts[v] += 1
    return max(counts, key=lambda k: (counts[k], k)) if counts else None


class AnomalyScorer:
    """Scores objects against the history they are given (their own window and before)."""

    def __init__(self, charges: Iterable[Obj], refunds: Iterable[Obj] = (),
                 disputes: Iterable[Obj] = (), customers: Mapping[str, Obj] | None = None,
                 unit_prices: Mapping[tuple[str, str], int] | None = None,
                 fees: Mapping[str, int] | None = None) -> None:
        self.charges = sorted(charges, key=lambda c: (c["created"], c["id"]))
        self.by_id = {c["id"]: c for c in self.charges}
        self.refunds = sorted(refunds, key=lambda r: (r["created"], r["id"]))
        self.disputes = list(disputes)
        self.customers = dict(customers or {})
        self.unit_prices = dict(unit_prices or {})
        self.skus = {sku for sku, _ in self.unit_prices}
        self.fees = dict(fees or {})
        self.of_customer: dict[str | None, list[Obj]] = defaultdict(list)
        for c in self.charges:
            self.of_customer[_ref(c.get("customer"))].append(c)
        self.refunds_of: dict[str | None, list[Obj]] = defaultdict(list)
        for r in self.refunds:
            charge = self.by_id.get(_ref(r.get("charge")) or "")
            self.refunds_of[_ref((charge or {}).get("customer"))].append(r)
        self.disputes_of: dict[str | None, int] = defaultdict(int)
        for d in self.disputes:
            charge = self.by_id.get(_ref(d.get("charge")) or "")
            self.disputes_of[_ref((charge or {}).get("customer"))] += 1
        amounts: dict[str, list[int]] = defaultdict(list)
        for c in self.charges:
            amounts[c["currency"]].append(int(c["amount"]))
        self.shop_median = {cur: median(v) for cur, v in amounts.items()}

    # ------------------------------------------------------------------ charges
    def _charge(self, c: Obj) -> Score:
        cid = _ref(c.get("customer"))
        amount, cur, t = int(c["amount"]), c["currency"], int(c["created"])
        s = Score("charge", c["id"], cid, t, amount, cur)
        rules = _Rules()
        mine = self.of_customer.get(cid, []) if cid else [c]
        recent = [x for x in mine if abs(x["created"] - t) <= VELOCITY_WINDOW]
        declines = [x for x in mine if abs(x["created"] - t) <= DECLINE_WINDOW
                    and x.get("status") == "failed"]
        rules.add(len(recent) >= 5, 0.55, f"{len(recent)} charges by the customer within 10 minutes")
        rules.add(len(declines) >= 3, 0.5, f"{len(declines)} declined charges within an hour")
        risk = (c.get("outcome") or {}).get("risk_score")
        rules.add(risk is not None and risk >= RISK_HIGHEST, 0.8, f"Radar risk score {risk}")
        rules.add(risk is not None and RISK_ELEVATED <= risk < RISK_HIGHEST, 0.45,
                  f"Radar risk score {risk} (elevated)")
        sku = (c.get("metadata") or {}).get("sku")
        unit = self.unit_prices.get((sku or "", cur))
        if sku and self.skus:
            rules.add(sku not in self.skus, 0.7, f"SKU {sku} is not in the Stripe catalogue")
            rules.add(unit is not None and amount % unit != 0, 0.7,
                      f"amount is not a whole number of SKU {sku}'s unit price {unit}")
        card = ((c.get("payment_method_details") or {}).get("card") or {})
        cus = self.customers.get(cid or "") or {}
        home = ((cus.get("address") or {}).get("country"))
        mismatch_country = bool(card.get("country") and home and card["country"] != home)
        usual = _mode(x["currency"] for x in mine if x is not c)
        mismatch_currency = bool(usual and usual != cur)
        rules.add(mismatch_country, 0.2, f"card from {card.get('country')}, customer in {home}")
        rules.add(mismatch_currency, 0.15, f"currency {cur}, the customer usually pays {usual}")
        history = [int(x["amount"]) for x in mine if x is not c and x.get("status") == "succeeded"
                   and x["currency"] == cur]
        typical = median(history) if len(history) >= 3 else self.shop_median.get(cur, amount)
        ratio = amount / typical if typical else 1.0
        rules.add(len(history) >= 3 and ratio >= 8, 0.3,
                  f"{ratio:.0f}x the customer's usual amount")
        fee = self.fees.get(c.get("balance_transaction") or "")
        fee_ratio = fee / amount if fee is not None and amount else 0.0
        rules.add(fee_ratio > 0.1, 0.25, f"Stripe fee is {fee_ratio:.0%} of the amount")
        s.features = [math.log1p(amount / max(typical, 1)), fee_ratio, (risk or 0) / 100,
                      len(recent), len(declines), float(mismatch_country),
                      float(mismatch_currency), float(c.get("status") == "failed")]
        return self._finish(s, rules)

    # ------------------------------------------------------------------ refunds
    def _refund(self, r: Obj) -> Score:
        charge = self.by_id.get(_ref(r.get("charge")) or "") or {}
        cid = _ref(charge.get("customer"))
        s = Score("refund", r["id"], cid, int(r["created"]), int(r["amount"]), r["currency"])
        rules = _Rules()
        speed = int(r["created"]) - int(charge.get("created", r["created"]))
        share = int(r["amount"]) / int(charge["amount"]) if charge.get("amount") else 1.0
        theirs = self.refunds_of.get(cid, []) if cid else [r]
        charged = max(1, sum(1 for x in self.of_customer.get(cid, [])
                             if x.get("status") == "succeeded")) if cid else 1
        refunded_charges = len({_ref(x.get("charge")) for x in theirs})
        rules.add(refunded_charges >= 3 and refunded_charges / charged >= 0.5, 0.6,
                  f"the customer had {refunded_charges} of {charged} charges refunded")
        rules.add(speed < 2 * 3600, 0.2, f"refunded {speed // 60} minutes after the charge")
        rules.add(speed < 2 * 3600 and share >= 0.99 and refunded_charges >= 2, 0.2,
                  "full refunds in quick succession")
        s.features = [math.log1p(max(speed, 0) / 3600), share, float(len(theirs)),
                      refunded_charges / charged, 0.0, 0.0, 0.0, 0.0]
        return self._finish(s, rules)

    # ------------------------------------------------------------------ disputes
    def _dispute(self, d: Obj) -> Score:
        charge = self.by_id.get(_ref(d.get("charge")) or "") or {}
        cid = _ref(charge.get("customer"))
        s = Score("dispute", d["id"], cid, int(d["created"]), int(d["amount"]), d["currency"])
        rules = _Rules()
        count = self.disputes_of.get(cid, 0) if cid else 1
        rules.add(count >= 2, 0.6, f"the customer has {count} disputes")
        rules.add(d.get("reason") == "fraudulent", 0.3, "disputed as fraudulent")
        s.features = [0.0, 0.0, 0.0, float(count), 0.0, 0.0, 0.0,
                      float(d.get("reason") == "fraudulent")]
        return self._finish(s, rules)

    @staticmethod
    def _finish(s: Score, rules: _Rules) -> Score:
        s.score = _combine(w for w, _ in rules.fired)
        s.reasons = [why for _, why in sorted(rules.fired, key=lambda f: -f[0])]
        return s

    # ------------------------------------------------------------------ all
    def score(self, charge_ids: Iterable[str] | None = None,
              refund_ids: Iterable[str] | None = None,
              dispute_ids: Iterable[str] | None = None, seed: int = 0) -> list[Score]:
        """Scores of these objects (default: all given), highest first."""
        def pick(objs: list[Obj], ids: Iterable[str] | None) -> list[Obj]:
            wanted = None if ids is None else set(ids)
            return [o for o in objs if wanted is None or o["id"] in wanted]
        scores = ([self._charge(c) for c in pick(self.charges, charge_ids)]
                  + [self._refund(r) for r in pick(self.refunds, refund_ids)]
                  + [self._dispute(d) for d in pick(self.disputes, dispute_ids)])
        for kind in ("charge", "refund", "dispute"):
            group = [s for s in scores if s.object_type == kind]
            if len(group) >= 20:
                forest = IsolationForest(n_estimators=100, random_state=seed)
                x = np.array([s.features for s in group])
                raw = -forest.fit(x).score_samples(x)        # higher = more isolated
                lo, hi = float(raw.min()), float(raw.max())
                for s, r in zip(group, raw):
                    outlier = (float(r) - lo) / (hi - lo) if hi > lo else 0.0
                    s.score = min(1.0, s.score + ISOLATION_WEIGHT * outlier ** 2)
                    if outlier >= 0.8:
                        s.reasons.append(f"unusual for this shop (isolation {outlier:.2f})")
        for s in scores:
            s.score = round(s.score, 4)
        return sorted(scores, key=lambda s: (-s.score, s.created, s.id))
