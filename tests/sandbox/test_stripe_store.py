"""The store's bulk-load path: batches piped to a writer process.

Generation tests cover the normal path end to end (file store == in-memory
store); these pin the edges: batches far larger than the pipe, events whose
snapshot is also an object's stored JSON, and failures surfacing as errors.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

import orjson
import pytest

from sandbox.stripe.render import event_parts
from sandbox.stripe.store_schema import ROW
from sandbox.stripe.store import Store


def customer(n: int, padding: int = 0) -> tuple[tuple, bytes]:
    obj = {"id": f"cus_{n:06d}", "object": "customer", "created": 1_700_000_000 + n,
           "email": f"c{n}@example.test", "currency": None, "description": "x" * padding}
    return ROW["customer"](obj), orjson.dumps(obj)


def bulk_store(path: Path) -> Store:
    store = Store(str(path))
    store.bulk(True)
    store.start_async()
    return store


def batch(first: int, count: int, padding: int = 0) -> dict:
    made = [customer(n, padding) for n in range(first, first + count)]
    return {"customer": ([r for r, _ in made], [d for _, d in made])}


def test_batches_larger_than_the_pipe_arrive_intact(tmp_path: Path) -> None:
    store = bulk_store(tmp_path / "bulk.db")
    for i in range(20):  # ~40 MB in all, each batch several times the 1 MiB pipe
        store.write(batch(i * 10, 10, padding=200_000))
    store.stop_async()
    rows = list(store.iter_objects("customer"))
    assert len(rows) == 200
    assert [orjson.loads(r)["id"] for r in rows] == [f"cus_{n:06d}" for n in range(200)]
    assert all(len(orjson.loads(r)["description"]) == 200_000 for r in rows)


def test_event_snapshots_shared_with_objects_are_assembled(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "bulk.db"))
    rows = batch(1, 2)
    shared = rows["customer"][1][0]  # the same bytes object as the customer's stored JSON
    other = orjson.dumps({"id": "cus_000001", "object": "customer", "email": "old@x"})
    parts = [
        event_parts("evt_1", 1_700_000_001, "customer.created", None, 0, None, None),
        event_parts("evt_2", 1_700_000_002, "customer.updated", {"email": "old@x"}, 1,
                    "req_1", "key-1"),
    ]
    events = ([("evt_1", 1_700_000_001, "customer.created", None),
               ("evt_2", 1_700_000_002, "customer.updated", 1)],
              [(parts[0][0], other, parts[0][1]), (parts[1][0], shared, parts[1][1])])
    store.bulk(True)
    store.start_async()
    store.write(rows, [], events)
    store.stop_async()
    first, second = (orjson.loads(store.get(e) or b"null") for e in ("evt_1", "evt_2"))
    assert first["data"] == {"object": orjson.loads(other)}
    assert second["data"] == {"object": orjson.loads(shared),
                              "previous_attributes": {"email": "old@x"}}
    assert second["request"] == {"id": "req_1", "idempotency_key": "key-1"}
    assert (second["type"], second["pending_webhooks"]) == ("customer.updated", 1)
    assert store.query("SELECT delivery_success FROM events ORDER BY seq") == [(None,), (1,)]


def test_writer_errors_are_raised_when_the_load_stops(tmp_path: Path) -> None:
    store = bulk_store(tmp_path / "bulk.db")
    store.write(batch(0, 3), [("INSERT INTO no_such_table VALUES (?)", (1,))])
    with pytest.raises(RuntimeError, match="no_such_table"):
        store.stop_async()


def test_a_dead_writer_is_reported(tmp_path: Path) -> None:
    store = bulk_store(tmp_path / "bulk.db")
    assert store._writer is not None
    os.kill(store._writer.pid, signal.SIGKILL)
    store._writer.wait()
    with pytest.raises(RuntimeError, match="bulk writer failed"):
        for i in range(50):  # the broken pipe shows on a write, or at the latest at stop
            store.write(batch(i * 10, 10, padding=100_000))
        store.stop_async()
