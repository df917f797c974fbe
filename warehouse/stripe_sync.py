"""Land Stripe objects in the mirror: the one code path for backfills and event syncs.

A backfill selects objects by ``created`` window (:func:`sync_window`); an
event-driven run selects them by id (issue 5 builds on :func:`land_objects`).
Both end in :class:`MirrorWriter`, which upserts through ``mirror.upsert``.

Extraction threads hand pages to one writer thread through a bounded queue:
SQLite takes one writer at a time, and a single writer that commits whatever
has queued up (up to ``batch_rows``) in one transaction keeps up with the
API on both SQLite and PostgreSQL.
"""
from __future__ import annotations

import gc
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from connectors.stripe import TARGETS, Extractor, ExtractStats, StripeApi
from connectors.stripe.extract import Page

from .mirror import UpsertCounts, build_invoice_line_rows, build_rows, now_epoch, upsert

# target name -> its mirror table
TABLES: dict[str, str] = {name: f"stripe_{name}" for name in TARGETS}
# nested tables each target also writes
NESTED_TABLES: dict[str, str] = {"invoices": "stripe_invoice_lines",
                                 "subscriptions": "stripe_subscription_items"}


def rows_for(target: str, objects: Sequence[dict[str, Any]], version: int,
             synced_at: int | None = None) -> dict[str, list[dict[str, Any]]]:
    """Rows per table for objects of one target (validated before any write)."""
    synced_at = synced_at or now_epoch()
    out = {TABLES[target]: build_rows(TABLES[target], objects, version, synced_at)}
    if target == "invoices":
        out["stripe_invoice_lines"] = build_invoice_line_rows(objects, version, synced_at)
    elif target == "subscriptions":
        items = [item for sub in objects for item in (sub.get("items") or {}).get("data") or []]
        out["stripe_subscription_items"] = build_rows("stripe_subscription_items", items,
                                                      version, synced_at)
    return out


DAY = 86400


@dataclass
class DayFigures:
    """One UTC day's share of a sync, per target: objects listed and requests made for them."""

    objects: int = 0
    api_requests: int = 0


@dataclass
class SyncReport:
    """What one sync did, per target (tables include nested ones), and per UTC day of the
    objects' ``created`` (days since the epoch), so a range's partitions get their own."""

    extract: ExtractStats | None = None
    tables: dict[str, UpsertCounts] = field(default_factory=lambda: defaultdict(UpsertCounts))
    table_days: dict[str, dict[int, UpsertCounts]] = field(
        default_factory=lambda: defaultdict(dict))
    target_days: dict[str, dict[int, DayFigures]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(DayFigures)))
    api_requests: int = 0
    api_retried: int = 0
    seconds: float = 0.0
    write_seconds: float = 0.0  # time the writer spent building rows and writing
    transactions: int = 0
    target_seconds: dict[str, float] = field(default_factory=dict)  # until each was committed

    def for_target(self, target: str) -> dict[str, float | int]:
        """Numeric metadata for one asset (the UI plots these over time)."""
        counts = self.tables.get(TABLES[target], UpsertCounts())
        meta: dict[str, float | int] = {f"rows_{k}": v for k, v in counts.as_dict().items()}
        if target in NESTED_TABLES:
            nested = self.tables.get(NESTED_TABLES[target], UpsertCounts())
            meta.update({f"nested_rows_{k}": v for k, v in nested.as_dict().items()})
        if self.extract and target in self.extract.targets:
            ts = self.extract.targets[target]
            meta.update(objects=ts.objects, pages=ts.pages, api_requests=ts.pages + ts.nested_requests,
                        windows=ts.windows)
        return meta

    def for_target_days(self, target: str, days: Sequence[int]) -> dict[int, dict[str, int]]:
        """Numeric metadata per day in ``days`` (sorted epoch days) for one asset: each day's own
        row counts, objects and API requests. Objects created before the first day (an open
        window below) count in the first day; the days' figures sum to the run's."""
        def clamp(day: int) -> int:
            return min(max(day, days[0]), days[-1])
        out = {d: {f"rows_{k}": 0 for k in UpsertCounts().as_dict()} | {
            "objects": 0, "api_requests": 0} for d in days}
        tables = [(TABLES[target], "rows_")]
        if target in NESTED_TABLES:
            tables.append((NESTED_TABLES[target], "nested_rows_"))
            for d in days:
                out[d] |= {f"nested_rows_{k}": 0 for k in UpsertCounts().as_dict()}
        for table, prefix in tables:
            for day, counts in self.table_days.get(table, {}).items():
                for k, v in counts.as_dict().items():
                    out[clamp(day)][prefix + k] += v
        for day, figures in self.target_days.get(target, {}).items():
            out[clamp(day)]["objects"] += figures.objects
            out[clamp(day)]["api_requests"] += figures.api_requests
        return out


