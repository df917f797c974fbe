"""Webhook delivery from the sandbox to a real local receiver.

Signed snapshot events, at-least-once with retries, duplicate and reorder
knobs, endpoint filters.  Tests synchronise on the sandbox's delivery state
(``/_sandbox/webhooks/flush``), never on sleeps.
"""
from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import stripe

from tests.sandbox.fixtures import Receiver, Sandbox


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def endpoint(client: stripe.StripeClient, receiver: Receiver
             ) -> Iterator[Callable[..., stripe.WebhookEndpoint]]:
    """Create endpoints pointing at ``receiver``; all are deleted afterwards."""
    made: list[str] = []

    def make(*events: str) -> stripe.WebhookEndpoint:
        ep = client.v1.webhook_endpoints.create(params={
            "url": receiver.url, "enabled_events": list(events) or ["*"]})
        made.append(ep.id)
        return ep

    yield make
    for ep_id in made:
        client.v1.webhook_endpoints.delete(ep_id)


def new_customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create(params={"email": f"{uuid.uuid4().hex[:8]}@example.test"})


def test_signature_is_hmac_of_timestamp_and_body(sandbox: Sandbox, client: stripe.StripeClient,
                                                 receiver: Receiver, endpoint) -> None:
    ep = endpoint("customer.created")
    new_customer(client)
    sandbox.flush_webhooks()
    body, headers = receiver.deliveries[0]
    parts = dict(item.split("=", 1) for item in headers["stripe-signature"].split(","))
    assert set(parts) == {"t", "v1"}
    assert abs(int(parts["t"]) - time.time()) < 300  # wall clock, within the SDK tolerance
    expected = hmac.new(ep.secret.encode(), parts["t"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert parts["v1"] == expected
    event = stripe.Webhook.construct_event(body.decode(), headers["stripe-signature"], ep.secret)
    assert event.object == "event" and event.type == "customer.created"


def test_only_enabled_event_types_are_sent(sandbox: Sandbox, client: stripe.StripeClient,
                                           receiver: Receiver, endpoint) -> None:
    endpoint("customer.updated")
    cus = new_customer(client)
    client.v1.customers.update(cus.id, params={"metadata": {"a": "b"}})
    sandbox.flush_webhooks()
    events = receiver.events()
    assert [e["type"] for e in events] == ["customer.updated"]
    assert events[0]["data"]["previous_attributes"] == {"metadata": {}}


def test_failed_deliveries_are_retried_until_2xx(sandbox: Sandbox, client: stripe.StripeClient,
                                                 receiver: Receiver, endpoint) -> None:
    endpoint("customer.created")
    receiver.fail_next = 2
    cus = new_customer(client)
    sandbox.flush_webhooks()
    ids = [e["id"] for e in receiver.events()]
    assert len(ids) == 3 and len(set(ids)) == 1
    log = sandbox.control("GET", "webhooks/deliveries", event=ids[0])["deliveries"]
    assert [(d["attempt"], d["status"]) for d in log] == [(1, 500), (2, 500), (3, 200)]
    event = client.v1.events.retrieve(ids[0])
    assert event.data.object.id == cus.id and event.pending_webhooks == 0
    delivered = client.v1.events.list(params={"delivery_success": True, "type": "customer.created",
                                              "limit": 10}).data
    assert ids[0] in {e.id for e in delivered}


def test_undeliverable_event_stays_pending(sandbox: Sandbox, client: stripe.StripeClient,
                                           receiver: Receiver, endpoint) -> None:
    sandbox.configure(webhook_max_attempts=3)
    endpoint("customer.created")
    receiver.fail_next = 100
    new_customer(client)
    sandbox.flush_webhooks()
    event_id = receiver.events()[0]["id"]
    assert len(receiver.deliveries) == 3
    assert client.v1.events.retrieve(event_id).pending_webhooks == 1
    failed = client.v1.events.list(params={"delivery_success": False, "type": "customer.created",
                                           "limit": 10}).data
    assert event_id in {e.id for e in failed}


def test_duplicate_deliveries(sandbox: Sandbox, client: stripe.StripeClient,
                              receiver: Receiver, endpoint) -> None:
    sandbox.configure(webhook_duplicate_rate=1.0)
    ep = endpoint("customer.created")
    cus = new_customer(client)
    sandbox.flush_webhooks()
    assert len(receiver.deliveries) == 2
    events = [stripe.Webhook.construct_event(body.decode(), headers["stripe-signature"], ep.secret)
              for body, headers in receiver.deliveries]
    assert {e.id for e in events} == {events[0].id}
    assert events[0].data.object.id == cus.id
    assert sandbox.stats()["webhooks"]["duplicates"] >= 1


def test_shuffle_reorders_a_burst(sandbox: Sandbox, client: stripe.StripeClient,
                                  receiver: Receiver, endpoint) -> None:
    """A subscription emits a burst of events; with shuffle on they arrive out of order."""
    sandbox.configure(webhook_shuffle=True)
    endpoint("*")
    prod = client.v1.products.create(params={"name": "Shuffled"})
    price = client.v1.prices.create(params={"product": prod.id, "currency": "usd",
                                            "unit_amount": 1200,
                                            "recurring": {"interval": "month"}})
    sandbox.flush_webhooks()
    reordered = False
    for _ in range(3):
        receiver.deliveries.clear()
        cus = new_customer(client)
        client.v1.subscriptions.create(params={
            "customer": cus.id, "default_payment_method": "pm_card_visa",
            "items": [{"price": price.id}]})
        sandbox.flush_webhooks()
        got = receiver.events()
        emitted = sorted(got, key=lambda e: (e["created"], e["id"]))
        assert len(got) >= 6 and len({e["id"] for e in got}) == len(got)
        created_order = [e["id"] for e in client.v1.events.list(
            params={"limit": len(got)}).data][::-1]
        assert {e["id"] for e in emitted} == set(created_order)
        if [e["id"] for e in got] != created_order:
            reordered = True
            break
    assert reordered


def test_delay_keeps_deliveries_pending(sandbox: Sandbox, client: stripe.StripeClient,
                                        receiver: Receiver, endpoint) -> None:
    sandbox.configure(webhook_delay_ms=3000)
    endpoint("customer.created")
    new_customer(client)
    assert sandbox.control("GET", "webhooks/pending")["pending"] >= 1
    assert receiver.deliveries == []
    sandbox.flush_webhooks()
    assert len(receiver.deliveries) == 1


def test_disabled_endpoint_receives_nothing(sandbox: Sandbox, client: stripe.StripeClient,
                                            receiver: Receiver, endpoint) -> None:
    ep = endpoint("customer.created")
    client.v1.webhook_endpoints.update(ep.id, params={"disabled": True})
    new_customer(client)
    sandbox.flush_webhooks()
    assert receiver.deliveries == []
