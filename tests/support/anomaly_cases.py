"""Inject known anomalies into a running Stripe sandbox, through its public API only.

* card-testing bursts: a new customer tries a handful of small charges seconds apart,
  most declined (Stripe's declining test card), a few accepted;
* refund abuse: a customer buys several catalogue items and has each fully refunded
  within the hour;
* mislabelled SKUs: an ordinary customer's charge whose metadata names another product's
  SKU (its price does not divide the amount) or a SKU the catalogue lacks.

Between cases the sandbox clock moves on (``/_sandbox/clock/advance``), as real time would.
Returns the ids of the injected objects by kind: the truth the scores are measured against.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import httpx
import stripe


@dataclass
class Injected:
    card_testing: set[str] = field(default_factory=set)      # charge ids
    refund_abuse: set[str] = field(default_factory=set)      # refund ids
    mislabelled: set[str] = field(default_factory=set)       # charge ids

    @property
    def all(self) -> set[str]:
        return self.card_testing | self.refund_abuse | self.mislabelled


class Injector:
    def __init__(self, api_base: str, api_key: str, seed: int = 5) -> None:
        self.base = api_base
        self.client = stripe.StripeClient(api_key, base_addresses={"api": api_base})
        self.rng = random.Random(seed)
        self.out = Injected()
        prices = [p for p in self.client.v1.prices.list(params={"limit": 100}).auto_paging_iter()
                  if p.type == "one_time" and p.currency == "usd"]
        products = {p.id: p for p in
                    self.client.v1.products.list(params={"limit": 100}).auto_paging_iter()}
        self.catalogue = [(products[p.product].metadata["sku"], p.unit_amount) for p in prices
                          if p.product in products and "sku" in (products[p.product].metadata
                                                                 or {})]
        self.catalogue.sort()

    def advance(self, seconds: int) -> None:
        httpx.post(f"{self.base}/_sandbox/clock/advance", json={"seconds": seconds},
                   timeout=300).raise_for_status()

    def _customer(self, n: str) -> Any:
        return self.client.v1.customers.create(params={
            "email": f"case.{n}@example.test", "name": f"Case {n}",
            "address": {"country": "US", "line1": "1 Main Street", "city": "Springfield",
                        "postal_code": "10001"}})

    def _pay(self, customer: str, amount: int, pm: str, sku: str) -> str | None:
        """A confirmed payment; the charge id (a declined one too)."""
        params = {"amount": amount, "currency": "usd", "customer": customer,
                  "payment_method": pm, "confirm": True, "metadata": {"sku": sku}}
        try:
            pi = self.client.v1.payment_intents.create(params=params)
            return pi.latest_charge
        except stripe.CardError as exc:
            err = exc.error
            pi = getattr(err, "payment_intent", None) if err else None
            charge = getattr(pi, "latest_charge", None) if pi else None
            return charge if isinstance(charge, str) else getattr(charge, "id", None) or (
                getattr(err, "charge", None) if err else None)

    def card_testing(self, bursts: int) -> None:
        for b in range(bursts):
            cus = self._customer(f"tester{b}")
            sku, unit = self.catalogue[0]
            for i in range(self.rng.randint(6, 10)):
                pm = "pm_card_visa" if i % 3 == 2 else "pm_card_chargeDeclined"
                charge = self._pay(cus.id, self.rng.randint(50, 300), pm, "")
                if charge:
                    self.out.card_testing.add(charge)
                self.advance(self.rng.randint(5, 40))
            self.advance(3 * 3600)

    def refund_abuse(self, customers: int) -> None:
        for c in range(customers):
            cus = self._customer(f"refunder{c}")
            for _ in range(self.rng.randint(3, 5)):
                sku, unit = self.rng.choice(self.catalogue)
                charge = self._pay(cus.id, unit, "pm_card_visa", sku)
                self.advance(self.rng.randint(600, 2400))
                refund = self.client.v1.refunds.create(params={"charge": charge})
                self.out.refund_abuse.add(refund.id)
                self.advance(self.rng.randint(1200, 5400))
            self.advance(6 * 3600)

    def mislabelled(self, charges: int) -> None:
        for c in range(charges):
            cus = self._customer(f"buyer{c}")
            (sku, unit), (other, other_unit) = self.rng.sample(self.catalogue, 2)
            if other_unit and unit % other_unit == 0:
                other = f"{other}-X"
            label = other if self.rng.random() < 0.7 else sku.replace("-0", "-")
            charge = self._pay(cus.id, unit, "pm_card_visa", label)
            self.out.mislabelled.add(charge)
            self.advance(self.rng.randint(3600, 4 * 3600))


def inject(api_base: str, api_key: str, *, bursts: int = 6, refunders: int = 6,
           mislabelled: int = 12, seed: int = 5) -> Injected:
    inj = Injector(api_base, api_key, seed)
    inj.card_testing(bursts)
    inj.refund_abuse(refunders)
    inj.mislabelled(mislabelled)
    return inj.out
