"""Subscription metrics per UTC day and currency: MRR and its movements, active subscriptions and
customers, defined as Stripe Billing analytics defines them.

docs.stripe.com/billing/subscriptions/analytics/glossary:

* "MRR is the sum of the monthly-normalized value of all your ``active`` and ``past_due``
  subscriptions. MRR calculations exclude subscriptions in trial periods, any taxes applied to
  the subscription, any subscribers on free plans, and any metered (usage based) products."
  Example: a plan of 600 USD per year counts 600/12 a month.
* "When a subscriber's subscription is canceled or marked as ``unpaid``, then the subscription
  is considered churn and no longer counts towards MRR."
* "MRR Growth = [(New MRR) + (Reactivation MRR) + (Expansion MRR)] - [(Churned MRR) +
  (Contraction MRR)]"; "New subscribers: paid subscribers who became active for the first time
  ... We also don't include reactivated customers."
* "Active subscribers only includes subscribers with positive MRR that are in an ``active`` or
  ``past_due`` state ... A customer with multiple active subscriptions is counted as a single
  active subscriber. If a subscriber drops to 0 USD in MRR, we consider them churned."

support.stripe.com (Billing analytics; "Impact of discounts and coupons on MRR"; "Impact of
subscription cancellations on MRR"): a coupon with a ``forever`` duration reduces MRR, a
``once`` or ``repeating`` one does not; with ``cancel_at_period_end`` "the subscription will no
longer count towards your MRR after the time of the API call, not at the end of the period".

Our decisions where Stripe is silent (README, "Revenue recognition"):

* normalisation per price interval: month / ``interval_count``; year / (12 x count); week x
  52 / (12 x count); day x 365 / (12 x count);
* a forever ``amount_off`` coupon comes off every invoice, so it is normalised with the
  subscription's shortest item interval; ``percent_off`` applies to the normalised amount;
* exact fractions per subscription, rounded once to the minor unit, half to even; movements are
  then integer differences, so MRR(day) = MRR(day before) + new + reactivation + expansion -
  contraction - churned, exactly;
* movements are classified per customer and currency (Stripe's "Customer MRR changes"): from 0
  to positive is *new*, or *reactivation* if the customer ever had positive MRR before (in any
  currency); a customer going to 0 is *churned*; other changes are expansion or contraction;
* ``pause_collection`` does not change a subscription's status, so it keeps counting (status
  ``paused``, a trial that ended without a payment method, does not); a cancellation scheduled
  with ``cancel_at`` counts like ``cancel_at_period_end``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable, Mapping

from domain.money import normalize_currency

from .schedules import RevenueError, day_date, day_number

COUNTED_STATUSES = frozenset({"active", "past_due"})
MONTHS_PER = {"month": Fraction(1), "year": Fraction(12), "week": Fraction(12, 52),
              "day": Fraction(12, 365)}


@dataclass(frozen=True)
class Discount:
    """A ``forever`` coupon: ``percent_off`` (e.g. 25 for 25 %) or ``amount_off`` minor units."""

    percent_off: Decimal | None = None
    amount_off: int | None = None


@dataclass(frozen=True)
class Item:
    unit_amount: Fraction          # minor units per unit per interval (may be fractional)
    quantity: int
    interval: str                  # day | week | month | year
    interval_count: int = 1
    metered: bool = False
    discounts: tuple[Discount, ...] = ()

    def months(self) -> Fraction:
        if self.interval not in MONTHS_PER or self.interval_count < 1:
            raise RevenueError(f"price interval {self.interval!r} x {self.interval_count}")
        return MONTHS_PER[self.interval] * self.interval_count


@dataclass(frozen=True)
class SubscriptionVersion:
    """A subscription's state from ``valid_from`` until its next version."""

    subscription_id: str
    customer_id: str
    currency: str
    valid_from: int | datetime | date
    status: str
    items: tuple[Item, ...]
    discounts: tuple[Discount, ...] = ()
    cancel_scheduled: bool = False


@dataclass(frozen=True)
class DailyMetrics:
    day: date
    currency: str
    mrr: int
    new: int
    reactivation: int
    expansion: int
    contraction: int
    churned: int
    active_subscriptions: int
    active_customers: int


def _discounted(amount: Fraction, discounts: Iterable[Discount], months: Fraction) -> Fraction:
    for d in discounts:
        if d.percent_off is not None:
            amount *= 1 - Fraction(d.percent_off) / 100
        if d.amount_off:
            amount -= Fraction(d.amount_off) / months
    return max(amount, Fraction(0))


def monthly_value(version: SubscriptionVersion) -> int:
    """The subscription's MRR in minor units of its currency (0 when it does not count)."""
    if version.status not in COUNTED_STATUSES or version.cancel_scheduled:
        return 0
    licensed = [item for item in version.items if not item.metered]
    if not licensed:
        return 0
    total = sum((_discounted(item.unit_amount * item.quantity / item.months(), item.discounts,
                             item.months()) for item in licensed), Fraction(0))
    total = _discounted(total, version.discounts, min(item.months() for item in licensed))
    return round(total)                      # Fraction rounds half to even


