"""Alerts reach a local webhook receiver: one per failed run and one per failed check, naming the
ERP, the document and the message, with no secret value in them; old dead letters likewise."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from dagster import DagsterInstance, build_sensor_context, instance_for_test, materialize

from assets.erp import erp_posting
from domain.erp import DocKind
from posting import ledger
from assets.events import stripe_events_catchup
from pipelines.definitions import alert_sensors, check_keys, defs
from resources.alerts import AlertResource
from resources.erp import ErpResource
from resources.stripe import StripeResource
from resources.warehouse import WarehouseResource
from tests.support.processes import free_port
from warehouse.migrate import upgrade
from warehouse.schema import erp_dead_letters, stripe_events

SECRETS = {"TIMS_CLIENT_SECRET": "tims-client-secret-9f8e", "STRIPE_API_KEY": "sk_test_alertsecret77",
           "EPICOR_PASSWORD": "epicor-pw-alerts-3141"}
run_failure, check_failure, dead_letters = alert_sensors


@pytest.fixture
def secrets(monkeypatch) -> dict[str, str]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


def leaked(raw: bytes, receiver) -> list[str]:
    text = raw.decode()
    return [s for s in [*SECRETS.values(), receiver.url.rsplit("/", 1)[-1]] if s in text]


def tick(sensor, instance: DagsterInstance, cursor: str | None, **resources):
    with build_sensor_context(instance=instance, cursor=cursor, resources=resources,
                              definitions=defs) as context:
        return sensor.evaluate_tick(context)


def test_a_failed_run_delivers_one_alert_naming_erp_url_and_document(receiver, secrets, engine,
                                                                      mirrored) -> None:
    alerts = AlertResource(webhook_url=receiver.url)
    dead_port = free_port()             # nothing listens: the ERP is down
    erp = ErpResource(kind="tims", base_url=f"http://127.0.0.1:{dead_port}",
                      tims_client_id="stripe-erp", tims_client_secret=secrets["TIMS_CLIENT_SECRET"],
                      retry_max_seconds="1")
    with instance_for_test() as instance:
        first = tick(run_failure, instance, None, alerts=alerts, erp=erp)
        assert not receiver.bodies                        # the first tick only sets the cursor
        day = datetime.fromtimestamp(mirrored[1] - 5 * 86400, tz=timezone.utc).strftime("%Y-%m-%d")
        result = materialize([erp_posting], partition_key=day, instance=instance,
                             raise_on_error=False, resources={
                                 "erp": erp, "warehouse": WarehouseResource(url=str(engine.url)),
                                 "stripe": StripeResource(api_key=secrets["STRIPE_API_KEY"])})
        assert not result.success
        tick(run_failure, instance, first.cursor, alerts=alerts, erp=erp)
    assert len(receiver.bodies) == 1, receiver.bodies
    body = receiver.bodies[0]
    assert body["alert_kind"] == "run_failure"
    assert "tims" in body["text"] and f"127.0.0.1:{dead_port}" in body["text"]
    assert "Document:" in body["text"] and day in body["text"] and result.run_id in body["text"]
    assert leaked(receiver.raw[0], receiver) == []


def test_a_failing_check_delivers_one_alert_with_its_metadata(receiver, secrets, stripe_history,
                                                               tmp_path) -> None:
    alerts = AlertResource(webhook_url=receiver.url)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    warehouse = WarehouseResource(url=url)
    engine = warehouse.engine()
    upgrade(engine)
    stale = int(time.time()) - 27 * 86400          # the newest landed event: 27 days old
    event = {"id": "evt_stale", "object": "event", "type": "charge.succeeded", "created": stale,
             "livemode": False, "data": {"object": {"id": "ch_stale", "object": "charge"}}}
    with engine.begin() as conn:
        conn.execute(stripe_events.insert().values(
            id="evt_stale", type=event["type"], created=stale, object_id="ch_stale",
            object_type="charge", livemode=False, payload=orjson.dumps(event).decode(),
            received_at=datetime.now(timezone.utc), source="webhook", status="applied"))
    stripe = StripeResource(api_key=stripe_history.api_key, api_base=stripe_history.base_url)
    with instance_for_test() as instance:
        first = tick(check_failure, instance, None, alerts=alerts)
        result = materialize([stripe_events_catchup], instance=instance, raise_on_error=False,
                             resources={"stripe": stripe, "warehouse": warehouse})
        assert [e.passed for e in result.get_asset_check_evaluations()] == [False]
        second = tick(check_failure, instance, first.cursor, alerts=alerts)
        tick(check_failure, instance, second.cursor, alerts=alerts)   # nothing new: no alert
    assert len(receiver.bodies) == 1, receiver.bodies
    text = receiver.bodies[0]["text"]
    assert "events_within_retention" in text and "stripe/events" in text
    assert "gap_days" in text and "ERROR" in text
    assert leaked(receiver.raw[0], receiver) == []


def test_dead_letters_older_than_the_threshold_are_alerted_once(receiver, mailbox, secrets,
                                                                tmp_path) -> None:
    box, smtp_port = mailbox
    alerts = AlertResource(webhook_url=receiver.url, dead_letter_age_minutes=60,
                           smtp_host="127.0.0.1", smtp_port=smtp_port,
                           smtp_to="controller@example.com, ops@example.com")
    warehouse = WarehouseResource(url=f"sqlite:///{tmp_path / 'w.db'}")
    engine = warehouse.engine()
    upgrade(engine)
    now = datetime.now(timezone.utc)

    def dead(ext: str, age: timedelta) -> None:
        with engine.begin() as conn:      # recorded as posting records it, then aged
            ledger.record_dead(conn, "epicor", [{
                "kind": DocKind.INVOICE, "external_id": ext, "source_id": f"ch_{ext}",
                "source_day": (now - age).date(), "error_type": "ErpRejected",
                "error_message": f"Part SKU-{ext} is not valid", "error_field": "PartNum",
                "error_status": 400, "payload": {"external_id": ext}}])
            conn.execute(erp_dead_letters.update().where(erp_dead_letters.c.external_id == ext)
                         .values(first_failed_at=now - age))
    with instance_for_test() as instance:
        first = tick(dead_letters, instance, None, alerts=alerts, warehouse=warehouse)
        dead("pi_old", timedelta(hours=2))
        dead("pi_new", timedelta(minutes=5))          # younger than the threshold: not yet
        second = tick(dead_letters, instance, first.cursor, alerts=alerts, warehouse=warehouse)
        tick(dead_letters, instance, second.cursor, alerts=alerts, warehouse=warehouse)
    assert len(receiver.bodies) == 1
    text = receiver.bodies[0]["text"]
    assert "epicor invoice pi_old" in text and "Part SKU-pi_old is not valid" in text
    assert "pi_new" not in text
    assert len(box.messages) == 1                     # and the same alert by e-mail
    mail = box.messages[0]
    assert mail["Subject"] == "1 dead letter open longer than 60 min"
    assert mail["To"] == "controller@example.com, ops@example.com"
    assert "Part SKU-pi_old is not valid" in mail.get_payload(decode=True).decode()
    assert [s for s in SECRETS.values() if s in mail.as_string()] == []


def test_every_check_of_the_code_location_is_watched() -> None:
    assert {k.name for k in check_keys} >= {"events_within_retention", "payout_nets_sum_to_payout"}
