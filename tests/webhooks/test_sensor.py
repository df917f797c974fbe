"""The landing-table sensor: one run per batch of events, never a range twice."""
from __future__ import annotations

import time

import orjson
import sqlalchemy as sa
from dagster import RunRequest, SkipReason, build_sensor_context, instance_for_test

from pipelines.ops import stripe_event_sync

from resources.warehouse import WarehouseResource
from sensors.stripe_events import stripe_events_sensor
from warehouse.db import make_engine
from warehouse.events import TAKING_TAG, event_row, insert_events
from warehouse.schema import stripe_events


def land(engine, *ids: str) -> None:
    rows = []
    for eid in ids:
        ev = {"id": eid, "object": "event", "type": "charge.succeeded",
              "created": int(time.time()), "data": {"object": {"id": "ch_" + eid, "object": "charge"}}}
        rows.append(event_row(ev, orjson.dumps(ev).decode()))
    with engine.begin() as conn:
        insert_events(conn, rows)


def evaluate(instance, url: str, cursor: str | None):
    with build_sensor_context(instance=instance, cursor=cursor,
                              resources={"warehouse": WarehouseResource(url=url)}) as ctx:
        return stripe_events_sensor(ctx), ctx


def test_one_run_per_batch_with_range_keys(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = WarehouseResource(url=url).engine()
    with instance_for_test() as instance:
        result, _ = evaluate(instance, url, None)
        assert isinstance(result, SkipReason)
        land(engine, "evt_a", "evt_b", "evt_c", "evt_a")  # a duplicate lands once
        result, _ = evaluate(instance, url, None)
        [request] = result.run_requests
        assert isinstance(request, RunRequest)
        assert request.run_key == "stripe-events-1-3" and result.cursor == "3"
        assert request.tags["stripe/events_pending"] == "3"
        assert request.run_config["ops"]["apply_stripe_events"]["config"]["up_to"] == 3
        # same cursor, nothing new: no second run for the same range
        again, _ = evaluate(instance, url, "3")
        assert isinstance(again, SkipReason)
        land(engine, "evt_d", "evt_e")
        nxt, _ = evaluate(instance, url, "3")
        assert [r.run_key for r in nxt.run_requests] == ["stripe-events-4-5"]


def test_events_left_pending_are_swept_after_a_minute(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = WarehouseResource(url=url).engine()
    land(engine, "evt_a")
    with engine.begin() as conn:
        conn.execute(stripe_events.update().values(
            received_at=sa.func.datetime("now", "-5 minutes")))
    with instance_for_test() as instance:
        result, _ = evaluate(instance, url, "1")
        [request] = result.run_requests
        assert request.run_key.startswith("stripe-events-sweep-1-")
        assert make_engine(url)  # the engine is reusable after the tick


def test_no_second_run_while_one_has_not_begun_taking_events(tmp_path) -> None:
    """A run queued (or waiting for the erp_api pool) takes every pending event when it begins,
    so events landing meanwhile launch nothing; once it has begun, new events launch a run."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = WarehouseResource(url=url).engine()
    with instance_for_test() as instance:
        land(engine, "evt_a")
        [request] = evaluate(instance, url, None)[0].run_requests
        run = instance.create_run_for_job(stripe_event_sync, run_config=request.run_config,
                                          tags=request.tags)  # NOT_STARTED
        land(engine, "evt_b", "evt_c")
        waiting, _ = evaluate(instance, url, "1")
        assert isinstance(waiting, SkipReason) and run.run_id in waiting.skip_message
        instance.add_run_tags(run.run_id, {TAKING_TAG: "true"})
        [nxt] = evaluate(instance, url, "1")[0].run_requests
        assert nxt.run_key == "stripe-events-2-3"
        instance.report_run_failed(run)     # a run that ended never counts as waiting
        land(engine, "evt_d")
        assert [r.run_key for r in evaluate(instance, url, "3")[0].run_requests] == [
            "stripe-events-4-4"]