class MirrorWriter:
    """A writer thread: rows in, upserts out, one transaction per drained batch.

    Rows are built (and validated) by the submitting extraction threads, so
    the writer's serial path holds only the database work.
    """

    def __init__(self, engine: sa.Engine, report: SyncReport, batch_rows: int = 2000,
                 queue_batches: int = 64,
                 on_committed: Callable[[str], None] | None = None) -> None:
        self.engine, self.report, self.batch_rows = engine, report, batch_rows
        self.on_committed = on_committed
        self._queue: queue.Queue[_Rows | None] = queue.Queue(queue_batches)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="mirror-writer", daemon=True)

    def __enter__(self) -> MirrorWriter:
        self._thread.start()
        return self

    def submit(self, page: Page) -> None:
        """Build the page's rows here (raises on a bad object), then queue them."""
        if self._error is not None:
            raise RuntimeError("mirror writer failed") from self._error
        rows = rows_for(page.target.name, page.objects, page.version)
        days: dict[int, int] = defaultdict(int)
        for obj in page.objects:
            days[int(obj["created"]) // DAY] += 1
        # the page's requests count on the day of its first object (of its window when empty)
        first = (int(page.objects[0]["created"]) if page.objects else (page.window_gte or 0))
        self._queue.put(_Rows(rows, sum(len(r) for r in rows.values()), page.target.name,
                              dict(days), first // DAY, page.requests))

    def finish_target(self, name: str) -> None:
        """Every page of ``name`` was submitted: call ``on_committed(name)`` once they are."""
        self._queue.put(_Rows({}, 0, name, finished=True))

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and exc[0] is None:
            raise self._error

    def _loop(self) -> None:
        done = False
        while not done:
            batch = [self._queue.get()]
            size = batch[0].size if batch[0] is not None else 0
            while size < self.batch_rows and batch[-1] is not None:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                batch.append(item)
                size += item.size if item is not None else 0
            items = [b for b in batch if b is not None]
            done = len(items) < len(batch)
            if items and self._error is None:
                try:
                    self._write([i for i in items if not i.finished])
                except BaseException as exc:  # surfaced by submit() / __exit__
                    self._error = exc
            if self._error is None and self.on_committed:
                for item in items:
                    if item.finished:
                        self.on_committed(item.target)

    def _write(self, items: list[_Rows]) -> None:
        started = time.monotonic()
        per_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in items:
            for table, rows in item.tables.items():
                per_table[table].extend(rows)
            figures = self.report.target_days[item.target]
            for day, n in item.object_days.items():
                figures[day].objects += n
            figures[item.request_day].api_requests += item.requests
        with self.engine.begin() as conn:
            for table, rows in per_table.items():
                days = self.report.table_days[table]
                by_day: dict[int, UpsertCounts] = {}
                self.report.tables[table].add(upsert(conn, table, rows, by_day))
                for day, counts in by_day.items():
                    days.setdefault(day, UpsertCounts()).add(counts)
        self.report.transactions += 1
        self.report.write_seconds += time.monotonic() - started


@dataclass
class _Rows:
    tables: dict[str, list[dict[str, Any]]]
    size: int
    target: str = ""
    object_days: dict[int, int] = field(default_factory=dict)
    request_day: int = 0
    requests: int = 0
    finished: bool = False      # a marker: every page of ``target`` is before it


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Collect garbage less often while pages stream through.

    Parsed pages are large trees of acyclic dicts; with the default thresholds
    the cyclic collector's full passes over them cost a fifth of the
    extraction's CPU.  Reference counting still frees every page.
    """
    before = gc.get_threshold()
    gc.set_threshold(50_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def sync_window(api: StripeApi, engine: sa.Engine, targets: Iterable[str], gte: int | None,
                lt: int | None, *, workers: int = 16,
                split_min_objects: int = 10_000) -> SyncReport:
    """Mirror every object of ``targets`` created in ``[gte, lt)`` (None = open bound)."""
    report = SyncReport()
    for _, report in stream_window(api, engine, targets, gte, lt, workers=workers,
                                   split_min_objects=split_min_objects):
        pass
    return report


def stream_window(api: StripeApi, engine: sa.Engine, targets: Iterable[str], gte: int | None,
                  lt: int | None, *, workers: int = 16, split_min_objects: int = 10_000
                  ) -> Iterator[tuple[str | None, SyncReport]]:
    """:func:`sync_window`, yielding ``(target, report)`` as soon as a target's rows are all
    committed, while the other targets are still being listed (a caller can report on it
    meanwhile), then ``(None, report)`` with the run's totals. The report's figures for a
    target are final when it is yielded."""
    targets = list(targets)
    report = SyncReport(extract=ExtractStats())
    started = time.monotonic()
    requests_before, retried_before = api.counters.requests, api.counters.retried
    extractor = Extractor(api, workers=workers, split_min_objects=split_min_objects)
    finished: queue.Queue[str | BaseException | None] = queue.Queue()

    def extract() -> None:
        try:
            with relaxed_gc(), MirrorWriter(engine, report, on_committed=finished.put) as writer:
                extractor.run([TARGETS[t] for t in targets], gte, lt, writer.submit,
                              writer.finish_target, report.extract)
        except BaseException as exc:    # handed to the consumer, raised there
            finished.put(exc)
        else:
            finished.put(None)
    worker = threading.Thread(target=extract, name="stripe-sync", daemon=True)
    worker.start()
    while (item := finished.get()) is not None:
        if isinstance(item, BaseException):
            worker.join()
            raise item
        report.target_seconds[item] = time.monotonic() - started
        yield item, report
    worker.join()
    report.api_requests = api.counters.requests - requests_before
    report.api_retried = api.counters.retried - retried_before
    report.seconds = time.monotonic() - started
    yield None, report


def land_objects(engine: sa.Engine, target: str, objects: Sequence[dict[str, Any]],
                 version: int) -> dict[str, UpsertCounts]:
    """Upsert already-fetched objects of one target (webhook and replay paths)."""
    counts: dict[str, UpsertCounts] = {}
    with engine.begin() as conn:
        for table, rows in rows_for(target, objects, version).items():
            counts[table] = upsert(conn, table, rows)
    return counts