def daily_metrics(versions: Iterable[SubscriptionVersion], first_day: date,
                  last_day: date) -> list[DailyMetrics]:
    """Metrics at the end of each UTC day from ``first_day`` to ``last_day``, per currency.

    ``versions`` are every known state of every subscription (from its creation and each
    ``customer.subscription.*`` event's ``data.object``); history before ``first_day`` sets the
    opening MRR and who was ever a subscriber.
    """
    by_day: dict[int, list[SubscriptionVersion]] = defaultdict(list)
    for v in sorted(versions, key=lambda v: (day_number(v.valid_from), v.subscription_id)):
        by_day[day_number(v.valid_from)].append(v)
    start, end = day_number(first_day), day_number(last_day)
    days = sorted(d for d in by_day if d < start)
    days += list(range(start, end + 1))
    sub: dict[str, tuple[str, str, int]] = {}            # id -> (customer, currency, mrr)
    customer: dict[tuple[str, str], int] = defaultdict(int)
    mrr: dict[str, int] = defaultdict(int)
    subs_active: dict[str, int] = defaultdict(int)
    customers_active: dict[str, int] = defaultdict(int)
    currencies = {normalize_currency(v.currency) for vs in by_day.values() for v in vs}
    ever: set[str] = set()
    out: list[DailyMetrics] = []
    for d in days:
        before: dict[tuple[str, str], int] = {}
        for v in by_day.get(d, ()):
            key = (v.customer_id, normalize_currency(v.currency))
            before.setdefault(key, customer[key])
            old = sub.get(v.subscription_id, (v.customer_id, key[1], 0))[2]
            new = monthly_value(v)
            sub[v.subscription_id] = (v.customer_id, key[1], new)
            customer[key] += new - old
            mrr[key[1]] += new - old
            subs_active[key[1]] += (new > 0) - (old > 0)
        moves = {c: dict.fromkeys(("new", "reactivation", "expansion", "contraction",
                                   "churned"), 0) for c in currencies}
        for (cust, cur), was in before.items():
            now = customer[(cust, cur)]
            customers_active[cur] += (now > 0) - (was > 0)
            m = moves[cur]
            if was == 0 and now > 0:
                m["reactivation" if cust in ever else "new"] += now
            elif was > 0 and now == 0:
                m["churned"] += was
            elif now > was:
                m["expansion"] += now - was
            else:
                m["contraction"] += was - now
        ever.update(key[0] for key in before if customer[key] > 0)
        if d < start:
            continue
        for cur in sorted(currencies):
            out.append(DailyMetrics(day_date(d), cur, mrr[cur], **moves[cur],
                                    active_subscriptions=subs_active[cur],
                                    active_customers=customers_active[cur]))
    return out


# --------------------------------------------------------------------------- Stripe objects

def version_from_stripe(subscription: Mapping[str, Any], valid_from: int) -> SubscriptionVersion:
    """A mirrored Subscription (``items.data[].price`` embedded, ``discounts`` expanded with
    their ``source.coupon``) as the state from ``valid_from`` (e.g. the event's ``created``)."""
    sid = subscription["id"]
    currency = normalize_currency(subscription["currency"])
    items = tuple(_item(sid, currency, item)
                  for item in (subscription.get("items") or {}).get("data") or ())
    return SubscriptionVersion(
        subscription_id=sid, customer_id=_ref(subscription["customer"]), currency=currency,
        valid_from=valid_from, status=subscription["status"], items=items,
        discounts=_forever(sid, currency, subscription.get("discounts")),
        cancel_scheduled=bool(subscription.get("cancel_at_period_end"))
        or subscription.get("cancel_at") is not None)


def _ref(value: Any) -> str:
    return value.get("id") if isinstance(value, Mapping) else value


def _item(sid: str, currency: str, item: Mapping[str, Any]) -> Item:
    price = item.get("price") or {}
    where = f"subscription {sid}: item {item.get('id')}: price {price.get('id')}"
    if not isinstance(price, Mapping) or not price.get("recurring"):
        raise RevenueError(f"{where}: not an embedded recurring price")
    if price.get("billing_scheme") == "tiered":
        raise RevenueError(f"{where}: tiered prices have no single unit amount for MRR")
    if price.get("unit_amount") is not None:
        unit = Fraction(int(price["unit_amount"]))
    elif price.get("unit_amount_decimal") is not None:
        unit = Fraction(Decimal(str(price["unit_amount_decimal"])))
    else:
        raise RevenueError(f"{where}: unit_amount: missing")
    recurring = price["recurring"]
    return Item(unit_amount=unit, quantity=int(item.get("quantity") or 0),
                interval=recurring["interval"],
                interval_count=int(recurring.get("interval_count") or 1),
                metered=recurring.get("usage_type") == "metered",
                discounts=_forever(sid, currency, item.get("discounts")))


def _forever(sid: str, currency: str, discounts: Any) -> tuple[Discount, ...]:
    out = []
    for d in discounts or ():
        coupon = ((d.get("source") or {}).get("coupon") if isinstance(d, Mapping) else None)
        if not isinstance(coupon, Mapping):
            raise RevenueError(f"subscription {sid}: discounts: expand discounts and their "
                               f"source.coupon to value MRR")
        if coupon.get("duration") != "forever":
            continue
        if coupon.get("amount_off") is not None and normalize_currency(
                coupon.get("currency") or currency) != currency:
            raise RevenueError(f"subscription {sid}: coupon {coupon.get('id')}: amount_off in "
                               f"{coupon.get('currency')}, subscription in {currency}")
        pct = coupon.get("percent_off")
        out.append(Discount(Decimal(str(pct)) if pct is not None else None,
                            coupon.get("amount_off")))
    return tuple(out)
