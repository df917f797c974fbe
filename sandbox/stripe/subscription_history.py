"""``--profile subscriptions``: a SaaS subscription business over the generated history.

On top of the default profile's activity (same seed), with the accrual profile's bank
accounts (USD, EUR, GBP settlement), the generator signs up subscribers every day to three
plans (Basic, Pro, per-seat Team), monthly or annual, in USD, EUR, GBP and JPY, and over
their lives schedules, through the same functions the API calls:

* trials (14 days; ``trial_will_end``, then the first paid invoice), some ending without a
  payment method and pausing (``customer.subscription.paused``, later ``resume``);
* exclusive tax (the accrual profile's rates per currency) on most subscriptions;
* coupons: 25 % off for 3 months (repeating) and 15 % forever;
* mid-period upgrades and downgrades of the plan and seat changes, invoiced at once with
  their prorations (``always_invoice``), and a switch from monthly to annual billing;
* cancellations at period end and immediate ones with a prorated credit on a final invoice;
* ``pause_collection`` (void) for about a month, resuming by itself;
* credit notes: part of a paid first invoice refunded or credited to the customer balance,
  pre-payment credit notes on open ``send_invoice`` invoices, some voided;
* cards that start failing before a renewal: the invoice fails, is retried (dunning) and is
  paid once the customer updates the card; a quarter never do and the subscription is
  canceled after the last retry.

Its random stream is separate from the other profiles'.  Generating 180 days at ``--scale
small`` takes a few seconds.
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from . import catalog, coupons, credit_notes, invoicing, subscriptions
from .accrual import TAXES
from .clock import DAY
from .errors import StripeError

if TYPE_CHECKING:
    from .generator import _World

Obj = dict[str, Any]
CURRENCIES = ("usd", "eur", "gbp", "jpy")
# name, monthly USD cents, annual USD cents
PLANS = (("Basic", 1_500, 15_000), ("Pro", 4_900, 49_000), ("Team seat", 1_200, 12_000))
SIGNUPS_PER_DAY = 30  # at scale 1.0


class Book:
    """What the subscription activity remembers (its own random stream)."""

    def __init__(self, w: _World) -> None:
        self.rng = random.Random(9_100_003 + w.e.seed)
        self.prices: dict[tuple[int, str, str], Obj] = {}  # (plan, interval, currency)
        self.coupons: list[Obj] = []
        self.rates: dict[str, Obj] = {}
        self.n = 0


def plan(w: _World, start: int, end: int) -> None:
    """Build the catalog and schedule sign-ups over ``[start, end)``."""
    from .generator import localize

    e, b = w.e, Book(w)
    w.subs = b
    t0 = start + 1800
    for i, (name, monthly, annual) in enumerate(PLANS):
        prod = catalog.new_product(e, t0, name=f"Cloud {name}", type="service",
                                   metadata={"sku": f"SAAS-{i + 1:03d}"})
        for cur in CURRENCIES:
            for interval, usd in (("month", monthly), ("year", annual)):
                b.prices[(i, interval, cur)] = catalog.new_price(
                    e, t0, product=prod["id"], currency=cur, unit_amount=localize(usd, cur),
                    recurring={"interval": interval, "interval_count": 1, "meter": None,
                               "trial_period_days": None, "usage_type": "licensed"},
                    metadata={}, nickname=f"{name} {interval}ly ({cur.upper()})")
    for params in ({"id": "WELCOME25", "percent_off": "25", "duration": "repeating",
                    "duration_in_months": "3"},
                   {"id": "PARTNER15", "percent_off": "15", "duration": "forever"}):
        b.coupons.append(coupons.create_coupon(e, params, t0))
    for cur, (name, pct, country, state, jurisdiction, kind) in TAXES.items():
        b.rates[cur] = invoicing.tax_rate(e, t0, display_name=name, percentage=pct,
                                          country=country, state=state,
                                          jurisdiction=jurisdiction, tax_type=kind)
    per_day = SIGNUPS_PER_DAY * w.scale
    for day in range((end - start) // DAY):
        d0 = start + day * DAY
        n = int(per_day) + (1 if b.rng.random() < per_day - int(per_day) else 0)
        for _ in range(max(n, 1 if day % 3 == 0 else 0)):
            w.later(d0 + b.rng.randrange(6 * 3600, 22 * 3600), "sub:signup", None)


def run(w: _World, t: int, kind: str, payload: Any) -> None:
    _HANDLERS[kind[len("sub:"):]](w, w.subs, t, payload)


def _charge_of_new_invoice(w: _World, inv: Obj) -> Obj | None:
    """The charge that paid ``inv`` in this operation (still in the engine's write set)."""
    e = w.e
    for obj, _ in e._dirty.values():
        if obj["object"] == "invoice_payment" and obj["invoice"] == inv["id"] \
                and obj["status"] == "paid":
            return e.load(e.load(obj["payment"]["payment_intent"], "payment_intent")
                          ["latest_charge"], "charge")
    return None


# What happens to the n-th subscriber, in turn (so every behaviour occurs in any window of
# a few dozen sign-ups, whatever the seed); the random stream picks the details.
SCENARIOS = ("plain", "upgrade", "seats", "downgrade", "annual", "cancel_at_period_end",
             "cancel_now", "pause", "refund", "balance_credit", "card_fails", "plain")


def _signup(w: _World, b: Book, t: int, payload: Any) -> None:
    e, rng = w.e, b.rng
    b.n += 1
    n = b.n
    scenario = SCENARIOS[n % len(SCENARIOS)]
    cur = CURRENCIES[rng.choices(range(4), (55, 25, 15, 5))[0]]
    tier = 2 if scenario == "seats" else 1 if scenario == "downgrade" else \
        0 if scenario == "upgrade" else rng.choices(range(3), (50, 30, 20))[0]
    interval = "year" if (n % 4 == 1 or n % 24 == 8) and scenario != "annual" else "month"
    qty = rng.randint(2, 10) if tier == 2 else 1
    trial = n % 5 == 0
    no_card = n % 15 == 0
    invoiced = not trial and n % 7 == 3
    cus = catalog.new_customer(
        e, t, email=f"saas{n}.{cur}@customers.test", name=f"Tenant {n}",
        metadata={"erp_customer_id": f"S{n:06d}"}, currency=cur,
        default_payment_method=None if no_card else "pm_card_visa")
    offer = [b.coupons[n // 3 % 2]] if n % 3 == 0 else []
    sub = subscriptions.new_subscription(
        e, t, customer=cus, items=[(b.prices[(tier, interval, cur)], qty)], payment_method=None,
        metadata={"tenant": f"T{n:05d}"},
        collection_method="send_invoice" if invoiced else "charge_automatically",
        days_until_due=14 if invoiced else None, trial_end=t + 14 * DAY if trial else None,
        missing_payment_method="pause" if no_card else "create_invoice", discounts=offer,
        tax_rates=[b.rates[cur]] if n % 5 != 2 else [])
    first = e.load(sub["latest_invoice"], "invoice")
    end = sub["items"]["data"][0]["current_period_end"]
    soon = t + rng.randrange(DAY, max(2 * DAY, end - t - DAY))
    if no_card:
        w.later(t + rng.randrange(20, 40) * DAY, "sub:resume", sub)
    elif invoiced:
        w.later(t + rng.randrange(DAY, 5 * DAY), "sub:settle", (sub, n % 2 == 1))
    elif scenario in ("upgrade", "seats", "downgrade"):
        w.later(soon, "sub:change", (sub, {"upgrade": 1, "downgrade": 0, "seats": 2}[scenario],
                                     qty + 2 if n % 2 else max(1, qty - 1)))
    elif scenario == "annual":
        w.later(soon, "sub:annual", sub)
    elif scenario.startswith("cancel"):
        w.later(soon, "sub:cancel", (sub, scenario == "cancel_at_period_end"))
    elif scenario == "pause":
        w.later(soon, "sub:pause", sub)
    elif scenario in ("refund", "balance_credit") and not trial:
        w.later(soon, "sub:credit", (first, _charge_of_new_invoice(w, first)
                                     if scenario == "refund" else None))
    elif scenario == "card_fails":
        w.later(end - rng.randrange(DAY, 3 * DAY), "sub:card_fails", (sub, cus, n // 12 % 4 != 3))


def _change(w: _World, b: Book, t: int, payload: tuple[Obj, int, int]) -> None:
    """Upgrade/downgrade the plan or change seats, invoiced at once with prorations."""
    sub, tier, qty = payload
    if sub["status"] not in ("active", "past_due", "trialing"):
        return
    si = sub["items"]["data"][0]
    interval, cur = si["price"]["recurring"]["interval"], sub["currency"]
    price = b.prices[(tier, interval, cur)]
    subscriptions.update_subscription(w.e, sub["id"], {
        "items": [{"id": si["id"], "price": price["id"],
                   "quantity": str(qty if tier == 2 else 1)}],
        "proration_behavior": "always_invoice"}, t)


def _annual(w: _World, b: Book, t: int, sub: Obj) -> None:
    """Switch a monthly subscription to the annual price (anchor resets, invoiced now)."""
    if sub["status"] not in ("active", "trialing"):
        return
    si = sub["items"]["data"][0]
    tier = next(i for (i, iv, c), p in b.prices.items() if p["id"] == si["price"]["id"])
    price = b.prices[(tier, "year", sub["currency"])]
    subscriptions.update_subscription(w.e, sub["id"], {
        "items": [{"id": si["id"], "price": price["id"]}]}, t)


def _cancel(w: _World, b: Book, t: int, payload: tuple[Obj, bool]) -> None:
    sub, at_period_end = payload
    if sub["status"] not in ("active", "past_due", "trialing"):
        return
    if at_period_end:
        subscriptions.update_subscription(w.e, sub["id"], {"cancel_at_period_end": "true"}, t)
    else:
        subscriptions.cancel_subscription(w.e, sub["id"], {"prorate": "true",
                                                           "invoice_now": "true"}, t)


def _pause(w: _World, b: Book, t: int, sub: Obj) -> None:
    if sub["status"] == "active":
        subscriptions.update_subscription(w.e, sub["id"], {"pause_collection": {
            "behavior": "void", "resumes_at": str(t + 35 * DAY)}}, t)


def _resume(w: _World, b: Book, t: int, sub: Obj) -> None:
    if sub["status"] == "paused":
        cus = w.e.load(sub["customer"], "customer")
        catalog.update_customer(w.e, cus["id"], {"invoice_settings": {
            "default_payment_method": "pm_card_visa"}}, t)
        subscriptions.resume_subscription(w.e, sub["id"], {}, t)


def _credit(w: _World, b: Book, t: int, payload: tuple[Obj, Obj | None]) -> None:
    """Part of a paid first invoice back: refunded (with the charge at hand) or credited."""
    inv, charge = payload
    line = inv["lines"]["data"][-1]
    if inv["status"] != "paid" or inv["total"] <= 0 or line["amount"] <= 0:
        return
    amount = max(1, line["amount"] * b.rng.randrange(20, 60) // 100)
    cn_total = amount - sum(credit_notes.share(d["amount"], amount, line["amount"])
                            for d in line["discount_amounts"]) \
        + sum(credit_notes.share(x["amount"], amount, line["amount"]) for x in line["taxes"])
    refund = charge is not None
    credit_notes.issue(w.e, inv, {
        "lines": [{"type": "invoice_line_item", "invoice_line_item": line["id"],
                   "amount": str(amount)}],
        "reason": "product_unsatisfactory",
        "refund_amount" if refund else "credit_amount": str(cn_total)}, t, charge=charge)


def _settle(w: _World, b: Book, t: int, payload: tuple[Obj, bool]) -> None:
    """A ``send_invoice`` subscriber pays its open invoice, sometimes after a credit note
    (voided again in one case out of four)."""
    sub, credit_first = payload
    e = w.e
    if sub["status"] == "canceled":
        return
    try:
        inv = e.load(sub["latest_invoice"], "invoice")
    except StripeError:  # already paid: no longer at hand in bulk mode
        inv = None
    if inv is not None and inv["status"] == "open":
        if credit_first and inv["amount_remaining"] > 1:
            cn = credit_notes.issue(e, inv, {"amount": str(inv["amount_remaining"] // 5),
                                             "reason": "order_change"}, t)
            if b.rng.random() < 0.25:
                credit_notes.void(e, cn, inv, t + 3600)
        invoicing.pay_now(e, inv, t + 7200, "pm_card_visa")
    w.later(t + b.rng.randrange(20, 35) * DAY, "sub:settle", (sub, b.rng.random() < 0.3))


def _card_fails(w: _World, b: Book, t: int, payload: tuple[Obj, Obj, bool]) -> None:
    sub, cus, fixed = payload
    if sub["status"] != "active":
        return
    catalog.update_customer(w.e, cus["id"], {"invoice_settings": {
        "default_payment_method": "pm_card_chargeDeclinedInsufficientFunds"}}, t)
    if fixed:  # the customer updates the card during dunning
        renewal = sub["items"]["data"][0]["current_period_end"]
        w.later(renewal + b.rng.randrange(2, 6) * DAY + 600, "sub:card_updated", cus)


def _card_updated(w: _World, b: Book, t: int, cus: Obj) -> None:
    catalog.update_customer(w.e, cus["id"], {"invoice_settings": {
        "default_payment_method": "pm_card_visa"}}, t)


_HANDLERS = {
    "signup": _signup, "change": _change, "annual": _annual, "cancel": _cancel,
    "pause": _pause, "resume": _resume, "credit": _credit, "settle": _settle,
    "card_fails": _card_fails, "card_updated": _card_updated,
}
