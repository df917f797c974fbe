"""Durable landing of verified events: group commit, one transaction per event when a group fails.

One writer thread takes every event waiting and inserts them in one transaction (group
commit: durable and fast under bursts); each request is answered only after the transaction
holding its event committed.  When that transaction fails, the writer lands the same events
again one transaction each, so an event that cannot be stored fails alone and every other
event of the group is stored and acknowledged.  When the store itself is down, every event
fails and Stripe retries them all.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from warehouse.events import insert_events

log = logging.getLogger("webhooks")


@dataclass
class _Pending:
    row: dict[str, Any]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


class GroupCommitter:
    """One thread; futures resolved with "was new" after commit, or with the storage error."""

    def __init__(self, engine: sa.Engine, max_batch: int = 500,
                 on_new: Callable[[], None] | None = None) -> None:
        self.engine, self.max_batch, self.on_new = engine, max_batch, on_new
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="landing-writer", daemon=True)
        self._committing = 0
        self._thread.start()

    def backlog(self) -> dict[str, int]:
        """Events waiting for the writer, and events in the transaction being committed."""
        return {"queued": self._queue.qsize(), "committing": self._committing}

    async def land(self, row: dict[str, Any]) -> bool:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._queue.put(_Pending(row, fut, loop))
        return await fut

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            self._committing = len(batch)
            try:
                self._commit(batch)
            finally:
                self._committing = 0

    def _commit(self, batch: Sequence[_Pending]) -> None:
        try:
            fresh = self._insert(batch)
        except Exception as exc:  # noqa: BLE001 - retried event by event below
            if len(batch) == 1:
                self._fail(batch, exc)
                return
            log.warning("landing %d events together failed (%s); landing them one by one",
                        len(batch), type(exc).__name__)
            fresh, batch = self._one_by_one(batch)
        if fresh and self.on_new is not None:
            try:
                self.on_new()
            except Exception as exc:  # noqa: BLE001 - the events are stored; the sensor runs them
                log.warning("new-event callback failed: %s", type(exc).__name__)
        seen: set[str] = set()
        for p in batch:
            new = p.row["id"] in fresh and p.row["id"] not in seen
            seen.add(p.row["id"])
            p.loop.call_soon_threadsafe(_set_result, p.future, new)

    def _one_by_one(self, batch: Sequence[_Pending]) -> tuple[set[str], list[_Pending]]:
        """Land each event in its own transaction; returns (new ids, events stored)."""
        fresh: set[str] = set()
        stored: list[_Pending] = []
        for i, p in enumerate(batch):
            try:
                fresh |= self._insert([p])
                stored.append(p)
            except sa.exc.OperationalError as exc:
                # the store itself (down, locked, out of space), not this event: the rest
                # would wait for the same failure one by one, so they all get it now
                self._fail(batch[i:], exc)
                break
            except Exception as exc:  # noqa: BLE001 - only this event is refused
                self._fail([p], exc)
        return fresh, stored

    def _insert(self, batch: Sequence[_Pending]) -> set[str]:
        with self.engine.begin() as conn:
            return insert_events(conn, [p.row for p in batch])

    def _fail(self, batch: Sequence[_Pending], exc: Exception) -> None:
        more = f" and {len(batch) - 1} more" if len(batch) > 1 else ""
        log.error("landing event %s%s failed: %s", batch[0].row["id"], more, type(exc).__name__)
        for p in batch:
            p.loop.call_soon_threadsafe(_set_exception, p.future, exc)


def _set_result(fut: asyncio.Future, value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future, exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
