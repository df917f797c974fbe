"""Issue 12, break 1: one event Stripe cannot return never halts the near-real-time sync.

Nine events land through the webhook receiver, validly signed: those of two real
payments, and one ``charge.succeeded`` for a charge the Stripe sandbox does not
hold (as for an object of another account or mode, or since deleted).  The sync
run applies and posts the two payments (read back through the ERP's API), retries
the bad event a bounded number of times on a stored schedule, then marks it
``failed`` with Stripe's exact message; the ``no_failed_events`` check lists it,
every run succeeds, the sensor stops asking for it, and a replay shows Stripe's
answer again.  A Stripe outage (5xx) defers events without burning their tries; an
object lacking a field fails only its own event; events fetched from the wrong
account are failed, then applied and posted by a replay once the key is fixed.
On SQLite and on PostgreSQL.
"""
from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from datetime import datetime, timedelta, timezone

import orjson
import pytest
import sqlalchemy as sa
import stripe
from dagster import AssetCheckKey, AssetKey, SkipReason, build_sensor_context, instance_for_test
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from starlette.testclient import TestClient

from assets.events import no_failed_events
from connectors.erp import make_adapter
from connectors.stripe import StripeApi
from domain.erp import DocKind
from pipelines.ops import stripe_event_replay, stripe_event_sync
from resources import ErpResource, StripeResource, WarehouseResource
from sensors.stripe_events import stripe_events_sensor
from tests.erp.conftest import start_erp_sandbox
from tests.sandbox.fixtures import start_stripe_sandbox
from warehouse.db import make_engine
from warehouse.event_retry import RetryPolicy, record_failures
from warehouse.event_sync import EventApplier
from warehouse.events import pending_events
from warehouse.migrate import upgrade
from warehouse.schema import stripe_events
from webhooks.app import build_app

SECRET = "whsec_chaos_event_isolation"


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    """The product's Stripe account (no history: each test makes its own payments)."""
    sb = start_stripe_sandbox(tmp_path_factory.mktemp("stripe"), history_days=0)
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def tims(tmp_path_factory):
    erp = start_erp_sandbox("tims", tmp_path_factory.mktemp("tims"))
    yield erp
    erp.proc.stop()


def signed(body: bytes) -> dict[str, str]:
    t = int(time.time())
    sig = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"}


def deliver(engine: sa.Engine, events: list[dict]) -> None:
    """POST each event to the webhook receiver, signed, as Stripe delivers it."""
    with TestClient(build_app(engine, [SECRET])) as client:
        for ev in events:
            body = orjson.dumps(ev)
            assert client.post("/webhooks/stripe", content=body,
                               headers=signed(body)).status_code == 200


def pay(client: stripe.StripeClient, amount: int) -> str:
    """A customer pays by card; returns the charge id."""
    cus = client.v1.customers.create(params={"email": f"{uuid.uuid4().hex[:8]}@example.test",
                                             "name": "Chaos Buyer"})
    pi = client.v1.payment_intents.create(params={
        "amount": amount, "currency": "usd", "customer": cus.id,
        "payment_method": "pm_card_visa", "confirm": True})
    return pi.latest_charge


def events_since(client: stripe.StripeClient, seen: set[str]) -> list[dict]:
    events = [e.to_dict() for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()
              if e.id not in seen]
    return sorted(events, key=lambda e: e["created"])


def resources(sb, url: str, erp=None, **stripe_settings) -> dict:
    erp_res = ErpResource() if erp is None else ErpResource(
        kind="tims", base_url=erp.env["ERP_BASE_URL"], tims_client_id=erp.env["TIMS_CLIENT_ID"],
        tims_client_secret=erp.env["TIMS_CLIENT_SECRET"])
    return {"stripe": StripeResource(api_key=sb.api_key, api_base=sb.base_url, rate_limit=1000,
                                     **stripe_settings),
            "warehouse": WarehouseResource(url=url), "erp": erp_res}


def event_row(engine: sa.Engine, event_id: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(stripe_events).where(stripe_events.c.id == event_id))
                    .one()._mapping)


def statuses(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(stripe_events.c.status, sa.func.count())
                                 .group_by(stripe_events.c.status)).all())


def sensor_tick(instance, url: str, cursor: str):
    with build_sensor_context(instance=instance, cursor=cursor,
                              resources={"warehouse": WarehouseResource(url=url)}) as ctx:
        return stripe_events_sensor(ctx)


def check_of(result) -> object:
    [check] = [c for c in result.get_asset_check_evaluations()
               if c.check_name == "no_failed_events"]
    return check


