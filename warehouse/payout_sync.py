"""Mirror payouts by arrival date and the balance transactions each automatic payout settled.

``GET /v1/payouts?arrival_date[gte]=&arrival_date[lt]=`` lists the window's payouts;
for every automatic one, ``GET /v1/balance_transactions?payout=po_…`` (paged,
100 a page, payouts fetched concurrently under the account's request budget)
lists what it paid out, its own balance transaction included.  Payouts and
balance transactions land through the mirror's upsert; the link goes to
``stripe_payout_transactions``.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from connectors.stripe import StripeApi

from .db import upsert_insert
from .schema import stripe_payout_transactions
from .stripe_sync import land_objects


def _all(api: StripeApi, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [obj for page in api.pages(path, params) for obj in page["data"]]


def sync_payouts(api: StripeApi, engine: sa.Engine, gte: int, lt: int,
                 workers: int = 8) -> list[dict[str, Any]]:
    """Mirror the payouts arriving in ``[gte, lt)`` and their balance transactions."""
    version = time.time_ns() // 1000
    payouts = _all(api, "/v1/payouts", {"arrival_date": {"gte": gte, "lt": lt}})
    land_objects(engine, "payouts", payouts, version)
    automatic = [p for p in payouts if p.get("automatic")]
    with ThreadPoolExecutor(max(1, workers)) as pool:
        lists = list(pool.map(lambda p: _all(api, "/v1/balance_transactions",
                                             {"payout": p["id"]}), automatic))
    now = datetime.now(timezone.utc)
    links = [{"payout_id": p["id"], "balance_transaction_id": bt["id"], "_synced_at": now}
             for p, bts in zip(automatic, lists) for bt in bts]
    land_objects(engine, "balance_transactions", [bt for bts in lists for bt in bts], version)
    if links:
        with engine.begin() as conn:
            conn.execute(upsert_insert(conn, stripe_payout_transactions).on_conflict_do_nothing(
                index_elements=["payout_id", "balance_transaction_id"]), links)
    return payouts
