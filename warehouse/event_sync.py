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
* credit notes are not mirrored (``revenue/schedules`` reads them from Stripe at each
  run): their events are applied by noting which credit notes changed (``noted``), so the
  run records a materialization of ``stripe/credit_notes`` that the schedules follow;
* other objects (customers, products, prices, subscriptions) take the
  newest event's snapshot, versioned by the event's ``created``: an older
  event never overwrites a newer state.  Two events for one object in the
  same second with different snapshots are a tie: the object is re-fetched;
  so is one whose stored copy was fetched in the second of its newest event.

Each event stands on its own: an object Stripe cannot return (404 ``No such
charge``), a transient Stripe failure, or an object lacking a field the mirror
needs fails only the events that name it (``failures``, by seq, with Stripe's
message); everything else is applied.  ``event_retry`` decides what happens to
the failed ones.

Returns what changed, the balance transactions to post and the failures.
"""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
import stripe

from connectors.stripe import StripeApi

from .event_retry import EventFailure, classify
from .mirror import UpsertCounts
from .stripe_rows import BadStripeObject
from .schema import MIRROR_TABLES
from .stripe_sync import TABLES, land_objects

# Stripe object type -> (mirror target, list path)
TARGET_OF = {"customer": "customers", "product": "products", "price": "prices",
             "charge": "charges", "refund": "refunds", "dispute": "disputes", "payout": "payouts",
             "balance_transaction": "balance_transactions", "subscription": "subscriptions",
             "invoice": "invoices"}
TYPE_OF = {target: otype for otype, target in TARGET_OF.items()}
# What the mirror keeps expanded: a charge's BT; an invoice's payments (which charge paid it).
EXPAND = {"charge": "balance_transaction", "invoice": "payments"}
MONEY = {"charge", "refund", "dispute", "payout", "invoice", "balance_transaction"}
# Stripe object types read from Stripe by what needs them, not mirrored: type -> asset name
NOTED = {"credit_note": "credit_notes"}
LIST_MIN = 20          # a cluster this large is listed instead of fetched by id
CLUSTER_GAP = 3600     # seconds between created times that split clusters


@dataclass
class EventSyncResult:
    applied: list[int] = field(default_factory=list)     # seqs
    ignored: list[int] = field(default_factory=list)
    failures: dict[int, EventFailure] = field(default_factory=dict)   # seq -> why, not applied
    balance_transactions: set[str] = field(default_factory=set)
    counts: dict[str, UpsertCounts] = field(default_factory=lambda: defaultdict(UpsertCounts))
    # mirror target -> UTC days (since the epoch) of the objects it inserted or updated
    written_days: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    # not-mirrored asset name (NOTED) -> ids of the objects whose events were applied
    noted: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
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
        # which events name each object, and why an object could not be applied
        self._events_of: dict[tuple[str, str], set[int]] = defaultdict(set)
        self._failed: dict[tuple[str, str], EventFailure] = {}
        for ev in events:
            obj = (orjson.loads(ev["payload"]).get("data") or {}).get("object")
            otype = obj.get("object") if isinstance(obj, dict) else None
            if otype == "payment_intent" and _id(obj.get("latest_charge")):
                charge = _id(obj["latest_charge"])
                if not isinstance(charge, str):
                    result.failures[ev["seq"]] = _malformed(ev, "data.object.latest_charge")
                    continue
                refetch["charge"][charge] = int(obj.get("created") or ev["created"])
                self._events_of[("charge", charge)].add(ev["seq"])
                continue
            if otype not in TARGET_OF and otype not in NOTED:
                result.ignored.append(ev["seq"])
                continue
            if not isinstance(obj.get("id"), str) or not obj["id"]:
                result.failures[ev["seq"]] = _malformed(ev, "data.object.id")
                continue
            self._events_of[(otype, obj["id"])].add(ev["seq"])
            if otype in NOTED:
                result.noted[NOTED[otype]].add(obj["id"])
                continue
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
        ties |= self._fetched_in_same_second(snapshots)
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
        for key, failure in self._failed.items():
            for seq in self._events_of[key]:
                result.failures[seq] = failure
        result.applied = sorted(seq for seqs in self._events_of.values() for seq in seqs
                                if seq not in result.failures)
        return result

    def _fetched_in_same_second(self, snapshots: dict[tuple[str, str], tuple[int, int, dict]]
                                ) -> set[tuple[str, str]]:
        """Objects whose stored copy was re-fetched (versioned in microseconds) in the second
        their newest event was created in: which of the two is newer cannot be told, so the
        object is re-fetched (taking the event's snapshot would be stale against that copy)."""
        by_table: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
        for otype, oid in snapshots:
            by_table[TABLES[TARGET_OF[otype]]][oid] = (otype, oid)
        ambiguous = set()
        with self.engine.connect() as conn:
            for name, keys in by_table.items():
                table = MIRROR_TABLES[name]
                for oid, version in conn.execute(sa.select(table.c.id, table.c._version)
                                                 .where(table.c.id.in_(list(keys)))):
                    created = snapshots[keys[oid]][0]
                    if version % 1_000_000 and version // 1_000_000 == created:
                        ambiguous.add(keys[oid])
        return ambiguous

    def _fail(self, otype: str, oid: str, failure: EventFailure) -> None:
        self._failed.setdefault((otype, oid), failure)

    # ------------------------------------------------------------------ fetching
    def _land(self, target: str, objs: list[dict], version: int, result: EventSyncResult,
              owner: dict[str, tuple[str, str]] | None = None) -> None:
        """Upsert objects; one lacking a field the mirror needs fails only its own events.

        ``owner`` maps a balance transaction to the object whose events brought it.
        """
        try:
            landed = [land_objects(self.engine, target, objs, version,
                                   result.written_days[target])]
        except BadStripeObject:
            landed = []
            for obj in objs:
                try:
                    landed.append(land_objects(self.engine, target, [obj], version,
                                               result.written_days[target]))
                except BadStripeObject as exc:
                    otype, oid = (owner or {}).get(obj.get("id"), (TYPE_OF[target], obj.get("id")))
                    self._fail(otype, oid, EventFailure(str(exc), transient=False))
        for counts_by_table in landed:
            for table, counts in counts_by_table.items():
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
                try:
                    for page in self.api.pages(path, params):
                        result.fetched_by_list += 1
                        found.update((obj["id"], obj) for obj in page["data"])
                except stripe.StripeError as exc:
                    failure = classify(exc)     # permanent: each one's fetch by id decides
                    for oid in cluster if failure.transient else ():
                        if oid not in found:
                            self._fail(otype, oid, failure)
        for oid in ids:
            if oid in found or (otype, oid) in self._failed:
                continue
            params = {"expand": [EXPAND[otype]]} if otype in EXPAND else {}
            result.fetched_by_id += 1
            try:
                found[oid] = self.api.get(f"{path}/{oid}", params)
            except stripe.StripeError as exc:
                self._fail(otype, oid, classify(exc))
        objs = list(found.values())
        bts = self._split_balance_transactions(otype, objs)
        self._land(target, objs, version, result)
        owner = {bt: (otype, obj["id"]) for obj in objs for bt in _balance_transaction_ids(obj)}
        if bts:
            self._land("balance_transactions", list(bts.values()), version, result, owner)
        landed = [o for o in objs if (otype, o["id"]) not in self._failed]
        result.balance_transactions |= {bt for bt in bts if owner.get(bt, (otype, bt)) not in
                                        self._failed} | {o["id"] for o in landed
                                                         if otype == "balance_transaction"}
        # ids referenced but not expanded: fetch their balance transactions by id
        wanted = set()
        for obj in landed:
            if otype in ("charge", "refund", "payout"):
                for fld in ("balance_transaction", "failure_balance_transaction"):
                    bt = _id(obj.get(fld))
                    if bt and bt not in bts:
                        wanted.add(bt)
        if wanted:
            extra = {}
            for bt in sorted(wanted):
                result.fetched_by_id += 1
                try:
                    extra[bt] = self.api.get(f"/v1/balance_transactions/{bt}")
                except stripe.StripeError as exc:
                    self._fail(*owner[bt], classify(exc))
            if extra:
                self._land("balance_transactions", list(extra.values()), version, result, owner)
            result.balance_transactions |= {bt for bt in extra if owner[bt] not in self._failed}

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


def _malformed(ev: dict[str, Any], fld: str) -> EventFailure:
    return EventFailure(f"event {ev['id']}: field '{fld}' is missing or not a string",
                        transient=False)


def _balance_transaction_ids(obj: dict) -> list[str]:
    """The balance transactions an object carries (by id or expanded)."""
    out = [_id(obj.get(f)) for f in ("balance_transaction", "failure_balance_transaction")]
    out += [_id(bt) for bt in obj.get("balance_transactions") or []]
    return [bt for bt in out if isinstance(bt, str)]


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
