"""A subscription created, upgraded and canceled in Stripe reaches the ERP customer record and
the revenue schedules through webhooks: the Stripe sandbox (official SDK) -> the webhook
receiver -> the landing table -> the sensor -> ``stripe_event_sync`` -> TIMS, read back through
TIMS's API; and the automation condition of ``revenue/schedules`` -> its run and blocking check.
Each change is written once: a run over the same state writes nothing. A change whose event
falls in the second of the mirror's last re-fetch is not lost."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timezone

import sqlalchemy as sa
import stripe
from dagster import (AssetKey, AssetSelection, evaluate_automation_conditions, instance_for_test,
                     materialize)

from assets.revenue import BALANCE_CHECK, SCHEDULES, revenue_schedules
from assets.stripe import CREDIT_NOTES
from connectors.erp import make_adapter
from domain.mapping import load_mapping
from pipelines.definitions import defs
from pipelines.ops import stripe_event_sync
from posting.subscriptions import sync_subscriptions
from resources import StripeResource
from tests.chaos.test_event_isolation import (account, deliver, resources,  # noqa: F401
                                              sensor_tick, tims)
from warehouse.db import make_engine
from warehouse.event_sync import EventApplier
from warehouse.events import pending_events
from warehouse.migrate import upgrade
from warehouse.schema import stripe_subscriptions
from warehouse.stripe_sync import land_objects


def events_since(account, seen: set[str]) -> list[dict]:  # noqa: F811
    """Events not yet delivered, oldest first, as Stripe's JSON (what a webhook carries)."""
    api = StripeResource(api_key=account.api_key, api_base=account.base_url,
                         rate_limit=1000).api()
    events = [e for page in api.pages("/v1/events", {"limit": 100}) for e in page["data"]
              if e["id"] not in seen]
    seen.update(e["id"] for e in events)
    return sorted(events, key=lambda e: (e["created"], e["id"]))


def webhook_sync(account, tims, engine, url: str, instance, seen: set[str]  # noqa: F811
                 ) -> Callable[[], None]:
    """Deliver the new events to the receiver; the sensor's tick asks for one run of them;
    that run is executed as the daemon would launch it."""
    cursor = ["0"]

    def sync() -> None:
        deliver(engine, events_since(account, seen))
        [request] = sensor_tick(instance, url, cursor[0]).run_requests
        cursor[0] = request.tags["stripe/events_to"]
        result = stripe_event_sync.execute_in_process(
            run_config=request.run_config, resources=resources(account, url, tims),
            instance=instance, tags=request.tags)
        assert result.success
    return sync


