"""The history generator's world: what exists (customers, catalog), its RNG,
and the activity it draws (payments, sign-ups, subscriptions and their
follow-ups: refunds, disputes, evidence, retries, cancellations).

``generator.py`` drives a ``World`` day by day; ``accrual.py`` and
``subscription_history.py`` add the profile-specific histories.
"""

from __future__ import annotations

import heapq
import random
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import accrual, catalog, disputes, payments, refunds, subscription_history, subscriptions
from . import subscription_cycle as cycle
from .clock import DAY
from .currencies import RATES, THREE_DECIMAL, WHOLE_HUNDREDS, exponent, min_amount
from .history_data import (CARDS, CATALOG, CITIES, CURRENCY_BY_COUNTRY, DOMAINS, FIRST, LAST,
                           MARKETS, PLANS)
from .render import loads

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]


def localize(usd_cents: int, currency: str) -> int:
    """A price in ``currency`` worth about ``usd_cents``, obeying Stripe's exponent rules."""
    exp = exponent(currency)
    major = Decimal(usd_cents) / 100 / RATES[currency]
    amount = int(major.scaleb(exp))
    if currency in THREE_DECIMAL:
        amount = amount // 10 * 10
    elif currency in WHOLE_HUNDREDS or exp == 0 and amount > 1000:
        step = 100 if currency in WHOLE_HUNDREDS else 10
        amount = amount // step * step
    return max(amount, min_amount(currency))


