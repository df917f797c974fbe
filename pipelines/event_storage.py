"""The embedded (SQLite) Dagster instance storage, writing a run's batched asset events at once.

A single-run backfill of N days over A assets makes Dagster write N x A "materialization
planned" events when the run is created and N x A per-partition materializations while it
runs (each partition carries its own metadata). Dagster hands those to the event log in
batches when ``DAGSTER_EVENT_BATCH_SIZE`` is set, but the stock SQLite event log stores a batch
one event at a time: per event a new connection, a transaction and a WAL checkpoint on each of
two database files (the run's shard and the cross-run index), about 40-90 ms on a loaded
machine, so 600 events cost more than the run's own work.

``BatchingSqliteStorage`` is Dagster's SQLite storage (same files under ``$DAGSTER_HOME``, same
schema, same readers) whose event log writes a batch of asset events in one transaction per
database file, doing per event exactly what the stock ``store_event`` does. It turns batching
on (``DAGSTER_EVENT_BATCH_SIZE``, unless set) in every process that opens the instance: the
webserver and daemon that create runs and the run workers that execute them. The PostgreSQL
storage batches materializations itself; ``deploy/dagster.yaml`` needs nothing of this.

deploy/dagster.local.yaml selects it::

    storage:
      custom:
        module: pipelines.event_storage
        class: BatchingSqliteStorage
        config:
          base_dir: {env: DAGSTER_HOME}
"""
from __future__ import annotations

import os
from collections.abc import Sequence

from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory

# events per batch: a 90-day range of ten assets is one batch per asset and step
BATCH_SIZE = "10000"


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """SQLite event log storing a batch of one run's asset events in two transactions."""

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        def is_asset_event(e: EventLogEntry) -> bool:
            return bool(e.is_dagster_event and e.dagster_event_type in ASSET_EVENTS
                        and e.dagster_event.asset_key)
        batched = [e for e in events if is_asset_event(e)]
        others = [e for e in events if not is_asset_event(e)]   # check events: one by one
        if len({e.run_id for e in batched}) > 1:
            batched, others = [], list(events)
        if batched:
            rows = [self._event_to_row(e) for e in batched]
            with self.run_connection(batched[0].run_id) as conn:
                conn.execute(SqlEventLogStorageTable.insert(), rows)
            with self.index_transaction() as conn:     # mirrored in the cross-run index
                ids = list(conn.execute(SqlEventLogStorageTable.insert().returning(
                    SqlEventLogStorageTable.c.id, sort_by_parameter_order=True), rows).scalars())
                if len(ids) != len(rows) or any(i is None for i in ids):
                    raise DagsterInvariantViolationError(
                        "Cannot store asset event tags for null event id.")
                self._store_asset_event_tags(conn, batched, ids)
                # each event overwrites its asset's row: the last of each kind per asset is
                # what the row ends up holding, as when the events are stored one by one
                last = {(e.dagster_event.asset_key, e.dagster_event_type): i
                        for i, e in enumerate(batched)}
                for i in sorted(last.values()):
                    self._store_asset_event(conn, batched[i], ids[i])
        for event in others:
            self.store_event(event)


class BatchingSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage with :class:`BatchingSqliteEventLogStorage` as its event log."""

    def __init__(self, base_dir: str, inst_data=None) -> None:
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = BatchingSqliteEventLogStorage(_event_logs_directory(base_dir))
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", BATCH_SIZE)

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # the parent builds its own class
        return cls.from_local(inst_data=inst_data, **config_value)
