"""MRR and its movements per day and currency, as Stripe Billing analytics defines them."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.revenue.metrics import (Discount, Item, SubscriptionVersion, daily_metrics,
                                    monthly_value, version_from_stripe)
from domain.revenue.schedules import RevenueError

from .helpers import utc


def version(sid, customer, day, status="active", amount=10000, interval="month", quantity=1,
            currency="usd", **extra):
    return SubscriptionVersion(sid, customer, currency, day, status,
                               (Item(Fraction(amount), quantity, interval),), **extra)


def test_stripe_glossary_example():
    """100 subscribers on 100 USD a month and 50 on 600 USD a year: 12,500 USD."""
    subs = [version(f"a{i}", f"ca{i}", date(2026, 1, 1)) for i in range(100)]
    subs += [version(f"b{i}", f"cb{i}", date(2026, 1, 1), amount=60000, interval="year")
             for i in range(50)]
    day = daily_metrics(subs, date(2026, 1, 1), date(2026, 1, 1))[0]
    assert (day.mrr, day.new, day.active_subscriptions, day.active_customers) == (
        1_250_000, 1_250_000, 150, 150)


def test_normalisation_rounding_quantity_and_what_does_not_count():
    assert monthly_value(version("s", "c", 0, amount=10000, interval="year")) == 833  # 833.33
    assert monthly_value(version("s", "c", 0, amount=12000, interval="year")) == 1000
    assert monthly_value(version("s", "c", 0, amount=125, interval="year", quantity=1)) == 10
    assert monthly_value(version("s", "c", 0, amount=30, interval="year")) == 2   # 2.5: to even
    assert monthly_value(version("s", "c", 0, amount=42, interval="year")) == 4   # 3.5: to even
    assert monthly_value(version("s", "c", 0, amount=1000, interval="week")) == 4333
    assert monthly_value(version("s", "c", 0, amount=700, quantity=3)) == 2100
    for status in ("trialing", "canceled", "unpaid", "incomplete", "paused"):
        assert monthly_value(version("s", "c", 0, status=status)) == 0
    assert monthly_value(version("s", "c", 0, status="past_due")) == 10000
    assert monthly_value(version("s", "c", 0, cancel_scheduled=True)) == 0
    metered = SubscriptionVersion("s", "c", "usd", 0, "active",
                                  (Item(Fraction(500), 1, "month", metered=True),))
    assert monthly_value(metered) == 0


def test_forever_discounts_reduce_mrr():
    half = version("s", "c", 0, discounts=(Discount(percent_off=Decimal(50)),))
    assert monthly_value(half) == 5000
    yearly_off = version("s", "c", 0, amount=120000, interval="year",
                         discounts=(Discount(amount_off=12000),))
    assert monthly_value(yearly_off) == 9000


def test_movements_roll_forward_per_customer():
    jan = [date(2026, 1, d) for d in range(1, 32)]
    subs = [version("s1", "c1", jan[0], status="trialing"),
            version("s1", "c1", jan[7]),                              # trial converts: new
            version("s2", "c2", jan[2], amount=60000, interval="year"),
            version("s1", "c1", jan[9], amount=15000),                # upgrade: expansion
            version("s2", "c2", jan[11], amount=60000, interval="year", cancel_scheduled=True),
            version("s3", "c2", jan[19], amount=1200),                # comes back: reactivation
            version("s1", "c1", jan[24], amount=9000),                # downgrade: contraction
            version("s4", "c3", jan[24], amount=500000, currency="jpy")]
    days = {(m.day, m.currency): m for m in daily_metrics(subs, jan[0], jan[-1])}
    usd = lambda d: days[(jan[d - 1], "USD")]                        # noqa: E731
    assert (usd(3).new, usd(8).new, usd(10).expansion, usd(12).churned, usd(20).reactivation,
            usd(25).contraction) == (5000, 10000, 5000, 5000, 1200, 6000)
    assert (usd(31).mrr, usd(31).active_subscriptions, usd(31).active_customers) == (
        10200, 2, 2)
    assert days[(jan[24], "JPY")].new == 500000 and days[(jan[23], "JPY")].mrr == 0


def test_version_from_stripe_reads_items_discounts_and_cancellation():
    sub = {"id": "sub_1", "customer": "cus_1", "currency": "eur", "status": "active",
           "cancel_at_period_end": False, "cancel_at": None,
           "discounts": [{"id": "di_1", "source": {"type": "coupon", "coupon": {
               "id": "co_1", "duration": "forever", "percent_off": 20.0, "amount_off": None}}},
                         {"id": "di_2", "source": {"type": "coupon", "coupon": {
                             "id": "co_2", "duration": "once", "percent_off": 50.0}}}],
           "items": {"data": [
               {"id": "si_1", "quantity": 2, "discounts": [],
                "price": {"id": "price_1", "unit_amount": 2500, "billing_scheme": "per_unit",
                          "recurring": {"interval": "month", "interval_count": 1,
                                        "usage_type": "licensed"}}},
               {"id": "si_2", "quantity": 1, "discounts": [],
                "price": {"id": "price_2", "unit_amount": None, "unit_amount_decimal": "0.5",
                          "billing_scheme": "per_unit",
                          "recurring": {"interval": "month", "usage_type": "metered"}}}]}}
    v = version_from_stripe(sub, int(utc(2026, 3, 1).timestamp()))
    assert (v.customer_id, v.currency, monthly_value(v)) == ("cus_1", "EUR", 4000)
    assert monthly_value(version_from_stripe({**sub, "cancel_at_period_end": True}, 0)) == 0
    with pytest.raises(RevenueError, match="expand discounts"):
        version_from_stripe({**sub, "discounts": ["di_1"]}, 0)


@settings(max_examples=40, deadline=None, database=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, 40),
                          st.sampled_from(["active", "past_due", "trialing", "canceled"]),
                          st.integers(0, 90000), st.sampled_from(["month", "year", "week"]),
                          st.sampled_from(["usd", "eur"])), max_size=40))
def test_mrr_rolls_forward_exactly(events):
    start = date(2026, 1, 1)
    subs = [version(f"s{s}", f"c{c}", start + timedelta(days=d), status, amount, interval,
                    currency=cur if s % 2 else "usd")
            for s, c, d, status, amount, interval, cur in events]
    # a subscription keeps its customer and currency
    first = {}
    subs = [v for v in subs if first.setdefault(v.subscription_id, (v.customer_id, v.currency))
            == (v.customer_id, v.currency)]
    previous: dict[str, int] = {}
    for m in daily_metrics(subs, start, start + timedelta(days=45)):
        was = previous.get(m.currency, 0)
        assert m.mrr == was + m.new + m.reactivation + m.expansion - m.contraction - m.churned
        assert m.mrr >= 0 and m.active_customers <= m.active_subscriptions
        previous[m.currency] = m.mrr
