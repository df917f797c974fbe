"""The webhook receiver: verifies, lands once, refuses bad input and lands nothing of it."""
from __future__ import annotations

import hashlib
import hmac
import time

import orjson
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from warehouse.db import make_engine
from warehouse.migrate import upgrade
from warehouse.schema import stripe_events
from webhooks.app import build_app
from webhooks.server import Limits

SECRET, NEW_SECRET = "whsec_old_0123456789", "whsec_new_9876543210"


def event(eid: str = "evt_1", etype: str = "charge.succeeded") -> dict:
    return {"id": eid, "object": "event", "type": etype, "created": int(time.time()),
            "livemode": False, "api_version": "2026-10-28.endive", "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": {"id": "ch_1", "object": "charge", "amount": 1000}}}


def signed(body: bytes, secret: str = SECRET, t: int | None = None) -> dict[str, str]:
    t = int(time.time()) if t is None else t
    sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"}


@pytest.fixture
def landed(warehouse_url):
    engine = make_engine(warehouse_url)
    upgrade(engine)
    app = build_app(engine, [SECRET, NEW_SECRET], Limits(max_body_bytes=64 * 1024))
    with TestClient(app) as client:
        yield client, engine


def rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(sa.select(stripe_events.c.id, stripe_events.c.type,
                                      stripe_events.c.status, stripe_events.c.object_id,
                                      stripe_events.c.payload)).all()


def test_valid_event_is_landed_once_and_duplicates_are_no_ops(landed) -> None:
    client, engine = landed
    body = orjson.dumps(event())
    first = client.post("/webhooks/stripe", content=body, headers=signed(body))
    again = client.post("/webhooks/stripe", content=body, headers=signed(body))
    assert first.status_code == 200 and first.json()["duplicate"] is False
    assert again.status_code == 200 and again.json()["duplicate"] is True
    [(eid, etype, status, obj, payload)] = rows(engine)
    assert (eid, etype, status, obj) == ("evt_1", "charge.succeeded", "pending", "ch_1")
    assert payload.encode() == body  # exactly as received


def test_rotated_secrets_are_both_accepted(landed) -> None:
    client, engine = landed
    body = orjson.dumps(event("evt_new"))
    assert client.post("/webhooks/stripe", content=body,
                       headers=signed(body, NEW_SECRET)).status_code == 200
    assert [r[0] for r in rows(engine)] == ["evt_new"]


@pytest.mark.parametrize("case", ["bad_signature", "wrong_secret", "stale", "no_header",
                                  "tampered", "too_big", "broken_json", "not_an_event"])
def test_bad_requests_get_4xx_and_land_nothing(landed, case: str) -> None:
    client, engine = landed
    body = orjson.dumps(event())
    headers = signed(body)
    if case == "bad_signature":
        headers["Stripe-Signature"] = headers["Stripe-Signature"][:-4] + "0000"
    elif case == "wrong_secret":
        headers = signed(body, "whsec_someone_else")
    elif case == "stale":
        headers = signed(body, t=int(time.time()) - 301)
    elif case == "no_header":
        del headers["Stripe-Signature"]
    elif case == "tampered":
        body = body.replace(b"1000", b"9000")
    elif case == "too_big":
        ev = event()
        ev["data"]["object"]["padding"] = "x" * (70 * 1024)
        body = orjson.dumps(ev)
        headers = signed(body)
    elif case == "broken_json":
        body = body[:-5]
        headers = signed(body)
    elif case == "not_an_event":
        body = orjson.dumps({"id": "ch_1", "object": "charge"})
        headers = signed(body)
    resp = client.post("/webhooks/stripe", content=body, headers=headers)
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.status_code == (413 if case == "too_big" else 400)
    assert rows(engine) == []


def test_unknown_event_types_are_stored(landed) -> None:
    client, engine = landed
    body = orjson.dumps(event("evt_x", "issuing_card.shipped"))
    assert client.post("/webhooks/stripe", content=body, headers=signed(body)).status_code == 200
    assert rows(engine)[0][:3] == ("evt_x", "issuing_card.shipped", "pending")


def test_health(landed) -> None:
    client, _ = landed
    assert client.get("/health").json() == {"status": "ok", "queued": 0, "committing": 0}


def test_refuses_to_start_without_a_secret(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with pytest.raises(ValueError, match="STRIPE_WEBHOOK_SECRET"):
        build_app(engine, ["", " "])


def test_limits_come_from_flags_then_environment_then_defaults() -> None:
    import argparse

    from webhooks.__main__ import LIMIT_OPTIONS, limits_from
    args = argparse.Namespace(**{name: None for name in LIMIT_OPTIONS})
    assert limits_from(args, {}) == Limits()
    args.header_timeout = 2.5
    limits = limits_from(args, {"WEBHOOK_HEADER_TIMEOUT": "7", "WEBHOOK_LIMIT_CONCURRENCY": "64"})
    assert (limits.header_timeout, limits.limit_concurrency) == (2.5, 64)
    with pytest.raises(SystemExit, match="WEBHOOK_BODY_TIMEOUT must be a number"):
        limits_from(args, {"WEBHOOK_BODY_TIMEOUT": "soon"})
    with pytest.raises(SystemExit, match="must be positive"):
        limits_from(args, {"WEBHOOK_MAX_BODY_BYTES": "0"})
