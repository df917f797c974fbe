"""Bulk writes of the object store: one batch in one transaction, and the
writer process that applies batches sent down a pipe during bulk generation
(``Store.start_async``).
"""

from __future__ import annotations

import marshal
import os
import select
import sqlite3
import struct
import sys
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from .store_schema import INSERT


def write_batch(
    conn: sqlite3.Connection,
    rows: dict[str, tuple[list[tuple[Any, ...]], list[Any]]],
    ops: list[tuple[str, Any]],
    events: Sequence[tuple[Any, ...]] = (),
    transaction: bool = True,
) -> None:
    """Apply one batch (see ``Store.write``; events as complete rows); in its
    own transaction unless the caller holds one.  JSON documents may be
    ``bytes`` or memoryviews."""
    grouped = {object: list(map(tuple.__add__, group, zip(data)))  # row + (json,)
               for object, (group, data) in rows.items()}
    if transaction:
        conn.execute("BEGIN")
    try:
        for object, group in grouped.items():
            conn.executemany(INSERT[object], group)
        if events:
            conn.executemany(_INSERT_EVENT, events)
        for sql, params in ops:
            if isinstance(params, list):
                conn.executemany(sql, params)
            else:
                conn.execute(sql, params)
        if transaction:
            conn.execute("COMMIT")
    except BaseException:
        if transaction:
            conn.execute("ROLLBACK")
        raise


FRAME = struct.Struct("<QQ")  # skeleton and JSON byte counts
_COMMIT_BYTES = 256 << 20
# Bytes the generator may queue for the writer before it waits for the pipe.
_BACKLOG_BYTES = 64 << 20
F_SETPIPE_SZ = 1031
_INSERT_EVENT = (
    "INSERT INTO events (id, created, type, delivery_success, data) VALUES (?, ?, ?, ?, ?)"
)


class Pipe:
    """Non-blocking writes of batches to the bulk writer's stdin.

    The generating thread itself writes whatever the pipe accepts and keeps
    the rest (``backlog``) for its next batch; it waits only when more than
    ``_BACKLOG_BYTES`` are queued.  A helper thread would need the GIL back
    after each blocking write, which a busy generator holds for up to a
    switch interval at a time.  Buffers are handed to ``writev`` as they are
    (no joining copy).
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.backlog: list[Any] = []
        self.head = 0
        self.queued = 0
        self.error: OSError | None = None
        if fd >= 0:
            os.set_blocking(fd, False)

    def send(self, buffers: list[Any], size: int) -> None:
        self.backlog += buffers
        self.queued += size
        self._write(_BACKLOG_BYTES // 2 if self.queued > _BACKLOG_BYTES else None)

    def flush(self) -> None:
        self._write(0)

    def _write(self, limit: int | None) -> None:
        """Write until the pipe is full, then wait until at most ``limit``
        bytes are queued (``None``: do not wait)."""
        backlog = self.backlog
        while self.head < len(backlog):
            if self.error is not None:
                self.backlog, self.head, self.queued = [], 0, 0
                return
            chunk = backlog[self.head : self.head + 512]
            try:
                written = os.writev(self.fd, chunk)
            except BlockingIOError:
                if limit is None or self.queued <= limit:
                    break
                poller = select.poll()  # (not select(): the fd may be above FD_SETSIZE)
                poller.register(self.fd, select.POLLOUT)
                poller.poll()
                continue
            except OSError as exc:  # the writer died; stop_async reports why
                self.error = exc
                continue
            self.queued -= written
            for buffer in chunk:
                size = len(buffer)
                if written < size:
                    if written:  # partial write: the rest of this buffer goes next
                        backlog[self.head] = memoryview(buffer)[written:]
                    break
                written -= size
                self.head += 1
        if self.head > 4096 or self.head == len(backlog):
            del backlog[: self.head]
            self.head = 0


def writer_main(path: str) -> None:
    """Bulk writer process: apply the batches ``Store.write`` sends to stdin.

    The producer flushes small batches (they stay in the CPU cache); the writer
    groups them into transactions of about ``_COMMIT_BYTES`` so that the pages
    at the growing end of each index are written out once per group, not once
    per batch.  Journal off: an interrupted bulk load is regenerated anyway.
    JSON documents are bound as memoryviews of the received block (no copy).
    """
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-524288")
    # Pages evicted from the cache are read back through a mapping instead of
    # copied by pread (measured: less system time at 1M BTs).
    conn.execute("PRAGMA mmap_size=17179869184")
    stdin = sys.stdin.buffer
    status = "ok"
    pending = 0
    conn.execute("BEGIN")
    while True:
        header = stdin.read(FRAME.size)
        if len(header) < FRAME.size:
            break
        skeleton_size, json_size = FRAME.unpack(header)
        if not skeleton_size:
            break
        skeleton = stdin.read(skeleton_size)
        block = memoryview(stdin.read(json_size))
        if status != "ok":
            continue
        try:
            metas, ops, event_rows, lengths = marshal.loads(skeleton)
            offsets = list(accumulate(lengths, initial=0))
            jsons = list(map(block.__getitem__, map(slice, offsets, offsets[1:])))
            rows = {}
            pos = 0
            for object, group in metas:
                rows[object] = (group, jsons[pos : pos + len(group)])
                pos += len(group)
            events = [
                (id, created, type, success, b"".join((head, jsons[at], tail)))
                for id, created, type, success, head, tail, at in event_rows
            ]
            write_batch(conn, rows, ops, events, transaction=False)
            pending += json_size
            if pending >= _COMMIT_BYTES:
                conn.execute("COMMIT")
                conn.execute("BEGIN")
                pending = 0
        except Exception as exc:  # reported when the producer stops us
            status = repr(exc)
    if status == "ok":
        try:
            conn.execute("COMMIT")
        except Exception as exc:
            status = repr(exc)
    conn.close()
    sys.stdout.write(status)
    sys.stdout.flush()
