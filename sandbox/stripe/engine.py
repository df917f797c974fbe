"""The sandbox's state engine: Stripe's business rules below the HTTP layer.

Design:

* Objects live in the :class:`~.store.Store` as rendered JSON.  While an
  operation runs, changed objects sit in ``_dirty`` (id -> [dict, bytes]) and
  are rendered and written once, in one transaction, when it ends
  (``flush``).  Events splice the snapshot bytes, so an object rendered for
  an event is not serialised again on write.
* Time: every business function takes an explicit timestamp ``t``.  The API
  path passes ``now()``; the generator passes historic times and drives the
  same scheduled jobs (``run_due``), so history and live traffic follow the
  same rules.  ``bulk`` mode only changes *bookkeeping* (events older than the
  30-day retention are not stored, BT status is rendered as of ``horizon``,
  webhooks are considered delivered, the unswept set is saved once at the
  end, and rows go to a writer process); ``generate(..., bulk=False)``
  replays history through the live path and a test proves the results equal.
* Scheduled work (payout transitions, renewals, dispute outcomes, the daily
  payout run) is a heap of jobs mirrored into the ``jobs`` table; every public
  call first runs jobs that became due as real time passed.

Public interface (used by the HTTP layer; request-level calls in
``engine_api.py``): ``create``, ``update``, ``delete``,
``action``, ``balance``, ``advance_clock``, ``subscribe``,
``webhook_endpoint_secrets``, ``mark_event_delivery``, ``ground_truth``,
``export``, ``reset``, ``tick_live``.  Mutating calls accept optional
keyword arguments ``request_id`` and ``idempotency_key``; they end up in the
``request`` field of the events the call creates.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from typing import Any

import orjson

from . import profiles
from .operations import JOBS as _JOBS
from .accounts import account_id
from .clock import DAY, Clock, midnight
from .engine_api import EngineAPI
from .errors import StripeError, invalid
from .render import Ids, dumps, event_parts, loads
from .store_schema import ROW
from .store import EVENT_RETENTION, Store

Obj = dict[str, Any]
# Objects kept in memory once loaded or written: few, and read by most operations.
_HOT = frozenset({"customer", "product", "price", "subscription", "webhook_endpoint", "payout",
                  "coupon", "discount", "invoiceitem"})
# Objects kept in memory only while later scheduled work will change them; this
# also means bulk generation never has to read back what it just wrote.
_OPEN = {
    "dispute": frozenset({"won", "lost", "warning_closed", "prevented"}),
    "invoice": frozenset({"paid", "void", "uncollectible"}),
    "invoice_payment": frozenset({"paid", "canceled"}),  # retried by dunning
    "payment_intent": frozenset({"succeeded", "canceled"}),
}


class Engine(EngineAPI):
    """Stripe business rules over a :class:`Store`.  Thread-safe via ``store.lock``."""

    def __init__(self, store: Store, *, seed: int = 0, start_time: int | None = None) -> None:
        self.store = store
        self.seed = seed
        self.lock = store.lock
        self.clock = Clock(start_time)
        self.account_id = account_id(seed)
        self.settlement_currencies = ["usd"]  # the account's bank accounts (payout currencies)
        self.profile = "default"  # see profiles.py
        self.ids = Ids(seed)
        # Events draw ids from their own stream so that skipping pre-retention
        # events in bulk mode leaves every other id unchanged.
        self.event_ids = Ids(seed + 1)
        self.rng = random.Random(seed * 7919 + 17)
        # Fraction of payouts that fail (half of them after first showing ``paid``).
        self.payout_failure_rate = 0.03
        self.bulk = False
        self.horizon = 0
        self._dirty: dict[str, list[Any]] = {}
        self._events: list[tuple[Any, ...]] = []  # (id, created, type, delivery_success)
        # Per event (head, snapshot, tail): the JSON is head + snapshot + tail.
        self._event_data: list[tuple[bytes, bytes, bytes]] = []
        self._ops: list[tuple[str, Any]] = []
        self._notify: list[bytes] = []
        self._hot: dict[str, Obj] = {}
        self._heap: list[tuple[int, int, str, str]] = []
        self._job_due: dict[tuple[str, str], int] = {}
        self._job_seq = 0
        self.job_counts: dict[str, int] = {}
        self.unswept: dict[str, tuple[int, int, str]] = {}  # bt -> (available_on, net, currency)
        self.bal: dict[str, dict[str, int]] = {}  # currency -> available / pending Σ net
        self.endpoints: dict[str, Obj] = {}
        self.secrets: dict[str, str] = {}
        self._subscribers: list[Callable[[bytes, dict[str, Any]], None]] = []
        self._request: tuple[str | None, str | None] = (None, None)
        self.event_count = 0
        # The generator's state for ``tick_live`` (catalog, customers), built lazily.
        self.live_world: Any = None
        store.clock = self.now
        self._restore(start_time)
        profiles.restore(self)

    # ------------------------------------------------------------------ clock & state

    def now(self) -> int:
        """Sandbox clock: real time plus the offset accumulated by ``advance_clock``."""
        return self.clock.now()

    def _restore(self, start_time: int | None) -> None:
        """Reload engine bookkeeping from a store that already holds data."""
        state = self.store.meta_get("state")
        if state is not None:
            saved = orjson.loads(state)
            if start_time is None:
                self.clock.offset = saved["offset"]
            bal = saved["bal"]
            self.bal = {"usd": bal} if "available" in bal else bal  # pre multi-currency files
            # Fresh random streams whose id heads continue after the stored ones, seeded by
            # both counts: any id issued and stored since the last start (object or event)
            # changes the seeds, so a restart never draws the previous life's ids again.
            count = self.store.query("SELECT MAX(seq) FROM objects")[0][0] or 0
            events = self.store.query("SELECT MAX(seq) FROM events")[0][0] or 0
            self.ids = Ids(f"{self.seed}:{count}:{events}", start=count + events)
            self.event_ids = Ids(f"{self.seed}:{count}:{events}:evt", start=count + events)
        self.unswept = {
            bt: (a, n, c)
            for bt, a, n, c in self.store.query("SELECT bt, available_on, net, currency FROM unswept")
        }
        for due, kind, ref in self.store.query("SELECT due, kind, ref FROM jobs"):
            self._push_job(due, kind, ref)
        for (data,) in self.store.query(
            "SELECT data FROM objects WHERE object='webhook_endpoint' AND deleted IS NULL"
        ):
            ep = loads(data)
            self.endpoints[ep["id"]] = ep
            secret = self.store.meta_get("whsec:" + ep["id"])
            if secret is not None:
                self.secrets[ep["id"]] = secret.decode()
        if ("daily", "") not in self._job_due:
            self.schedule(midnight(self.now()) + DAY, "daily", "")
            self.flush()

    def _save_state(self) -> None:
        self._ops.append(
            (
                "INSERT OR REPLACE INTO meta VALUES ('state', ?)",
                (dumps({"offset": self.clock.offset, "bal": self.bal}),),
            )
        )

    # ------------------------------------------------------------------ object access

    def load(self, id: str, kind: str, param: str = "id") -> Obj:
        """Current dict of an object, or 404 ``No such <kind>``."""
        entry = self._dirty.get(id)
        if entry is not None:
            return entry[0]
        obj = self._hot.get(id)
        if obj is not None:
            return obj
        data = self.store.get(id)
        if data is None:
            raise _no_such(kind, id, param)
        obj = loads(data)
        if obj.get("deleted"):
            raise _no_such(kind, id, param)
        if obj["object"] in _HOT or (
            obj["object"] in _OPEN and obj["status"] not in _OPEN[obj["object"]]
        ):
            self._hot[id] = obj
        return obj

    def put(self, obj: Obj) -> Obj:
        """Mark ``obj`` changed: it is rendered and written at the end of the operation."""
        self._dirty[obj["id"]] = [obj, None]
        kind = obj["object"]
        if kind in _HOT:
            self._hot[obj["id"]] = obj
        elif kind in _OPEN:
            if obj["status"] in _OPEN[kind] or obj.get("deleted"):
                self._hot.pop(obj["id"], None)
            else:
                self._hot[obj["id"]] = obj
        return obj

    def snapshot(self, obj: Obj) -> bytes:
        """Rendered bytes of ``obj`` as of now (cached until the next ``put``)."""
        entry = self._dirty.get(obj["id"])
        if entry is None:
            return dumps(obj)
        if entry[1] is None:
            entry[1] = dumps(entry[0])
        return entry[1]

    def op(self, sql: str, params: Any) -> None:
        """Queue a bookkeeping statement for the operation's transaction."""
        self._ops.append((sql, params))

    # ------------------------------------------------------------------ events

    def emit(self, type: str, obj: Obj, t: int, previous: dict[str, Any] | None = None) -> None:
        """Record event ``type`` with a snapshot of ``obj`` (already ``put``)."""
        if self.bulk and t < self.horizon - EVENT_RETENTION:
            return
        snap = self.snapshot(obj)
        matching = (
            sum(
                1
                for ep in self.endpoints.values()
                if ep["status"] == "enabled"
                and ("*" in ep["enabled_events"] or type in ep["enabled_events"])
            )
            if self.endpoints
            else 0
        )
        if self.bulk:
            pending, success = 0, (1 if matching else None)
        else:
            pending, success = matching, None
        eid = self.event_ids.new("evt")
        head, tail = event_parts(eid, t, type, previous, pending, *self._request)
        self._events.append((eid, t, type, success))
        self._event_data.append((head, snap, tail))
        self.event_count += 1
        if self._subscribers and not self.bulk:
            self._notify.append(head + snap + tail)

    def subscribe(self, callback: Callable[[bytes, dict[str, Any]], None]) -> None:
        """Call ``callback(event_json, event_dict)`` for every event created from now on."""
        self._subscribers.append(callback)

    # ------------------------------------------------------------------ jobs

    def _push_job(self, due: int, kind: str, ref: str) -> None:
        self._job_seq += 1
        self._job_due[(kind, ref)] = due
        heapq.heappush(self._heap, (due, self._job_seq, kind, ref))

    def schedule(self, due: int, kind: str, ref: str) -> None:
        """Run job ``kind`` for ``ref`` at ``due`` (replacing an earlier schedule)."""
        self._push_job(due, kind, ref)
        self.op("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?)", (due, kind, ref))

    def unschedule(self, kind: str, ref: str) -> None:
        if self._job_due.pop((kind, ref), None) is not None:
            self.op("DELETE FROM jobs WHERE kind=? AND ref=?", (kind, ref))

    def scheduled(self, kind: str, ref: str) -> int | None:
        return self._job_due.get((kind, ref))

    def run_due(self, until: int) -> None:
        """Run every job due at or before ``until``, in time order."""
        heap = self._heap
        while heap and heap[0][0] <= until:
            due, _, kind, ref = heapq.heappop(heap)
            if self._job_due.get((kind, ref)) != due:
                continue  # superseded or cancelled
            del self._job_due[(kind, ref)]
            self.op("DELETE FROM jobs WHERE kind=? AND ref=?", (kind, ref))
            self.job_counts[kind] = self.job_counts.get(kind, 0) + 1
            _JOBS[kind](self, ref, due)

    # ------------------------------------------------------------------ write path

    def flush(self) -> None:
        """Render changed objects and write them with queued events and bookkeeping."""
        rows: dict[str, tuple[list[tuple[Any, ...]], list[bytes]]] = {}
        for o, b in self._dirty.values():
            kind = o["object"]
            group = rows.get(kind)
            if group is None:
                group = rows[kind] = ([], [])
            group[0].append(ROW[kind](o))
            group[1].append(b if b is not None else dumps(o))
        if rows or self._ops or self._events:
            if not self.bulk:
                self._save_state()
            self.store.write(rows, self._ops, (self._events, self._event_data))
        self._dirty = {}
        self._events = []
        self._event_data = []
        self._ops = []

    def _call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Run one public operation atomically: catch up the clock, run, write, notify."""
        with self.lock:
            self.run_due(self.now())
            self._request = (request_id or self.ids.new("req", 14), idempotency_key)
            try:
                result = fn(*args, self.now())
                out = self.snapshot(result) if isinstance(result, dict) else result
            finally:
                self._request = (None, None)
                self.flush()
                notify, self._notify = self._notify, []
        self._deliver(notify)
        return out

    def _deliver(self, notify: list[bytes]) -> None:
        """Hand new events to the subscribers (outside the lock)."""
        for data in notify:
            event = loads(data)
            for callback in self._subscribers:
                callback(data, event)

    def _caught_up(self) -> None:
        """Run what is due by now and write it (called with ``lock`` held)."""
        self.run_due(self.now())
        self.flush()

    # ------------------------------------------------------------------ clock moves and reset

    def advance_clock(self, seconds: int) -> dict[str, Any]:
        """Move the sandbox clock forward and run everything due in between.

        Returns ``{"clock": now, "jobs": {kind: count}, "events": n}``.
        """
        if seconds < 0:
            raise invalid("The clock can only move forward.", param="seconds")
        with self.lock:
            before_jobs, before_events = dict(self.job_counts), self.event_count
            self.clock.advance(seconds)
            self._request = (None, None)
            self.run_due(self.now())
            self.flush()
            notify, self._notify = self._notify, []
            summary = {
                "clock": self.now(),
                "jobs": {
                    k: v - before_jobs.get(k, 0)
                    for k, v in self.job_counts.items()
                    if v != before_jobs.get(k, 0)
                },
                "events": self.event_count - before_events,
            }
        self._deliver(notify)
        return summary

    def reset(self) -> None:
        """Drop all data and engine state; the clock keeps its offset."""
        with self.lock:
            self.store.clear()
            self._dirty, self._events, self._ops, self._notify = {}, [], [], []
            self._event_data = []
            self._hot.clear()
            self._heap.clear()
            self._job_due.clear()
            self.unswept.clear()
            self.bal = {}
            self.endpoints.clear()
            self.secrets.clear()
            self.live_world = None
            self.ids = Ids(self.seed)
            self.event_ids = Ids(self.seed + 1)
            self.rng = random.Random(self.seed * 7919 + 17)
            self.schedule(midnight(self.now()) + DAY, "daily", "")
            self.flush()


def _no_such(kind: str, id: str, param: str) -> StripeError:
    return StripeError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{id}'",
        code="resource_missing",
        param=param,
    )