def subscriber(client: stripe.StripeClient, tmp_path, product: dict):
    """A basic (10.00) and a pro (30.00) monthly price of ``product`` (create params), a customer
    paying by card, and an empty warehouse: (basic, pro, customer, url, engine)."""
    product = client.v1.products.create(params=product)
    basic, pro = (client.v1.prices.create(params={
        "product": product.id, "currency": "usd", "unit_amount": amount,
        "recurring": {"interval": "month"}}) for amount in (1000, 3000))
    cus = client.v1.customers.create(params={
        "email": f"{uuid.uuid4().hex[:8]}@example.test", "name": "Subscriber",
        "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    upgrade(engine)
    return basic, pro, cus, url, engine


def _day(epoch: int):
    return datetime.fromtimestamp(epoch, tz=timezone.utc).date()


def test_created_upgraded_canceled_reaches_the_tims_customer(account, tims,  # noqa: F811
                                                             tmp_path) -> None:
    client = stripe.StripeClient(account.api_key, base_addresses={"api": account.base_url})
    seen: set[str] = set()
    events_since(account, seen)
    basic, pro, cus, url, engine = subscriber(
        client, tmp_path, {"name": "Cylinder rental", "metadata": {"sku": "SUB-003"}})
    adapter = make_adapter(tims.env)
    with instance_for_test() as instance:
        sync_by_webhooks = webhook_sync(account, tims, engine, url, instance, seen)

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


def test_webhooks_bring_the_revenue_schedules_up_to_date(account, tims,  # noqa: F811
                                                         tmp_path) -> None:
    """Created, upgraded (prorations invoiced at once), canceled (the unused time credited on a
    final invoice), then a credit note on the first invoice: after the webhooks of each, the
    automation condition of revenue/schedules requests it (the event sync recorded the
    invoices or credit notes it changed), and its run holds every line of the subscription's
    invoices with recognised to date plus deferred equal to billed minus credited (its blocking
    check)."""
    client = stripe.StripeClient(account.api_key, base_addresses={"api": account.base_url})
    seen: set[str] = set()
    events_since(account, seen)
    basic, pro, cus, url, engine = subscriber(client, tmp_path, {"name": "Meter rental"})
    with instance_for_test() as instance:
        sync_by_webhooks = webhook_sync(account, tims, engine, url, instance, seen)
        ticks = [evaluate_automation_conditions(defs=defs, instance=instance,
                                                asset_selection=AssetSelection.assets(SCHEDULES))]
        assert ticks[0].total_requested == 0     # nothing changed yet

        def schedules_after_webhooks() -> tuple[dict, dict]:
            """The webhooks, then one automation tick; runs what it requested."""
            sync_by_webhooks()
            ticks.append(evaluate_automation_conditions(
                defs=defs, instance=instance, asset_selection=AssetSelection.assets(SCHEDULES),
                cursor=ticks[-1].cursor))
            assert ticks[-1].get_requested_partitions(SCHEDULES) == {None}
            assert ticks[-1].total_requested == 1
            run = materialize([revenue_schedules], instance=instance,
                              resources=resources(account, url, tims))
            assert run.success
            [mat] = run.asset_materializations_for_node(revenue_schedules.node_def.name)
            [check] = run.get_asset_check_evaluations()
            assert (check.check_name, check.passed) == (BALANCE_CHECK, True)
            return ({k: v.value for k, v in mat.metadata.items()},
                    {k: v.value for k, v in check.metadata.items()})

        def lines_billed() -> list[int]:
            invoices = client.v1.invoices.list(params={"customer": cus.id, "limit": 100}).data
            return sorted(x.amount for inv in invoices if inv.status != "draft"
                          for x in inv.lines.data)

        sub = client.v1.subscriptions.create(params={
            "customer": cus.id, "items": [{"price": basic.id, "quantity": 2}]})
        meta, check = schedules_after_webhooks()
        assert lines_billed() == [2000]
        assert (meta["invoice_lines"], meta["problems"], check["lines_checked"],
                check["offending_lines"]) == (1, 0, 1, 0)

        client.v1.subscriptions.update(sub.id, params={
            "items": [{"id": sub["items"].data[0].id, "price": pro.id}],
            "proration_behavior": "always_invoice"})
        meta, check = schedules_after_webhooks()
        billed = lines_billed()
        assert len(billed) == 3 and billed[0] < 0 < billed[1]   # unused basic, remaining pro
        assert (meta["invoice_lines"], meta["problems"], check["lines_checked"],
                check["offending_lines"]) == (3, 0, 3, 0)

        client.v1.subscriptions.cancel(sub.id, params={"prorate": True, "invoice_now": True})
        meta, check = schedules_after_webhooks()
        billed = lines_billed()
        assert len(billed) == 4 and billed[0] < 0 and billed[1] < 0   # both credits
        assert (meta["invoice_lines"], meta["problems"], check["lines_checked"],
                check["offending_lines"]) == (4, 0, 4, 0)
        # deferred_now_<currency> is left out at zero
        deferred, adjustments = meta.get("deferred_now_usd", 0), meta["adjustments"]

        # a credit note on the first invoice: only credit_note.* events; the schedules follow
        first = client.v1.invoices.retrieve(sub.latest_invoice)
        client.v1.credit_notes.create(params={
            "invoice": first.id, "out_of_band_amount": 500,
            "lines": [{"type": "invoice_line_item", "invoice_line_item": first.lines.data[0].id,
                       "amount": 500}]})
        meta, check = schedules_after_webhooks()
        [noted] = instance.fetch_materializations(CREDIT_NOTES, limit=5).records
        assert noted.asset_materialization.metadata["objects_changed"].value == 1
        assert (meta["invoice_lines"], meta["adjustments"], check["offending_lines"]) == (
            4, adjustments + 1, 0)
        assert meta.get("deferred_now_usd", 0) < deferred   # the credit took deferred revenue off

        # nothing new landed: the next tick requests nothing
        ticks.append(evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=AssetSelection.assets(SCHEDULES),
            cursor=ticks[-1].cursor))
        assert ticks[-1].total_requested == 0


def test_an_event_in_the_second_of_the_stored_refetch_is_fetched_again(account,  # noqa: F811
                                                                         tmp_path) -> None:
    """The mirror holds a subscription re-fetched in second T (versioned in microseconds); an
    upgrade's event created in that same second may be newer or older than that copy: the
    object is fetched again instead of the event being taken as stale."""
    client = stripe.StripeClient(account.api_key, base_addresses={"api": account.base_url})
    seen: set[str] = set()
    events_since(account, seen)
    product = client.v1.products.create(params={"name": "Tank rental"})
    price = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                            "unit_amount": 700,
                                            "recurring": {"interval": "month"}})
    cus = client.v1.customers.create(params={
        "name": "Subscriber", "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = client.v1.subscriptions.create(params={
        "customer": cus.id, "items": [{"price": price.id, "quantity": 2}]})
    events_since(account, seen)
    api = StripeResource(api_key=account.api_key, api_base=account.base_url,
                         rate_limit=1000).api()
    before = api.get(f"/v1/subscriptions/{sub.id}")
    client.v1.subscriptions.update(sub.id, params={
        "items": [{"id": sub["items"].data[0].id, "quantity": 3}]})
    [updated] = [e for e in events_since(account, seen)
                 if e["type"] == "customer.subscription.updated"]
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    land_objects(engine, "subscriptions", [before], updated["created"] * 1_000_000 + 1)
    deliver(engine, [updated])
    with engine.connect() as conn:
        result = EventApplier(api, engine).apply(pending_events(conn))
    assert (result.fetched_by_id, len(result.applied)) == (1, 1)
    with engine.connect() as conn:
        raw = conn.execute(sa.select(stripe_subscriptions.c.raw)).scalar_one()
    assert raw["items"]["data"][0]["quantity"] == 3
