"""Apply landed Stripe events to the mirror: the event-driven selection of the one sync path.

Events say *which* objects changed; how they reach the mirror is the same
upsert as backfills (``stripe_sync.land_objects``), with the same rules:

* objects that carry money (charges, refunds, disputes, payouts, invoices,
  balance transactions) are re-fetched from Stripe, never taken from the
  event, since events arrive late, twice and out of order.  Re-fetches of
  many objects created close together use one list request per 100
  (``created`` window, ``expand[]=data.balance_transaction`` for charges);
  stragglers are fetched by id.  The balance transactions of what was fetched
  come along, so the run can post them to the ERP;
* other objects (customers, products, prices, subscriptions) take the
  newest event's snapshot, versioned by the event's ``created``: an older
  event never overwrites a newer state.  Two events for one object in the
  same second with different snapshots are a tie: the object is re-fetched.

Returns what changed and the balance transactions to post.
"""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from connectors.stripe import StripeApi

from .mirror import UpsertCounts
from .stripe_sync import land_objects

# Stripe object type -> (mirror target, list path)
TARGET_OF = {"customer": "customers", "product": "products", "price": "prices",
             "charge": "charges", "refund": "refunds", "dispute": "disputes", "payout": "payouts",
             "balance_transaction": "balance_transactions", "subscription": "subscriptions",
             "invoice": "invoices"}
# What the mirror keeps expanded: a charge's BT; an invoice's payments (which charge paid it).
EXPAND = {"charge": "balance_transaction", "invoice": "payments"}
MONEY = {"charge", "refund", "dispute", "payout", "invoice", "balance_transaction"}
LIST_MIN = 20          # a cluster this large is listed instead of fetched by id
CLUSTER_GAP = 3600     # seconds between created times that split clusters


@dataclass
class EventSyncResult:
    applied: list[int] = field(default_factory=list)     # seqs
    ignored: list[int] = field(default_factory=list)
    balance_transactions: set[str] = field(default_factory=set)
    counts: dict[str, UpsertCounts] = field(default_factory=lambda: defaultdict(UpsertCounts))
    fetched_by_list: int = 0
    fetched_by_id: int = 0


def _id(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


class EventApplier:
    def __init__(self, api: StripeApi, engine: sa.Engine) -> None:
        self.api, self.engine = api, engine

    def apply(self, events: list[dict[str, Any]]) -> EventSyncResult:
        result = EventSyncResult()
        refetch: dict[str, dict[str, int]] = defaultdict(dict)     # type -> id -> created
        snapshots: dict[tuple[str, str], tuple[int, int, dict]] = {}  # newest snapshot per object
        ties: set[tuple[str, str]] = set()
        for ev in events:
            payload = orjson.loads(ev["payload"])
            obj = payload["data"]["object"]
            otype = obj.get("object")
            if otype == "payment_intent" and _id(obj.get("latest_charge")):
                refetch["charge"][_id(obj["latest_charge"])] = int(obj.get("created") or ev["created"])
                result.applied.append(ev["seq"])
                continue
            if otype not in TARGET_OF or not obj.get("id"):
                result.ignored.append(ev["seq"])
                continue
            result.applied.append(ev["seq"])
            if otype in MONEY:
                refetch[otype][obj["id"]] = int(obj.get("created") or ev["created"])
                continue
            key = (otype, obj["id"])
            prev = snapshots.get(key)
            if prev is None or (ev["created"], ev["seq"]) > prev[:2]:
                if prev is not None and prev[0] == ev["created"] and prev[2] != obj:
                    ties.add(key)
                snapshots[key] = (ev["created"], ev["seq"], obj)
            elif prev[0] == ev["created"] and prev[2] != obj:
                ties.add(key)
        for otype, oid in ties:
            refetch[otype][oid] = int(snapshots.pop((otype, oid))[2].get("created") or 0)
        # snapshots: newest event wins, versioned by the event time
        by_target: dict[tuple[str, int], list[dict]] = defaultdict(list)
        for (otype, _), (created, _seq, obj) in snapshots.items():
            by_target[(TARGET_OF[otype], created * 1_000_000)].append(obj)
        for (target, version), objs in by_target.items():
            self._land(target, objs, version, result)
        for otype, ids in refetch.items():
            self._refetch(otype, ids, result)
        return result

    # ------------------------------------------------------------------ fetching
    def _land(self, target: str, objs: list[dict], version: int, result: EventSyncResult) -> None:
        for table, counts in land_objects(self.engine, target, objs, version).items():
            result.counts[table].add(counts)

    def _refetch(self, otype: str, ids: dict[str, int], result: EventSyncResult) -> None:
        target = TARGET_OF[otype]
        path = f"/v1/{target}"
        found: dict[str, dict] = {}
        version = time.time_ns() // 1000
        for cluster in _clusters(ids):
            if len(cluster) >= LIST_MIN:
                lo, hi = min(ids[i] for i in cluster), max(ids[i] for i in cluster)
                params: dict[str, Any] = {"created": {"gte": lo, "lte": hi}}
                if otype in EXPAND:
                    params["expand"] = [f"data.{EXPAND[otype]}"]
                if otype == "subscription":
                    params["status"] = "all"
                for page in self.api.pages(path, params):
                    result.fetched_by_list += 1
                    found.update((obj["id"], obj) for obj in page["data"])
        missing = [i for i in ids if i not in found]
        for oid in missing:
            params = {"expand": [EXPAND[otype]]} if otype in EXPAND else {}
            found[oid] = self.api.get(f"{path}/{oid}", params)
            result.fetched_by_id += 1
        objs = list(found.values())
        bts = self._split_balance_transactions(otype, objs)
        self._land(target, objs, version, result)
        if bts:
            self._land("balance_transactions", list(bts.values()), version, result)
        result.balance_transactions |= set(bts) | {o["id"] for o in objs
                                                   if otype == "balance_transaction"}
        # ids referenced but not expanded: fetch their balance transactions by id
        wanted = set()
        for obj in objs:
            if otype in ("charge", "refund", "payout"):
                for fld in ("balance_transaction", "failure_balance_transaction"):
                    bt = _id(obj.get(fld))
                    if bt and bt not in bts:
                        wanted.add(bt)
        if wanted:
            extra = {}
            for bt in sorted(wanted):
                extra[bt] = self.api.get(f"/v1/balance_transactions/{bt}")
                result.fetched_by_id += 1
            self._land("balance_transactions", list(extra.values()), version, result)
            result.balance_transactions |= set(extra)

    @staticmethod
    def _split_balance_transactions(otype: str, objs: list[dict]) -> dict[str, dict]:
        """Take expanded/embedded balance transactions out, leaving ids as backfills store them."""
        bts: dict[str, dict] = {}
        for obj in objs:
            if otype == "charge" and isinstance(obj.get("balance_transaction"), dict):
                bt = obj["balance_transaction"]
                bts[bt["id"]] = bt
                obj["balance_transaction"] = bt["id"]
            if otype == "dispute":
                for bt in obj.get("balance_transactions") or []:
                    if isinstance(bt, dict):
                        bts[bt["id"]] = bt
        return bts


def _clusters(ids: dict[str, int]) -> Iterable[list[str]]:
    ordered = sorted(ids, key=lambda i: ids[i])
    cluster: list[str] = []
    for oid in ordered:
        if cluster and ids[oid] - ids[cluster[-1]] > CLUSTER_GAP:
            yield cluster
            cluster = []
        cluster.append(oid)
    if cluster:
        yield cluster
