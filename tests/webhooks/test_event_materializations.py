"""A webhook-driven sync run records materializations of the Stripe and ERP assets, and the
partitions, it changed: the catalog shows near-real-time updates, not only backfills."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
import stripe
from dagster import AssetKey, MetadataValue, instance_for_test

from pipelines.changes import EPOCH, changed_assets
from pipelines.ops import stripe_event_sync
from pipelines.partitions import stripe_daily
from tests.chaos.test_event_isolation import (account, deliver, events_since, pay,  # noqa: F401
                                              resources, tims)
from warehouse.db import make_engine
from warehouse.event_sync import EventSyncResult
from warehouse.migrate import upgrade
from warehouse.schema import stripe_events


def test_a_webhook_driven_run_materializes_the_assets_and_days_it_changed(account, tims,  # noqa: F811
                                                                         tmp_path) -> None:
    client = stripe.StripeClient(account.api_key, base_addresses={"api": account.base_url})
    seen = {e.id for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()}
    charge = client.v1.charges.retrieve(pay(client, 3150))
    day = datetime.fromtimestamp(charge.created, tz=timezone.utc).strftime("%Y-%m-%d")
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    upgrade(engine)
    deliver(engine, events_since(client, seen))
    with engine.connect() as conn:
        hi = conn.execute(sa.select(sa.func.max(stripe_events.c.seq))).scalar()
    with instance_for_test() as instance:
        result = stripe_event_sync.execute_in_process(
            run_config={"ops": {"apply_stripe_events": {"config": {"up_to": hi}}}},
            resources=resources(account, url, tims), instance=instance,
            tags={"stripe/launched_by": "receiver-nudge"})
        assert result.success

        def latest(*path: str):
            records = instance.fetch_materializations(AssetKey(list(path)), limit=5).records
            return [r.asset_materialization for r in records]
        for path in (("stripe", "charges"), ("stripe", "customers"),
                     ("stripe", "balance_transactions"), ("erp", "cash_receipts"),
                     ("erp", "invoices"), ("erp", "customers")):
            [mat] = latest(*path)
            assert mat.partition == day, path
            assert mat.metadata["changed_by"].value == "stripe_event_sync (receiver-nudge)"
        [receipts] = latest("erp", "cash_receipts")
        assert receipts.metadata["created"].value == 1 and receipts.metadata["erp"].value == "tims"
        assert latest("stripe", "disputes") == [] and latest("erp", "bank_deposits") == []


def test_an_object_older_than_the_first_partition_changes_the_first_partition() -> None:
    """An invoice created before STRIPE_SYNC_START_DATE (held by the first partition) updated
    by an event, and a credit note (not mirrored): both are recorded, so what depends on them
    (revenue/schedules) follows."""
    result = EventSyncResult()
    first = date.fromisoformat(stripe_daily.get_first_partition_key())
    result.written_days["invoices"] |= {(first - EPOCH).days - 400, (first - EPOCH).days + 1}
    result.noted["credit_notes"] |= {"cn_2", "cn_1"}
    found = {(m.asset_key, m.partition, m.metadata.get("first_changed"))
             for m in changed_assets(result, None, "tims", "test")}
    first_changed = MetadataValue.text("cn_1, cn_2")
    assert found == {(AssetKey(["stripe", "invoices"]), first.isoformat(), None),
                     (AssetKey(["stripe", "invoices"]), str(first + timedelta(days=1)), None),
                     (AssetKey(["stripe", "credit_notes"]), None, first_changed)}