class World:
    """The generator's memory of what exists (customers, catalog) and its RNG."""

    def __init__(self, e: Engine, seed: int, scale: float) -> None:
        self.e = e
        self.rng = random.Random(seed)
        self.scale = scale
        self.customers: list[Obj] = []
        self.products: list[Obj] = []
        self.one_time: dict[tuple[str, str], Obj] = {}
        self.plans: dict[tuple[int, str], Obj] = {}
        self.order = 0
        # Weighted choices as flat lookup tables: one random() per draw.
        self.markets = [m for m in MARKETS for _ in range(m[1])]
        self.cards = [c[0] for c in CARDS for _ in range(c[1])]
        # Generator-side follow-ups (refunds, disputes, evidence, cancellations).
        self.followups: list[tuple[int, int, str, Any]] = []
        self.seq = 0
        self.recent_charges: list[Obj] = []

    def later(self, t: int, kind: str, payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.followups, (t, self.seq, kind, payload))

    # ------------------------------------------------------------------ catalog

    def build_catalog(self, t: int) -> None:
        e, currencies = self.e, sorted({m[0] for m in MARKETS})
        for i, (name, usd) in enumerate(CATALOG):
            metadata = {"sku": f"SKU-{1000 + i:05d}"} if i % 8 != 7 else {"category": "misc"}
            prod = catalog.new_product(
                e,
                t,
                name=name,
                metadata=metadata,
                type="good",
                description=f"{name} - outdoor gear",
            )
            self.products.append(prod)
            for cur in currencies:
                self.one_time[(prod["id"], cur)] = catalog.new_price(
                    e,
                    t,
                    product=prod["id"],
                    currency=cur,
                    unit_amount=localize(usd, cur),
                    recurring=None,
                    metadata={},
                )
        for i, (name, usd, interval) in enumerate(PLANS):
            prod = catalog.new_product(
                e,
                t,
                name=f"Trail Club {name}",
                type="service",
                metadata={"sku": f"SUB-{i + 1:03d}", "plan": name.lower()},
            )
            for cur in currencies:
                self.plans[(i, cur)] = catalog.new_price(
                    e,
                    t,
                    product=prod["id"],
                    currency=cur,
                    unit_amount=localize(usd, cur),
                    recurring={
                        "interval": interval,
                        "interval_count": 1,
                        "meter": None,
                        "trial_period_days": None,
                        "usage_type": "licensed",
                    },
                    metadata={},
                    nickname=f"{name} ({cur.upper()})",
                )

    def adopt(self, t: int) -> None:
        """Use the store's catalog and recent customers, building what is missing."""
        e = self.e
        products = [loads(b) for b in e.export("product")]
        goods = [p for p in products if p["type"] == "good" and p["active"]]
        # Generated plans carry ``metadata.plan``; their order is PLANS' order.
        plan_names = [name.lower() for name, _, _ in PLANS]
        plan_index = {
            p["id"]: plan_names.index(p["metadata"]["plan"])
            for p in products
            if p["active"] and p["metadata"].get("plan") in plan_names
        }
        for data in e.export("price"):
            price = loads(data)
            if not price["active"]:
                continue
            if price["recurring"] is None:
                self.one_time[(price["product"], price["currency"])] = price
            elif price["product"] in plan_index:
                self.plans[(plan_index[price["product"]], price["currency"])] = price
        currencies = {m[0] for m in MARKETS}
        self.products = [
            p for p in goods if all((p["id"], cur) in self.one_time for cur in currencies)
        ]
        complete = all((i, cur) in self.plans for i in range(len(PLANS)) for cur in currencies)
        if not self.products or not complete:
            self.products, self.one_time, self.plans = [], {}, {}
            self.build_catalog(t)
        rows, _ = e.store.list("customer", limit=100)
        self.customers = [
            c for c in map(loads, rows) if c["invoice_settings"]["default_payment_method"]
        ]
        while len(self.customers) < 20:
            self.new_customer(t)
        self.recent_charges = [
            loads(r)
            for r in e.store.list("charge", limit=100)[0]
            if b'"status":"succeeded"' in r and b'"captured":true' in r
        ]

    # ------------------------------------------------------------------ activity

    def new_customer(self, t: int, subscriber: bool = False) -> Obj:
        rng = self.rng
        n = len(self.customers) + 1
        first, last = rng.choice(FIRST), rng.choice(LAST)
        currency, _, country, locale = self.markets[int(rng.random() * len(self.markets))]
        card = (
            "pm_card_chargeDeclinedInsufficientFunds"
            if rng.random() < 0.02
            else rng.choice(("pm_card_visa", "pm_card_mastercard", "pm_card_amex"))
        )
        cus = catalog.new_customer(
            self.e,
            t,
            email=f"{first.lower()}.{last.lower()}{n}@{rng.choice(DOMAINS)}",
            name=f"{first} {last}",
            metadata={"erp_customer_id": f"C{n:06d}"} if rng.random() < 0.8 else {},
            address={
                "city": CITIES[country],
                "country": country,
                "line1": f"{n} Main Street",
                "line2": None,
                "postal_code": f"{10000 + n % 89999}",
                "state": None,
            },
            currency=currency if subscriber else None,
            default_payment_method=card,
            preferred_locales=[locale],
        )
        self.customers.append(cus)
        return cus

    def payment(self, t: int) -> None:
        rng, e = self.rng, self.e
        customer = rng.choice(self.customers) if rng.random() < 0.85 else None
        cur = (
            _currency_of(customer)
            if customer
            else self.markets[int(rng.random() * len(self.markets))][0]
        )
        product = rng.choice(self.products)
        price = self.one_time[(product["id"], cur)]
        qty = 1 if rng.random() < 0.7 else rng.randint(2, 4)
        self.order += 1
        order = f"ORD-{self.order:07d}"
        pm = self.cards[int(rng.random() * len(self.cards))]
        pi = payments.new_payment_intent(
            e,
            t,
            amount=price["unit_amount"] * qty,
            currency=cur,
            customer=customer,
            description=f"Order {order}",
            metadata={"order_id": order, "sku": product["metadata"].get("sku", "")},
            payment_method=pm,
            receipt_email=customer["email"] if customer else None,
        )
        ch = payments.confirm(e, pi, pm, t)
        if ch["status"] != "succeeded":
            if rng.random() < 0.6:  # the shopper retries with another card
                self.later(t + rng.randint(30, 600), "retry", pi)
            return
        self.plan_followups(ch, t)

    def plan_followups(self, ch: Obj, t: int) -> None:
        rng = self.rng
        draw = rng.random()
        if draw < 0.045:
            self.later(t + rng.randint(3600, 20 * DAY), "refund", (ch, None))
        elif draw < 0.07:
            part = _partial(ch["amount"], ch["currency"], rng)
            self.later(t + rng.randint(3600, 10 * DAY), "refund", (ch, part))
            if rng.random() < 0.3:
                self.later(t + rng.randint(11 * DAY, 25 * DAY), "refund", (ch, None))
        elif draw < 0.078:
            opened = t + rng.randint(3 * DAY, 30 * DAY)
            self.later(opened, "dispute", ch)
        if len(self.recent_charges) < 5000:
            self.recent_charges.append(ch)
        elif rng.random() < 0.1:
            self.recent_charges[rng.randrange(5000)] = ch

    def subscribe(self, t: int) -> None:
        rng, e = self.rng, self.e
        cus = self.new_customer(t, subscriber=True)
        plan = rng.choices(range(len(PLANS)), (50, 30, 10, 10))[0]
        price = self.plans.get((plan, _currency_of(cus))) or self.plans[(0, _currency_of(cus))]
        qty = rng.randint(2, 12) if plan == 2 else 1  # "Team" seats
        sub = subscriptions.new_subscription(
            e,
            t,
            customer=cus,
            items=[(price, qty)],
            payment_method=None,
            metadata={"signup_channel": rng.choice(("web", "app"))},
        )
        if rng.random() < 0.15:
            self.later(t + rng.randint(10 * DAY, 120 * DAY), "cancel", sub["id"])

    def run_followup(self, t: int, kind: str, payload: Any) -> None:
        e = self.e
        if kind.startswith("acc:"):
            accrual.run(self, t, kind, payload)
            return
        if kind.startswith("sub:"):
            subscription_history.run(self, t, kind, payload)
            return
        if kind == "refund":
            ch, amount = payload
            remaining = ch["amount"] - ch["amount_refunded"]
            if ch["disputed"] or remaining <= 0:
                return
            refunds.refund_charge(
                e,
                ch,
                min(amount or remaining, remaining),
                t,
                reason=self.rng.choice(("requested_by_customer", "duplicate", None)),
                metadata={},
            )
        elif kind == "dispute":
            ch = payload
            if ch["refunded"] or ch["disputed"]:
                return
            reason = self.rng.choice(
                (
                    "fraudulent",
                    "product_not_received",
                    "unrecognized",
                    "duplicate",
                    "product_unacceptable",
                )
            )
            dp = disputes.open_dispute(e, ch, t, reason)
            if self.rng.random() < 0.5:
                text = "winning_evidence" if self.rng.random() < 0.7 else "customer was shipped"
                self.later(t + self.rng.randint(DAY, 6 * DAY), "evidence", (dp["id"], text))
        elif kind == "evidence":
            dp_id, text = payload
            disputes.update_dispute(e, dp_id, {"evidence": {"uncategorized_text": text}}, t)
        elif kind == "retry":
            ch = payments.confirm(e, payload, "pm_card_visa", t)
            self.plan_followups(ch, t)
        elif kind == "cancel":
            sub = e.load(payload, "subscription")
            if sub["status"] not in ("canceled", "incomplete_expired"):
                cycle.end_subscription(e, sub, t, "cancellation_requested")


def _currency_of(customer: Obj) -> str:
    """Billing currency of a customer: from its country (USD when unknown)."""
    address = customer["address"] or {}
    return CURRENCY_BY_COUNTRY.get(address.get("country") or "US", "usd")


def _partial(amount: int, currency: str, rng: random.Random) -> int:
    step = 10 if currency in THREE_DECIMAL else 100 if currency in WHOLE_HUNDREDS else 1
    part = int(amount * rng.uniform(0.2, 0.8)) // step * step
    return max(part, step)