def test_an_event_stripe_cannot_return_fails_alone_and_the_payments_post(
        account, tims, warehouse_url) -> None:
    client = stripe.StripeClient(account.api_key, base_addresses={"api": account.base_url})
    seen = {e.id for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()}
    charges = [pay(client, 2599), pay(client, 4100)]
    real = events_since(client, seen)
    template = next(e for e in real if e["type"] == "charge.succeeded")
    bad_charge = "ch_" + uuid.uuid4().hex[:24]
    bad = orjson.loads(orjson.dumps(template))
    bad["id"] = "evt_" + uuid.uuid4().hex[:24]
    bad["data"]["object"] |= {"id": bad_charge, "balance_transaction": None}
    engine = make_engine(warehouse_url)
    upgrade(engine)
    deliver(engine, real[:4] + [bad] + real[4:])
    assert statuses(engine) == {"pending": 9}

    # 1st run: two tries allowed, the second one a minute later (a stored schedule, no sleep)
    res = resources(account, warehouse_url, tims, event_max_attempts=2, event_retry_seconds=60)
    with engine.connect() as conn:
        hi = conn.execute(sa.select(sa.func.max(stripe_events.c.seq))).scalar()
    config = {"ops": {"apply_stripe_events": {"config": {"up_to": hi}}}}
    first = stripe_event_sync.execute_in_process(run_config=config, resources=res)
    assert first.success
    receipts = {r.doc.external_id for r in make_adapter(tims.env).read(DocKind.PAYMENT)}
    assert set(charges) <= receipts                     # the real payments reached the ERP
    row = event_row(engine, bad["id"])
    assert (row["status"], row["attempts"], row["error"]) == (
        "pending", 1, f"No such charge: '{bad_charge}'")
    assert row["next_attempt_at"] is not None
    after = statuses(engine)     # the others are applied (or ignored: payment_intent.created)
    assert after["pending"] == 1 and after["applied"] + after.get("ignored", 0) == 8
    assert not first.get_asset_check_evaluations()      # nothing failed yet: a retry is due

    with instance_for_test() as instance:
        # not due yet: the sensor asks for nothing and a run leaves it alone
        assert isinstance(sensor_tick(instance, warehouse_url, str(hi)), SkipReason)
        with engine.connect() as conn:
            assert pending_events(conn, hi) == []
        with engine.begin() as conn:                    # a minute passes
            conn.execute(stripe_events.update().where(stripe_events.c.id == bad["id"]).values(
                next_attempt_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        [request] = sensor_tick(instance, warehouse_url, str(hi)).run_requests
        second = stripe_event_sync.execute_in_process(run_config=request.run_config,
                                                      resources=res, instance=instance)
        assert second.success
        # what the UI shows on the asset's Checks tab: the latest execution failed
        [latest] = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey(["stripe", "events"]), "no_failed_events"), limit=1)
        assert latest.status == AssetCheckExecutionRecordStatus.FAILED
        row = event_row(engine, bad["id"])
        assert (row["status"], row["attempts"], row["error"]) == (
            "failed", 2, f"No such charge: '{bad_charge}'")
        check = check_of(second)
        assert not check.passed and check.severity.value == "WARN"
        assert check.metadata["failed_events"].value == 1
        assert check.metadata["first_failed_event_ids"].value == [bad["id"]]
        table = check.metadata["first_failed_events"].value
        assert bad["id"] in table and bad_charge in table and "charge.succeeded" in table
        assert f"No such charge: '{bad_charge}'" in table
        # the failed event is never requested again, and a new run does not re-fail
        assert isinstance(sensor_tick(instance, warehouse_url, str(hi)), SkipReason)
    third = stripe_event_sync.execute_in_process(run_config=config, resources=res)
    assert third.success and event_row(engine, bad["id"])["attempts"] == 2
    direct = no_failed_events(warehouse=WarehouseResource(url=warehouse_url))
    assert not direct.passed and direct.metadata["failed_events"].value == 1

    # replay by id: Stripe still has no such charge; the event stays failed with its answer
    replay = stripe_event_replay.execute_in_process(
        run_config={"ops": {"replay_stripe_events": {"config": {"event_ids": [bad["id"]]}}}},
        resources=res)
    assert replay.success
    row = event_row(engine, bad["id"])
    assert (row["status"], row["attempts"], row["error"]) == (
        "failed", 3, f"No such charge: '{bad_charge}'")
    assert not check_of(replay).passed
    unknown = stripe_event_replay.execute_in_process(
        run_config={"ops": {"replay_stripe_events": {"config": {"event_ids": ["evt_nope"]}}}},
        resources=res, raise_on_error=False)
    assert not unknown.success
    # the ERP got each payment once
    receipts = [r.doc.external_id for r in make_adapter(tims.env).read(DocKind.PAYMENT)]
    assert sorted(c for c in receipts if c in charges) == sorted(charges)


