"""The subscription summary an ERP customer record holds, through the lifecycle: created,
trial ended, changed, paused, set to cancel, canceled; several subscriptions per customer."""
from __future__ import annotations

from datetime import date

from domain.mapping import load_mapping
from domain.subscriptions import erp_customer_keys, summarise

T0 = 1_800_000_000                       # 2027-01-15 08:00 UTC
DAY = 86400
PRODUCTS = {"prod_Gas": {"metadata": {"sku": "SUB-005"}}}


def sub(sid: str = "sub_1", status: str = "active", amount: int = 3000, quantity: int = 2,
        created: int = T0, **extra) -> dict:
    price = {"id": "price_1", "product": "prod_Gas", "unit_amount": amount,
             "billing_scheme": "per_unit",
             "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}}
    return {"id": sid, "customer": "cus_1", "currency": "usd", "status": status,
            "created": created, "discounts": [], "cancel_at_period_end": False,
            "cancel_at": None, "trial_end": None, "ended_at": None, "canceled_at": None,
            "items": {"data": [{"id": "si_1", "price": price, "quantity": quantity,
                                "discounts": [], "current_period_end": created + 30 * DAY}]},
            **extra}


def view(*subs: dict):
    s = summarise("cus_1", list(subs), load_mapping(), PRODUCTS)
    return s.subscription_id, s.status, s.plan, s.quantity, s.renewal_date, s.mrr, s.currency


def test_lifecycle() -> None:
    renews = date(2027, 2, 14)
    trial = sub(status="trialing", trial_end=T0 + 14 * DAY)
    assert view(trial) == ("sub_1", "trialing", "SUB-005", 2, date(2027, 1, 29), 0, "USD")
    assert view(sub()) == ("sub_1", "active", "SUB-005", 2, renews, 6000, "USD")
    assert view(sub(quantity=5))[5] == 15000
    # pause_collection keeps the status: it still counts (Stripe's MRR); status paused does not
    assert view(sub(pause_collection={"behavior": "void"}))[5] == 6000
    assert view(sub(status="paused"))[1::4] == ("paused", 0)
    assert view(sub(cancel_at_period_end=True))[4:6] == (renews, 0)
    assert view(sub(cancel_at=T0 + 5 * DAY))[4:6] == (date(2027, 1, 20), 0)
    ended = sub(status="canceled", ended_at=T0 + 3 * DAY, canceled_at=T0 + 3 * DAY)
    assert view(ended)[1::3] == ("canceled", date(2027, 1, 18))


def test_the_live_subscription_wins_and_mrr_sums_the_customers() -> None:
    old = sub("sub_old", status="canceled", created=T0 - 90 * DAY, ended_at=T0 - DAY)
    live = sub("sub_live", created=T0 - 60 * DAY)
    addon = sub("sub_addon", amount=500, quantity=1, created=T0 - 10 * DAY)
    assert view(old, live, addon)[0::5] == ("sub_addon", 6500)
    newest_canceled = sub("sub_new", status="canceled", created=T0, ended_at=T0 + DAY)
    assert view(old, newest_canceled)[0] == "sub_new"


def test_customers_sharing_an_email_are_one_erp_customer() -> None:
    customers = [{"id": "cus_b", "created": 2, "email": "Ops@Gas.test"},
                 {"id": "cus_a", "created": 1, "email": "ops@gas.test"},
                 {"id": "cus_c", "created": 3, "email": None}]
    assert erp_customer_keys(customers, load_mapping()) == {
        "cus_a": "cus_a", "cus_b": "cus_a", "cus_c": "cus_c"}


def test_a_subscription_that_cannot_be_valued_is_named_not_counted_as_zero() -> None:
    from domain.subscriptions import summarise_all
    tiered = sub("sub_tiered")
    tiered["items"]["data"][0]["price"] = tiered["items"]["data"][0]["price"] | {
        "billing_scheme": "tiered", "unit_amount": None}
    other = sub("sub_ok") | {"customer": "cus_2"}
    done, problems = summarise_all([tiered, other], {}, load_mapping(), PRODUCTS)
    assert set(done) == {"cus_2"} and list(problems) == ["cus_1"]
    assert "sub_tiered" in problems["cus_1"] and "tiered" in problems["cus_1"]
