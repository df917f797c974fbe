"""Read what anomaly scoring needs from the mirror, and keep the scores.

Objects of ``[gte, lt)`` are scored against the mirror's history from ``lookback`` days
before ``gte`` (the customer's earlier charges, refunds and disputes).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
import sqlalchemy as sa

from domain.anomalies import AnomalyScorer, Score
from domain.postings import unit_prices
from warehouse.db import upsert_insert
from warehouse.schema import (anomaly_scores, stripe_balance_transactions, stripe_charges,
                              stripe_customers, stripe_disputes, stripe_prices, stripe_products,
                              stripe_refunds)

DAY = 86400


def _raw(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else orjson.loads(value)


def _ts(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def _objects(conn: sa.Connection, table: sa.Table, gte: int, lt: int) -> list[dict[str, Any]]:
    query = sa.select(table.c.raw).where(table.c.created >= _ts(gte), table.c.created < _ts(lt))
    return [_raw(r) for (r,) in conn.execute(query)]


def load_scorer(engine: sa.Engine, gte: int, lt: int,
                lookback_days: int = 30) -> tuple[AnomalyScorer, dict[str, set[str]]]:
    """A scorer over the window and its history, and the window's ids by object type."""
    since = gte - lookback_days * DAY
    with engine.connect() as conn:
        charges = _objects(conn, stripe_charges, since, lt)
        refunds = _objects(conn, stripe_refunds, since, lt)
        disputes = _objects(conn, stripe_disputes, since, lt)
        customer_ids = sorted({c["customer"] for c in charges if isinstance(c.get("customer"), str)})
        customers: dict[str, dict[str, Any]] = {}
        for i in range(0, len(customer_ids), 500):
            rows = conn.execute(sa.select(stripe_customers.c.raw).where(
                stripe_customers.c.id.in_(customer_ids[i:i + 500])))
            customers.update({o["id"]: o for o in map(_raw, (r for (r,) in rows))})
        products = [_raw(r) for (r,) in conn.execute(sa.select(stripe_products.c.raw))]
        prices = [_raw(r) for (r,) in conn.execute(sa.select(stripe_prices.c.raw))]
        bt = stripe_balance_transactions
        fees = {i: int(f) for i, f in conn.execute(
            sa.select(bt.c.id, bt.c.fee).where(bt.c.created >= _ts(since),
                                               bt.c.created < _ts(lt)))}
    window = {kind: {o["id"] for o in objs if gte <= int(o["created"]) < lt}
              for kind, objs in (("charge", charges), ("refund", refunds),
                                 ("dispute", disputes))}
    scorer = AnomalyScorer(charges, refunds, disputes, customers,
                           unit_prices(products, prices), fees)
    return scorer, window


def score_window(engine: sa.Engine, gte: int, lt: int, lookback_days: int = 30) -> list[Score]:
    scorer, window = load_scorer(engine, gte, lt, lookback_days)
    return scorer.score(window["charge"], window["refund"], window["dispute"])


def store_scores(engine: sa.Engine, scores: list[Score]) -> None:
    now = datetime.now(timezone.utc)
    rows = [{"object_id": s.id, "object_type": s.object_type,
             "day": _ts(s.created).date(), "customer": s.customer, "amount": s.amount,
             "currency": s.currency, "score": s.score, "flagged": s.flagged,
             "reasons": "; ".join(s.reasons), "scored_at": now} for s in scores]
    with engine.begin() as conn:
        for i in range(0, len(rows), 500):
            stmt = upsert_insert(conn, anomaly_scores).values(rows[i:i + 500])
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["object_id"],
                set_={c: stmt.excluded[c] for c in ("score", "flagged", "reasons", "scored_at",
                                                    "day", "customer", "amount", "currency")}))


def top_flagged(engine: sa.Engine, limit: int = 100) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(anomaly_scores).where(anomaly_scores.c.flagged)
                            .order_by(anomaly_scores.c.score.desc(), anomaly_scores.c.day.desc())
                            .limit(limit)).mappings()
        return [dict(r) for r in rows]
