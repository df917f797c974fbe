"""A customer's subscription as the ERP keeps it: status, plan, quantity, renewal date and MRR.

Pure: Stripe subscriptions (mirrored, ``items.data[].price`` embedded) in, one
:class:`CustomerSubscription` per ERP customer out, which each ERP adapter writes to its
customer record (README "Subscriptions in the ERP").

Rules:

* the ERP customer is the one the customer postings use: the Stripe customer id, or with
  ``email`` in the mapping's match rules, the oldest Stripe customer sharing its e-mail;
* the customer's *current* subscription is the newest one still alive (not ``canceled`` or
  ``incomplete_expired``); when none is, the newest one (so a cancellation shows);
* its plan is the ERP item of the price's product of its largest item (the mapping's
  ``items`` rules, as for sales orders), its quantity that item's quantity;
* ``renewal_date``: the UTC date the current period ends (the next renewal, or the end when
  the subscription is set to cancel at period end or at ``cancel_at``); once canceled, the
  date it ended;
* MRR: the sum of the MRR (``domain.revenue.metrics.monthly_value``, Stripe's definition)
  of every subscription of the customer in the current subscription's currency, in minor
  units. A subscription whose MRR cannot be valued (a tiered price, a discount not expanded)
  is an error naming it, never a silent zero.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping as AnyMapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from domain.mapping import Mapping
from domain.money import normalize_currency
from domain.revenue.metrics import monthly_value, version_from_stripe
from domain.revenue.schedules import RevenueError

ENDED = frozenset({"canceled", "incomplete_expired"})
# one-character codes for ERPs whose field holds one character (M3 CFC5)
STATUS_CODES = {"active": "A", "trialing": "T", "past_due": "D", "unpaid": "U",
                "paused": "P", "canceled": "C", "incomplete": "I", "incomplete_expired": "E"}
STATUS_OF_CODE = {v: k for k, v in STATUS_CODES.items()}


@dataclass(frozen=True)
class CustomerSubscription:
    """What the ERP's customer record holds about the customer's subscriptions."""

    customer: str            # the ERP customer's external id (a Stripe customer id)
    subscription_id: str     # the current subscription (sub_...)
    status: str              # Stripe's status of it
    plan: str                # ERP item of its plan
    quantity: int
    renewal_date: date
    mrr: int                 # minor units of ``currency``: every subscription of the customer
    currency: str            # ISO, upper


class SubscriptionProblem(ValueError):
    """A customer whose subscription cannot be written, with the reason."""

    def __init__(self, customer: str, message: str) -> None:
        super().__init__(message)
        self.customer, self.message = customer, message


def _ref(value: Any) -> str | None:
    return value.get("id") if isinstance(value, AnyMapping) else value


def _day(epoch: int | None) -> date | None:
    return None if epoch is None else datetime.fromtimestamp(int(epoch), tz=timezone.utc).date()


def erp_customer_keys(customers: Iterable[AnyMapping[str, Any]], mapping: Mapping
                      ) -> dict[str, str]:
    """Stripe customer id -> the external id of its ERP customer (the postings' rule)."""
    keys: dict[str, str] = {}
    by_email: dict[str, str] = {}
    for cus in sorted(customers, key=lambda c: (c.get("created") or 0, c["id"])):
        email = (cus.get("email") or "").strip().lower()
        if "email" in mapping.customers.match and email:
            keys[cus["id"]] = by_email.setdefault(email, cus["id"])
        else:
            keys[cus["id"]] = cus["id"]
    return keys


def _item_value(item: AnyMapping[str, Any]) -> tuple[int, int]:
    price = item.get("price") or {}
    return int(price.get("unit_amount") or 0) * int(item.get("quantity") or 0), \
        int(item.get("quantity") or 0)


def renewal_date(sub: AnyMapping[str, Any]) -> date:
    """When the current period ends (renewal or scheduled end); once ended, when it ended."""
    if sub.get("status") in ENDED:
        ended = sub.get("ended_at") or sub.get("canceled_at") or sub.get("created")
        return _day(ended)  # type: ignore[return-value]
    items = (sub.get("items") or {}).get("data") or []
    ends = [i.get("current_period_end") for i in items if i.get("current_period_end")]
    end = min(ends) if ends else sub.get("current_period_end")
    if sub.get("status") == "trialing" and sub.get("trial_end"):
        end = sub["trial_end"]
    if sub.get("cancel_at") and (end is None or sub["cancel_at"] < end):
        end = sub["cancel_at"]
    if end is None:
        raise ValueError(f"subscription {sub.get('id')}: no current_period_end")
    return _day(end)  # type: ignore[return-value]


def current_subscription(subs: Iterable[AnyMapping[str, Any]]) -> AnyMapping[str, Any]:
    """The newest subscription still alive, else the newest one."""
    ordered = sorted(subs, key=lambda s: (s.get("status") not in ENDED, s.get("created") or 0,
                                          s["id"]))
    return ordered[-1]


def summarise(customer: str, subs: list[AnyMapping[str, Any]], mapping: Mapping,
              products: AnyMapping[str, AnyMapping[str, Any]]) -> CustomerSubscription:
    """The ERP view of one ERP customer's subscriptions (raises SubscriptionProblem)."""
    current = current_subscription(subs)
    sid = current["id"]
    currency = normalize_currency(current["currency"])
    mrr = 0
    for sub in subs:
        if normalize_currency(sub["currency"]) != currency:
            continue
        try:
            mrr += monthly_value(version_from_stripe(sub, int(sub.get("created") or 0)))
        except (RevenueError, KeyError, TypeError, ValueError) as exc:
            raise SubscriptionProblem(customer, f"subscription {sub['id']}: MRR: {exc}") from exc
    items = (current.get("items") or {}).get("data") or []
    if not items:
        raise SubscriptionProblem(customer, f"subscription {sid}: no items")
    main = max(items, key=_item_value)
    product_id = _ref((main.get("price") or {}).get("product"))
    product = products.get(product_id or "") or {}
    sku = (product.get("metadata") or {}).get("sku")
    try:
        renews = renewal_date(current)
    except ValueError as exc:
        raise SubscriptionProblem(customer, str(exc)) from exc
    return CustomerSubscription(
        customer=customer, subscription_id=sid, status=current["status"],
        plan=mapping.items.item_for(sku, product_id), quantity=int(main.get("quantity") or 0),
        renewal_date=renews, mrr=mrr, currency=currency)


def summarise_all(subscriptions: Iterable[AnyMapping[str, Any]],
                  customer_keys: AnyMapping[str, str], mapping: Mapping,
                  products: AnyMapping[str, AnyMapping[str, Any]]
                  ) -> tuple[dict[str, CustomerSubscription], dict[str, str]]:
    """Per ERP customer: its summary, or the reason it cannot be written."""
    by_customer: dict[str, list[AnyMapping[str, Any]]] = {}
    for sub in subscriptions:
        cid = _ref(sub.get("customer"))
        if not cid:
            continue
        by_customer.setdefault(customer_keys.get(cid, cid), []).append(sub)
    out: dict[str, CustomerSubscription] = {}
    problems: dict[str, str] = {}
    for key, subs in sorted(by_customer.items()):
        try:
            out[key] = summarise(key, subs, mapping, products)
        except SubscriptionProblem as exc:
            problems[key] = exc.message
    return out, problems
