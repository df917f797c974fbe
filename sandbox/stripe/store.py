"""SQLite object store: rendered JSON plus the indexed columns lists filter on.

One table holds every object (``objects``) except events, which live in the
narrower ``events`` table (they are the most numerous rows and need only a
few columns, so bulk loads bind far fewer parameters).  ``data`` is the
rendered JSON, written once per state change, so reads never serialise.
Side tables hold engine bookkeeping that is not part of any object's JSON:

* ``bt_payout`` - which automatic payout swept a balance transaction (the
  ``payout`` filter of ``GET /v1/balance_transactions``).
* ``unswept``, ``jobs``, ``meta`` - engine state (see ``engine.py``).

Thread-safety: one connection guarded by ``self.lock`` (an ``RLock``) so the
asyncio thread and a generator/live-tick thread can share a store.  The engine
takes the same lock around whole operations so multi-statement changes stay
atomic.
"""

from __future__ import annotations

import contextlib
import fcntl
import marshal
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import StripeError, invalid
from .store_schema import (DELETABLE, EVENT_RETENTION, FILTERABLE, RANGEABLE, SCHEMA,
                           SECONDARY)
from .store_writer import F_SETPIPE_SZ, FRAME, Pipe, write_batch

_EVENT_FILTERS = frozenset({"type", "delivery_success"})