def test_a_stripe_outage_defers_events_without_burning_their_attempts(
        account, tims, warehouse_url) -> None:
    client = stripe.StripeClient(account.api_key, base_addresses={"api": account.base_url})
    seen = {e.id for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()}
    charge = pay(client, 1234)
    engine = make_engine(warehouse_url)
    upgrade(engine)
    deliver(engine, events_since(client, seen))
    with engine.connect() as conn:
        hi = conn.execute(sa.select(sa.func.max(stripe_events.c.seq))).scalar()
        events = pending_events(conn, hi)
    # Stripe answers 503 for this charge, after the client's own retries (none here)
    account.fault(kind="503", count=1000, path_prefix=f"/v1/charges/{charge}",
                    should_retry=False)
    try:
        api = StripeApi(account.api_key, account.base_url, rate_limit=1000,
                        max_network_retries=0, outer_attempts=1)
        result = EventApplier(api, engine).apply(events)
        with engine.begin() as conn:   # one try only: a 404 would fail the event at once
            outcome = record_failures(conn, result.failures, RetryPolicy(max_attempts=1), None)
    finally:
        account.clear_faults()
    assert outcome["deferred"] and not outcome["failed"] and not outcome["retry"]
    with engine.connect() as conn:
        waiting = conn.execute(sa.select(stripe_events.c.attempts, stripe_events.c.error,
                                         stripe_events.c.next_attempt_at)
                               .where(stripe_events.c.seq.in_(outcome["deferred"]))).all()
    assert all(attempts == 0 and error and retry_at is not None
               for attempts, error, retry_at in waiting)
    assert result.applied and not set(result.applied) & set(outcome["deferred"])

    # Stripe is back and the retry time has come: the run applies and posts them
    with engine.begin() as conn:
        conn.execute(stripe_events.update().where(stripe_events.c.status == "pending").values(
            next_attempt_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    run = stripe_event_sync.execute_in_process(
        run_config={"ops": {"apply_stripe_events": {"config": {"up_to": hi}}}},
        resources=resources(account, warehouse_url, tims, event_max_attempts=1))
    assert run.success and "pending" not in statuses(engine) and "failed" not in statuses(engine)
    assert charge in {r.doc.external_id for r in make_adapter(tims.env).read(DocKind.PAYMENT)}


def test_an_object_lacking_a_field_fails_only_its_own_event(warehouse_url) -> None:
    """Customers are taken from the event: one lacking ``created`` fails alone, naming it."""
    engine = make_engine(warehouse_url)
    upgrade(engine)
    now = int(time.time())
    events = []
    for n, customer in enumerate([{"id": "cus_good", "object": "customer", "created": now,
                                   "email": "good@example.test", "livemode": False},
                                  {"id": "cus_bad", "object": "customer",
                                   "email": "bad@example.test", "livemode": False}]):
        events.append({"id": f"evt_cus_{n}", "object": "event", "type": "customer.created",
                       "created": now, "livemode": False, "data": {"object": customer}})
    deliver(engine, events)
    with engine.connect() as conn:
        pending = pending_events(conn, 10)
    result = EventApplier(None, engine).apply(pending)   # nothing to fetch from Stripe
    [(seq, failure)] = result.failures.items()
    assert seq == next(e["seq"] for e in pending if e["id"] == "evt_cus_1")
    assert failure.message == "Stripe customer cus_bad: field 'created' is missing"
    assert not failure.transient and len(result.applied) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT id FROM stripe_customers")).scalars().all() == \
            ["cus_good"]


@pytest.fixture(scope="module")
def other_account(tmp_path_factory):
    """A second Stripe account: it holds none of the first one's objects."""
    sb = start_stripe_sandbox(tmp_path_factory.mktemp("stripe-other"), history_days=0, seed=2)
    yield sb
    sb.stop()


def test_replay_applies_failed_events_once_their_object_can_be_fetched(
        account, other_account, tims, warehouse_url) -> None:
    """Events fetched from the wrong account fail; once the key is fixed, replay posts them."""
    client = stripe.StripeClient(account.api_key, base_addresses={"api": account.base_url})
    seen = {e.id for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()}
    charge = pay(client, 7700)
    engine = make_engine(warehouse_url)
    upgrade(engine)
    deliver(engine, events_since(client, seen))
    with engine.connect() as conn:
        hi = conn.execute(sa.select(sa.func.max(stripe_events.c.seq))).scalar()
    wrong = resources(other_account, warehouse_url, tims, event_max_attempts=1)
    run = stripe_event_sync.execute_in_process(
        run_config={"ops": {"apply_stripe_events": {"config": {"up_to": hi}}}}, resources=wrong)
    assert run.success and not check_of(run).passed
    with engine.connect() as conn:
        failed = dict(conn.execute(sa.select(stripe_events.c.id, stripe_events.c.error)
                                   .where(stripe_events.c.status == "failed")).all())
    assert failed and set(failed.values()) == {f"No such charge: '{charge}'"}
    assert charge not in {r.doc.external_id for r in make_adapter(tims.env).read(DocKind.PAYMENT)}

    replay = stripe_event_replay.execute_in_process(   # all failed events (default config)
        resources=resources(account, warehouse_url, tims))
    assert replay.success and check_of(replay).passed
    assert all(event_row(engine, eid)["status"] == "applied" for eid in failed)
    assert charge in {r.doc.external_id for r in make_adapter(tims.env).read(DocKind.PAYMENT)}
