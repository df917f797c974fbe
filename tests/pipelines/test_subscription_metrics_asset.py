"""``revenue/subscription_metrics``: each day's MRR movements per currency as numeric metadata
of its own partition, from landed subscription events and, for a subscription with no event,
from the mirror."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
from dagster import AssetKey, DagsterInstance, materialize

from assets.subscription_metrics import subscription_metrics
from resources import WarehouseResource
from warehouse.db import make_engine
from warehouse.events import event_row, insert_events
from warehouse.migrate import upgrade
from warehouse.stripe_sync import land_objects

D = int(datetime(2026, 3, 10, tzinfo=timezone.utc).timestamp())
H = 3600


def sub(sid: str, customer: str, created: int, amount: int, interval: str, currency: str,
        quantity: int = 1, status: str = "active", ended_at: int | None = None) -> dict:
    price = {"id": f"price_{sid}", "object": "price", "product": "prod_X", "currency": currency,
             "unit_amount": amount, "billing_scheme": "per_unit", "type": "recurring",
             "recurring": {"interval": interval, "interval_count": 1,
                           "usage_type": "licensed"}}
    return {"id": sid, "object": "subscription", "created": created, "livemode": False,
            "customer": customer, "currency": currency, "status": status,
            "start_date": created, "trial_end": None, "cancel_at": None,
            "cancel_at_period_end": False, "canceled_at": ended_at, "ended_at": ended_at,
            "discounts": [], "items": {"object": "list", "has_more": False, "data": [{
                "id": f"si_{sid}", "object": "subscription_item", "created": created,
                "subscription": sid, "price": price, "quantity": quantity, "discounts": [],
                "current_period_start": created, "current_period_end": created + 30 * 86400}]}}


def event(n: int, kind: str, at: int, obj: dict) -> dict:
    ev = {"id": f"evt_m{n}", "object": "event", "type": f"customer.subscription.{kind}",
          "created": at, "livemode": False, "data": {"object": obj}}
    return event_row(ev, orjson.dumps(ev).decode(), "webhook")


def test_daily_mrr_movements_per_currency_on_each_partition(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    upgrade(engine)
    a = sub("sub_A", "cus_A", D + H, 3000, "month", "usd")
    b = sub("sub_B", "cus_B", D + 3 * H, 12000, "year", "eur")
    with engine.begin() as conn:
        insert_events(conn, [
            event(1, "created", D + H, a),
            event(2, "updated", D + 26 * H, a | {"items": {**a["items"], "data": [
                a["items"]["data"][0] | {"quantity": 2}]}}),
            event(3, "created", D + 3 * H, b),
            event(4, "deleted", D + 29 * H, b | {"status": "canceled", "ended_at": D + 29 * H})])
    # backfilled before the events: known by its mirrored state only
    c = sub("sub_C", "cus_C", D - 5 * 86400, 500, "month", "usd", status="canceled",
            ended_at=D + 30 * H)
    land_objects(engine, "subscriptions", [c], 1)
    instance = DagsterInstance.ephemeral()
    result = materialize([subscription_metrics], instance=instance,
                         resources={"warehouse": WarehouseResource(url=url)},
                         tags={"dagster/asset_partition_range_start": "2026-03-10",
                               "dagster/asset_partition_range_end": "2026-03-11"})
    assert result.success
    records = instance.fetch_materializations(AssetKey(["revenue", "subscription_metrics"]),
                                              limit=10).records
    meta = {r.asset_materialization.partition: {k: v.value for k, v in
                                                r.asset_materialization.metadata.items()}
            for r in records}
    day1, day2 = meta["2026-03-10"], meta["2026-03-11"]
    assert (day1["mrr_usd"], day1["new_usd"], day1["active_subscriptions_usd"],
            day1["active_customers_usd"]) == (3500, 3000, 2, 2)
    assert (day1["mrr_eur"], day1["new_eur"]) == (1000, 1000)
    assert (day2["mrr_usd"], day2["expansion_usd"], day2["churned_usd"],
            day2["active_subscriptions_usd"]) == (6000, 3000, 500, 1)
    assert (day2["mrr_eur"], day2["churned_eur"], day2["active_customers_eur"]) == (0, 1000, 0)
    assert isinstance(day2["mrr_usd"], int) and day2["unvalued_subscriptions"] == 0
