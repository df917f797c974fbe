"""A subscription created, upgraded and canceled in Stripe reaches the ERP customer record
through webhooks: the Stripe sandbox (official SDK) -> the webhook receiver -> the landing
table -> the sensor -> ``stripe_event_sync`` -> TIMS, read back through TIMS's API. Each change is
written once: a run over the same state writes nothing."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import stripe
from dagster import AssetKey, instance_for_test

from connectors.erp import make_adapter
from domain.mapping import load_mapping
from pipelines.ops import stripe_event_sync
from posting.subscriptions import sync_subscriptions
from resources import StripeResource
from tests.chaos.test_event_isolation import (account, deliver, resources,  # noqa: F401
                                              sensor_tick, tims)
from warehouse.db import make_engine
from warehouse.migrate import upgrade


def events_since(account, seen: set[str]) -> list[dict]:  # noqa: F811
    """Events not yet delivered, oldest first, as Stripe's JSON (what a webhook carries)."""
    api = StripeResource(api_key=account.api_key, api_base=account.base_url,
                         rate_limit=1000).api()
    events = [e for page in api.pages("/v1/events", {"limit": 100}) for e in page["data"]
              if e["id"] not in seen]
    seen.update(e["id"] for e in events)
    return sorted(events, key=lambda e: (e["created"], e["id"]))


def _day(epoch: int):
    return datetime.fromtimestamp(epoch, tz=timezone.utc).date()


def test_created_upgraded_canceled_reaches_the_tims_customer(account, tims,  # noqa: F811
                                                             tmp_path) -> None:
    client = stripe.StripeClient(account.api_key, base_addresses={"api": account.base_url})
    seen: set[str] = set()
    events_since(account, seen)
    product = client.v1.products.create(params={"name": "Cylinder rental",
                                                "metadata": {"sku": "SUB-003"}})

    def price(amount: int):
        return client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                               "unit_amount": amount,
                                               "recurring": {"interval": "month"}})
    basic, pro = price(1000), price(3000)
    cus = client.v1.customers.create(params={
        "email": f"{uuid.uuid4().hex[:8]}@example.test", "name": "Subscriber",
        "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    upgrade(engine)
    adapter = make_adapter(tims.env)
    with instance_for_test() as instance:
        cursor = ["0"]

        def sync_by_webhooks() -> None:
            """Deliver the new events to the receiver; the sensor's tick asks for one run of
            them; that run is executed as the daemon would launch it."""
            deliver(engine, events_since(account, seen))
            [request] = sensor_tick(instance, url, cursor[0]).run_requests
            cursor[0] = request.tags["stripe/events_to"]
            result = stripe_event_sync.execute_in_process(
                run_config=request.run_config, resources=resources(account, url, tims),
                instance=instance, tags=request.tags)
            assert result.success

        def held():
            return adapter.read_subscriptions([cus.id])[cus.id]

        sub = client.v1.subscriptions.create(params={
            "customer": cus.id, "items": [{"price": basic.id, "quantity": 2}]})
        sync_by_webhooks()
        now = held()
        period_end = sub["items"].data[0].current_period_end
        assert (now.subscription_id, now.status, now.plan, now.quantity, now.mrr,
                now.currency, now.renewal_date) == (
            sub.id, "active", "SUB-003", 2, 2000, "USD", _day(period_end))
        [mat] = [r.asset_materialization for r in instance.fetch_materializations(
            AssetKey(["erp", "subscriptions"]), limit=5).records]
        assert mat.partition == _day(sub.created).isoformat()
        assert mat.metadata["written"].value == 1

        client.v1.subscriptions.update(sub.id, params={
            "items": [{"id": sub["items"].data[0].id, "price": pro.id}]})
        sync_by_webhooks()
        assert (held().plan, held().quantity, held().mrr, held().status) == (
            "SUB-003", 2, 6000, "active")

        # the same state again (a re-run, a backfill of the day): nothing is written
        again = sync_subscriptions(adapter, engine, load_mapping(), subscription_ids=[sub.id])
        assert (again.written, again.unchanged, again.failures) == (0, 1, {})

        client.v1.subscriptions.cancel(sub.id)
        sync_by_webhooks()
        ended = client.v1.subscriptions.retrieve(sub.id).ended_at
        assert (held().status, held().mrr, held().renewal_date) == (
            "canceled", 0, _day(ended))
    adapter.close()