class Store:
    """Rendered Stripe objects in SQLite (file path or ``":memory:"``)."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # Only takes effect on a new file.  64 KiB pages: an eighth of the page
        # writes of 8 KiB in bulk loads (measured: bulk writer CPU -20%; list
        # pages served no slower).
        self.conn.execute("PRAGMA page_size=65536")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA cache_size=-262144")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self.conn.executescript(SCHEMA)
        if "currency" not in {r[1] for r in self.conn.execute("PRAGMA table_info(unswept)")}:
            # A file written before multi-currency settlement: everything was USD.
            self.conn.execute("ALTER TABLE unswept ADD COLUMN currency TEXT NOT NULL DEFAULT 'usd'")
        self.create_indexes()
        # Set by the Engine: the sandbox clock, used for the 30-day event window.
        self.clock: Callable[[], int] | None = None
        self._writer: subprocess.Popen[bytes] | None = None
        self._pipe = Pipe(-1)

    # ------------------------------------------------------------------ writes (engine only)

    def write(
        self,
        rows: dict[str, tuple[list[tuple[Any, ...]], list[bytes]]],
        ops: Iterable[tuple[str, Any]] = (),
        events: tuple[list[tuple[Any, ...]], list[tuple[bytes, bytes, bytes]]] = ([], []),
    ) -> None:
        """Upsert objects, insert events and run bookkeeping statements, in one
        transaction.

        ``rows`` maps an object type to ``(rows, jsons)``: ``store_schema.ROW`` tuples
        and, in the same order, the objects' rendered JSON.  ``events`` is
        ``(rows, parts)``: rows ``(id, created, type, delivery_success)`` and
        per event ``(head, snapshot, tail)``, its JSON being their
        concatenation (``render.event_parts``).
        An op's params may be a list of tuples (``executemany``).

        While an async writer runs (bulk generation), the batch goes to its
        pipe instead: the small row tuples are marshalled, and the JSON
        documents (nearly all the bytes) are written as they are (``Pipe``).
        An event snapshot that is also an object's stored JSON (the object's
        latest state) is sent once; the writer assembles the events.
        """
        ops = list(ops)
        if self._writer is not None:
            if self._pipe.error is not None:
                self.stop_async()  # raises with the writer's error message
            jsons: list[bytes] = []
            metas = []
            for object, (group, data) in rows.items():
                metas.append((object, group))
                jsons += data
            event_rows = []
            if events[0]:
                index = dict(zip(map(id, jsons), range(len(jsons))))
                for row, (head, snapshot, tail) in zip(*events):
                    at = index.get(id(snapshot))
                    if at is None:
                        at = index[id(snapshot)] = len(jsons)
                        jsons.append(snapshot)
                    event_rows.append((*row, head, tail, at))
            lengths = list(map(len, jsons))
            skeleton = marshal.dumps((metas, ops, event_rows, lengths), 2)
            total = sum(lengths)
            jsons.insert(0, FRAME.pack(len(skeleton), total) + skeleton)
            self._pipe.send(jsons, total + len(jsons[0]))
            return
        with self.lock:
            write_batch(
                self.conn,
                rows,
                ops,
                [(*row, b"".join(parts)) for row, parts in zip(*events)],
            )

    def start_async(self) -> None:
        """Hand write batches to a writer *process* (file databases only).

        Bulk generation is CPU-bound Python; a separate process gives SQLite
        its own core (a thread would fight for the GIL).  A plain subprocess
        reading batches from its stdin avoids multiprocessing's re-import of
        ``__main__``.  Only for a caller that holds ``lock``
        throughout and does not read in between, after ``bulk(True)`` (the
        writer turns the journal off, which needs the file out of WAL mode).
        In-memory stores keep writing synchronously.
        """
        if self.path == ":memory:":
            return
        root = str(Path(__file__).resolve().parents[2])
        code = (
            f"import sys; sys.path.insert(0, {root!r}); "
            f"from sandbox.stripe.store_writer import writer_main; writer_main({self.path!r})"
        )
        self._writer = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self._writer.stdin is not None
        with contextlib.suppress(OSError):  # a 1 MiB pipe (Linux): fewer wake-ups
            fcntl.fcntl(self._writer.stdin.fileno(), F_SETPIPE_SZ, 1 << 20)
        self._pipe = Pipe(self._writer.stdin.fileno())

    def stop_async(self) -> None:
        """Wait until the writer process has committed every batch."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        pipe, self._pipe = self._pipe, Pipe(-1)
        pipe.send([FRAME.pack(0, 0)], FRAME.size)
        pipe.flush()
        with contextlib.suppress(OSError):
            os.set_blocking(pipe.fd, True)
        out, _ = writer.communicate()
        if writer.returncode != 0 or out.strip() != b"ok":
            detail = out.decode(errors="replace") or f"exit status {writer.returncode}"
            if pipe.error is not None:
                detail += f" ({pipe.error!r})"
            raise RuntimeError(f"bulk writer failed: {detail}")

    def _sync(self) -> None:
        """Guard for reads (called with ``lock`` held).

        Other threads wait on ``lock`` while a bulk load runs, so only the
        loading thread itself can get here with the writer active: a bug.
        """
        if self._writer is not None:
            raise RuntimeError("store is being bulk-loaded; reads must wait for stop_async()")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            self._sync()
            return self.conn.execute(sql, params).fetchall()

    def bulk(self, on: bool) -> None:
        """Switch to bulk-load settings (no journal, no fsync) and back."""
        with self.lock:
            if on:
                # No journal at all while bulk loading: a crash means regenerating anyway.
                # Indexes stay: their upkeep runs in the writer process, in parallel
                # with generation, whereas rebuilding them afterwards is serial
                # (measured slower end to end).
                self.conn.execute("PRAGMA journal_mode=OFF")
                self.conn.execute("PRAGMA synchronous=OFF")
            else:
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
                self.conn.execute("PRAGMA analysis_limit=1000")
                self.conn.execute("ANALYZE")

    def create_indexes(self) -> None:
        for name, spec in SECONDARY.items():
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {spec}")

    def meta_get(self, key: str) -> bytes | None:
        row = self.query("SELECT value FROM meta WHERE key=?", (key,))
        return row[0][0] if row else None

    def clear(self) -> None:
        with self.lock:
            self.conn.execute("BEGIN")
            for table in ("objects", "events", "bt_payout", "unswept", "jobs", "meta"):
                self.conn.execute(f"DELETE FROM {table}")
            self.conn.execute("COMMIT")

    # ------------------------------------------------------------------ reads (HTTP layer)

    def _event_cutoff(self) -> int | None:
        return None if self.clock is None else self.clock() - EVENT_RETENTION

    def get(self, id: str) -> bytes | None:
        """Current rendered JSON of any object; events past retention are gone."""
        with self.lock:
            self._sync()
            if id.startswith("evt_"):
                row = self.conn.execute(
                    "SELECT data, created FROM events WHERE id=?", (id,)
                ).fetchone()
                cutoff = self._event_cutoff()
                if row is not None and cutoff is not None and row[1] < cutoff:
                    return None
            else:
                row = self.conn.execute("SELECT data FROM objects WHERE id=?", (id,)).fetchone()
        return None if row is None else row[0]

    def get_many(self, ids: list[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for id in dict.fromkeys(ids):
            data = self.get(id)
            if data is not None:
                out[id] = data
        return out

    def list(
        self,
        object: str,
        *,
        filters: dict[str, Any] | None = None,
        created: dict[str, int] | None = None,
        limit: int = 10,
        starting_after: str | None = None,
        ending_before: str | None = None,
        extra_ranges: dict[str, dict[str, int]] | None = None,
    ) -> tuple[list[bytes], bool]:
        """Newest-first page of ``object`` rows and ``has_more``.

        Filters are equality on indexed columns (``collection_method`` for invoices
        and subscriptions), plus:

        * ``payout`` on balance transactions: BTs swept by that automatic payout
          (including the payout's own BT);
        * ``type`` with ``*`` wildcards and ``types`` (list, OR) on events;
        * ``status`` on subscriptions: default excludes ``canceled`` and
          ``incomplete_expired``; ``all`` and ``ended`` as on Stripe.

        Deleted customers/products/endpoints and events older than 30 days
        (sandbox clock) are never listed.
        """
        table = "events" if object == "event" else "objects"
        where = ["1"] if object == "event" else ["object = ?"]
        params: list[Any] = [] if object == "event" else [object]
        filters = dict(filters or {})
        if object in DELETABLE:
            where.append("deleted IS NULL")
        if object == "event":
            cutoff = self._event_cutoff()
            if cutoff is not None:
                where.append("created >= ?")
                params.append(cutoff)
        if object == "subscription":
            status = filters.pop("status", None)
            if status is None:
                where.append("status NOT IN ('canceled', 'incomplete_expired')")
            elif status == "ended":
                where.append("status IN ('canceled', 'incomplete_expired')")
            elif status != "all":
                where.append("status = ?")
                params.append(status)
        for key, value in filters.items():
            if key == "payout" and object == "balance_transaction":
                where.append("id IN (SELECT bt FROM bt_payout WHERE payout = ?)")
                params.append(value)
            elif key == "types":
                values = list(value)
                where.append(f"type IN ({', '.join('?' * len(values))})")
                params.extend(values)
            elif key == "type" and isinstance(value, str) and "*" in value:
                where.append("type GLOB ?")
                params.append(value.replace("[", "[[]").replace("?", "[?]"))
            elif key == "collection_method" and object in ("invoice", "subscription"):
                where.append("type = ?")  # stored in the generic ``type`` column
                params.append(value)
            elif key in (_EVENT_FILTERS if object == "event" else FILTERABLE):
                where.append(f"{key} = ?")
                params.append(int(value) if isinstance(value, bool) else value)
            else:
                raise invalid(
                    f"Received unknown parameter: {key}", param=key, code="parameter_unknown"
                )
        for column, bounds in [("created", created or {})] + list((extra_ranges or {}).items()):
            if column != "created" and column not in RANGEABLE:
                raise invalid(
                    f"Received unknown parameter: {column}", param=column, code="parameter_unknown"
                )
            for op, value in bounds.items():
                sql_op = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "="}.get(op)
                if sql_op is None:
                    raise invalid(
                        f"Received unknown parameter: {column}[{op}]",
                        param=f"{column}[{op}]",
                        code="parameter_unknown",
                    )
                where.append(f"{column} {sql_op} ?")
                params.append(int(value))
        descending = ending_before is None
        cursor = starting_after or ending_before
        if cursor is not None:
            with self.lock:
                self._sync()
                pos = self.conn.execute(
                    f"SELECT created, seq FROM {table} WHERE id = ?"
                    + ("" if object == "event" else " AND object = ?"),
                    (cursor,) if object == "event" else (cursor, object),
                ).fetchone()
            if pos is None:
                raise StripeError(
                    400,
                    "invalid_request_error",
                    f"No such {object}: '{cursor}'",
                    code="resource_missing",
                    param="starting_after" if starting_after else "ending_before",
                )
            cmp = "<" if descending else ">"
            # The plain bound lets SQLite range-scan the created index from the cursor.
            where.append(f"created {cmp}= ?")
            where.append(f"(created {cmp} ? OR (created = ? AND seq {cmp} ?))")
            params.extend((pos[0], pos[0], pos[0], pos[1]))
        order = "DESC" if descending else "ASC"
        sql = (
            f"SELECT data FROM {table} WHERE {' AND '.join(where)} "
            f"ORDER BY created {order}, seq {order} LIMIT ?"
        )
        params.append(limit + 1)
        with self.lock:
            self._sync()
            rows = [r[0] for r in self.conn.execute(sql, params)]
        has_more = len(rows) > limit
        rows = rows[:limit]
        if not descending:
            rows.reverse()
        return rows, has_more

    def iter_objects(self, object: str) -> Iterator[bytes]:
        """Every stored object of a type in insertion order (export)."""
        last = 0
        if object == "event":
            sql, args = "SELECT seq, data FROM events WHERE seq > ? ORDER BY seq LIMIT 5000", ()
        else:
            sql = (
                "SELECT seq, data FROM objects WHERE seq > ? AND object = ? "
                "AND deleted IS NULL ORDER BY seq LIMIT 5000"
            )
            args = (object,)
        while True:
            with self.lock:
                batch = self.conn.execute(sql, (last, *args)).fetchall()
            if not batch:
                return
            for _, data in batch:
                yield data
            last = batch[-1][0]
