"""``--profile accrual``: the history a controller closes a month on.

On top of the default profile's activity (same seed), the accrual profile gives the account bank accounts in
USD, EUR and GBP (charges in those currencies settle without conversion and
are paid out per currency) and schedules, spread over the whole history:

* card payments in 20+ presentment currencies (round robin), with full and
  partial refunds (JPY and KWD every day) and disputes (every ten days one,
  alternately won and lost);
* taxed one-off invoices in eight currencies: paid on finalization, paid
  later, left open (so some are open at every month end and at the as-of
  date), voided, marked uncollectible (some of those paid later);
* SEPA (EUR) and ACH (USD) debits, a quarter of which fail after succeeding
  (``payment_failure_refund``), one in four paying an invoice;
* Connect: transfers to three connected accounts (some partly reversed),
  application fees (some refunded);
* top-ups, reserve holds and releases (``reserved_funds``), Connect reserves
  (``reserve_transaction``), monthly network costs, Stripe Tax fees, Billing
  fees and ``other_adjustment`` corrections;
* weekly instant payouts whose own BT carries the Instant Payout fee.

Everything goes through the same engine functions the API uses; the
generator only decides what happens when.  Its random stream is separate
from the default profile's.
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from . import bank_debits, billing, catalog, connect, disputes, invoicing, payments, render
from .clock import DAY
from .currencies import THREE_DECIMAL, WHOLE_HUNDREDS, exponent
from .ledger import available_at
from .payouts import instant_fee, new_manual_payout

if TYPE_CHECKING:
    from .generator import _World

Obj = dict[str, Any]
SETTLEMENT_CURRENCIES = ["usd", "eur", "gbp"]
# Presentment currencies of the extra card payments (with the default markets: 25).
FX_CURRENCIES = ("aud", "chf", "sek", "nok", "dkk", "pln", "czk", "huf", "mxn", "brl", "sgd",
                 "hkd", "nzd", "zar", "inr", "krw", "isk", "bhd", "twd", "jpy", "kwd", "eur",
                 "gbp", "cad", "usd")
# Invoice currency -> (display name, percentage, country, state, jurisdiction, tax type)
TAXES = {
    "usd": ("Sales tax", "7.25", "US", "CA", "US - California", "sales_tax"),
    "eur": ("VAT", "19", "DE", None, "DE", "vat"),
    "gbp": ("VAT", "20", "GB", None, "GB", "vat"),
    "jpy": ("JCT", "10", "JP", None, "JP", "jct"),
    "cad": ("GST", "5", "CA", None, "CA", "gst"),
    "aud": ("GST", "10", "AU", None, "AU", "gst"),
    "chf": ("VAT", "8.1", "CH", None, "CH", "vat"),
    "sek": ("VAT", "25", "SE", None, "SE", "vat"),
}
INVOICE_CURRENCIES = tuple(TAXES)
CONNECTED = (("Trailhead Outfitters", "US", "usd"), ("Bergsport GmbH", "DE", "eur"),
             ("Fell & Moor Ltd", "GB", "gbp"))


class Accrual:
    """What the accrual activity needs to remember (its own random stream)."""

    def __init__(self, w: _World) -> None:
        self.rng = random.Random(7_000_003 + w.e.seed)
        self.prices: dict[tuple[str, str], Obj] = {}
        self.rates: dict[str, Obj] = {}
        self.connected: list[Obj] = []
        self.customers: dict[str, Obj] = {}
        self.fx_turn = 0
        self.invoice_turn = 0
        self.held = 0
        self.fee_turn = 0
        self.transfer_turn = 0


def plan(w: _World, start: int, end: int) -> None:
    """Schedule the accrual activity of the period ``[start, end)``."""
    e, a = w.e, Accrual(w)
    w.accrual = a
    t0 = start + 3600
    for cur in INVOICE_CURRENCIES:
        name, pct, country, state, jurisdiction, kind = TAXES[cur]
        a.rates[cur] = invoicing.tax_rate(e, t0, display_name=name, percentage=pct,
                                          country=country, state=state,
                                          jurisdiction=jurisdiction, tax_type=kind)
    a.connected = [connect.connected_account(e, t0, n, c, cur) for n, c, cur in CONNECTED]
    rng, scale = a.rng, w.scale
    days = (end - start) // DAY
    for day in range(days):
        d0 = start + day * DAY

        def at() -> int:
            return d0 + rng.randrange(7 * 3600, 21 * 3600)
        for _ in range(max(2, round(20 * scale))):
            w.later(at(), "acc:fx", None)
        w.later(at(), "acc:fx_refund", "jpy")
        w.later(at(), "acc:fx_refund", "kwd")
        for _ in range(max(1, round(8 * scale))):
            w.later(at(), "acc:invoice", None)
        if day % 2 == 0:
            w.later(at(), "acc:debit", None)
        # Transfers and instant payouts use available funds: between 00:00 (funds become
        # available) and the 02:00 automatic payout.
        early = d0 + 3600 + rng.randrange(1800)
        if day % 3 == 1:
            w.later(early, "acc:transfer", None)
        w.later(at(), "acc:app_fee", None)
        if day % 10 == 4 and day < days - 20:  # resolved (won or lost) inside the history
            w.later(at(), "acc:dispute", day // 10 % 2 == 0)
        if day % 7 == 3:
            w.later(at(), "acc:topup", None)
            w.later(early + 60, "acc:instant_payout", None)
        if day % 30 == 2:
            for kind in ("network_cost", "tax_fee", "billing_fee", "reserve", "adjustment"):
                w.later(at(), "acc:" + kind, None)
        if day % 30 == 17:
            w.later(at(), "acc:release", None)
            w.later(at(), "acc:adjustment", None)


def run(w: _World, t: int, kind: str, payload: Any) -> None:
    a: Accrual = w.accrual
    handler = _HANDLERS[kind[len("acc:"):]]
    handler(w, a, t, payload)


# --------------------------------------------------------------------------- helpers


def _amount(a: Accrual, usd_cents: int, currency: str) -> int:
    from .generator import localize

    return localize(usd_cents, currency)


def _price(w: _World, a: Accrual, currency: str, t: int) -> Obj:
    product = w.products[a.rng.randrange(len(w.products))]
    key = (product["id"], currency)
    price = w.one_time.get(key) or a.prices.get(key)
    if price is None:
        usd = w.one_time[(product["id"], "usd")]["unit_amount"]
        price = a.prices[key] = catalog.new_price(
            w.e, t, product=product["id"], currency=currency,
            unit_amount=_amount(a, usd, currency), recurring=None, metadata={},
            tax_behavior="exclusive")
    return price


def _customer(w: _World, a: Accrual, currency: str, t: int) -> Obj:
    cus = a.customers.get(currency)
    if cus is None or a.rng.random() < 0.3:
        n = len(a.customers) + a.invoice_turn + 1
        cus = a.customers[currency] = catalog.new_customer(
            w.e, t, email=f"ap{n}.{currency}@customers.test", name=f"Account {n} {currency.upper()}",
            metadata={"erp_customer_id": f"A{n:06d}"}, currency=currency,
            default_payment_method="pm_card_visa")
    return cus


def _partial(amount: int, currency: str, rng: random.Random) -> int:
    step = 10 if currency in THREE_DECIMAL else 100 if currency in WHOLE_HUNDREDS else 1
    if exponent(currency) == 0:
        step = 1
    return max(step, int(amount * rng.uniform(0.2, 0.7)) // step * step)


# --------------------------------------------------------------------------- activities


def _fx(w: _World, a: Accrual, t: int, payload: Any) -> None:
    currency = FX_CURRENCIES[a.fx_turn % len(FX_CURRENCIES)]
    a.fx_turn += 1
    _card_payment(w, a, t, currency)


def _card_payment(w: _World, a: Accrual, t: int, currency: str) -> Obj | None:
    e = w.e
    price = _price(w, a, currency, t)
    qty = 1 + a.rng.randrange(3)
    pm = ("pm_card_visa", "pm_card_gb", "pm_card_de", "pm_card_mastercard")[a.rng.randrange(4)]
    pi = payments.new_payment_intent(e, t, amount=price["unit_amount"] * qty, currency=currency,
                                     customer=None, description=f"FX order {currency.upper()}",
                                     payment_method=pm, metadata={"profile": "accrual"})
    ch = payments.confirm(e, pi, pm, t)
    if ch["status"] == "succeeded":
        w.plan_followups(ch, t)
        return ch
    return None


def _fx_refund(w: _World, a: Accrual, t: int, currency: str) -> None:
    ch = _card_payment(w, a, t, currency)
    if ch is None:
        return
    full = a.rng.random() < 0.5
    part = None if full else _partial(ch["amount"], currency, a.rng)
    w.later(t + a.rng.randrange(3600, 6 * DAY), "refund", (ch, part))


def _dispute(w: _World, a: Accrual, t: int, win: bool) -> None:
    """A chargeback on a card payment; won with evidence, otherwise lost after 15 days."""
    ch = _card_payment(w, a, t, ("usd", "eur", "gbp", "jpy")[a.rng.randrange(4)])
    if ch is not None:
        w.later(t + 3 * DAY, "acc:chargeback", (ch, win))


def _chargeback(w: _World, a: Accrual, t: int, payload: tuple[Obj, bool]) -> None:
    ch, win = payload
    if ch["refunded"] or ch["disputed"]:
        return
    dp = disputes.open_dispute(w.e, ch, t, "fraudulent")
    if win:
        w.later(t + 2 * DAY, "evidence", (dp["id"], "winning_evidence: delivery confirmed"))


def _invoice(w: _World, a: Accrual, t: int, payload: Any) -> None:
    e, rng = w.e, a.rng
    currency = INVOICE_CURRENCIES[a.invoice_turn % len(INVOICE_CURRENCIES)]
    a.invoice_turn += 1
    customer = _customer(w, a, currency, t)
    lines = [(_price(w, a, currency, t), 1 + rng.randrange(3))
             for _ in range(1 + rng.randrange(3))]
    automatic = rng.random() < 0.45
    inv = invoicing.taxed_invoice(
        e, t, customer=customer, currency=currency, lines=lines,
        rate=a.rates[currency] if rng.random() < 0.9 else None,
        collection_method="charge_automatically" if automatic else "send_invoice",
        days_until_due=None if automatic else 30, description="Trail gear order")
    ip = billing.finalize(e, inv, t)
    if automatic:
        if billing.pay(e, inv, ip, "pm_card_visa", t) is None and ip is not None and \
                rng.random() < 0.15:  # some paid invoices are refunded, fully or in part
            pi = e.load(ip["payment"]["payment_intent"], "payment_intent")
            ch = e.load(pi["latest_charge"], "charge")
            part = None if rng.random() < 0.4 else _partial(ch["amount"], currency, rng)
            w.later(t + rng.randrange(DAY, 15 * DAY), "refund", (ch, part))
        return
    draw = rng.random()
    if draw < 0.45:
        w.later(t + rng.randrange(DAY, 40 * DAY), "acc:pay_invoice", inv)
    elif draw < 0.6:
        w.later(t + rng.randrange(5 * DAY, 20 * DAY), "acc:void_invoice", inv)
    elif draw < 0.75:
        w.later(t + rng.randrange(31 * DAY, 50 * DAY), "acc:uncollectible", inv)
    # else: stays open


# Follow-ups carry the objects themselves, never ids: a bulk load cannot read back what
# it wrote (the store's writer process owns the file until generation ends).


def _pay_invoice(w: _World, a: Accrual, t: int, inv: Obj) -> None:
    if inv["status"] in ("open", "uncollectible"):
        invoicing.pay_now(w.e, inv, t, "pm_card_visa")


def _void_invoice(w: _World, a: Accrual, t: int, inv: Obj) -> None:
    if inv["status"] == "open":
        billing.void(w.e, inv, None, t)  # sent invoices: no payment was attempted


def _uncollectible(w: _World, a: Accrual, t: int, inv: Obj) -> None:
    if inv["status"] == "open":
        invoicing.mark_uncollectible(w.e, inv, t)
        if a.rng.random() < 0.3:  # the customer pays after all
            w.later(t + a.rng.randrange(DAY, 10 * DAY), "acc:pay_invoice", inv)


def _debit(w: _World, a: Accrual, t: int, payload: Any) -> None:
    e, rng = w.e, a.rng
    currency = "eur" if rng.random() < 0.5 else "usd"
    amount = _amount(a, rng.randrange(2_000, 60_000), currency)
    customer = _customer(w, a, currency, t)
    inv = None
    if rng.random() < 0.25:  # the debit pays an invoice
        inv = invoicing.taxed_invoice(e, t, customer=customer, currency=currency,
                                      lines=[(_price(w, a, currency, t), 1)],
                                      rate=a.rates[currency], collection_method="send_invoice",
                                      days_until_due=14)
        billing.finalize(e, inv, t)
        amount = inv["amount_due"]
    ch = bank_debits.bank_debit(e, t, amount=amount, currency=currency, customer=customer,
                                description="Bank debit" if inv is None else
                                f"Invoice {inv['number']}")
    if inv is not None:
        ip = e.put(render.invoice_payment(e.ids.new("inpay"), t, invoice=inv["id"],
                                                  amount=amount, currency=currency,
                                                  payment_intent=""))
        ip["payment"] = {"charge": ch["id"], "payment_intent": None, "payment_record": None,
                         "type": "charge"}
        billing.mark_paid(e, inv, ip, t)
    if rng.random() < 0.25:
        w.later(t + rng.randrange(3 * DAY, 8 * DAY), "acc:debit_fails", ch)


def _debit_fails(w: _World, a: Accrual, t: int, ch: Obj) -> None:
    if ch["status"] == "succeeded" and ch["amount_refunded"] == 0:
        bank_debits.fail_after_success(w.e, ch, t)


def _transfer(w: _World, a: Accrual, t: int, payload: Any) -> None:
    rng = a.rng
    dest = a.connected[rng.randrange(len(a.connected))]
    currency = dest["default_currency"]
    amount = rng.randrange(5_000, 50_000)
    if available_at(w.e, currency, t) < amount:
        return
    tr = connect.transfer(w.e, t, dest, amount, currency,
                          description="Seller payout share")
    a.transfer_turn += 1
    if a.transfer_turn % 5 == 0:  # some transfers are partly reversed
        w.later(t + rng.randrange(DAY, 10 * DAY), "acc:reverse", tr)


def _reverse(w: _World, a: Accrual, t: int, tr: Obj) -> None:
    connect.reverse_transfer(w.e, t, tr, tr["amount"] // 2)


def _app_fee(w: _World, a: Accrual, t: int, payload: Any) -> None:
    rng = a.rng
    acct = a.connected[rng.randrange(len(a.connected))]
    fee = connect.application_fee(w.e, t, acct, rng.randrange(100, 2_000),
                                  acct["default_currency"])
    a.fee_turn += 1
    if a.fee_turn % 15 == 0:  # a few fees are refunded to the connected account
        w.later(t + rng.randrange(DAY, 5 * DAY), "acc:fee_refund", fee)


def _fee_refund(w: _World, a: Accrual, t: int, fee: Obj) -> None:
    connect.refund_application_fee(w.e, t, fee, fee["amount"])


def _topup(w: _World, a: Accrual, t: int, payload: Any) -> None:
    connect.topup(w.e, t, a.rng.randrange(50_000, 200_000), "usd")


def _instant_payout(w: _World, a: Accrual, t: int, payload: Any) -> None:
    currency = SETTLEMENT_CURRENCIES[a.rng.randrange(3)]
    amount = 10_000
    if available_at(w.e, currency, t) >= amount + instant_fee(amount, currency):
        new_manual_payout(w.e, t, amount, currency, "instant", instant_fee(amount, currency),
                          description="Instant payout")


def _account_fee(type: str, category: str, description: str) -> Any:
    def handler(w: _World, a: Accrual, t: int, payload: Any) -> None:
        for currency in SETTLEMENT_CURRENCIES:
            connect.account_bt(w.e, t, type, category, -a.rng.randrange(500, 5_000), currency,
                               description)
    return handler


def _reserve(w: _World, a: Accrual, t: int, payload: Any) -> None:
    a.held = a.rng.randrange(10_000, 40_000)
    connect.account_bt(w.e, t, "reserved_funds", "risk_reserved_funds", -a.held, "usd",
                       "Reserve hold")
    connect.reserve_transaction(w.e, t, -5_000, "eur", "Connect reserve hold")


def _release(w: _World, a: Accrual, t: int, payload: Any) -> None:
    held = a.held
    if held:
        connect.account_bt(w.e, t, "reserved_funds", "risk_reserved_funds", held, "usd",
                           "Reserve release")
        connect.reserve_transaction(w.e, t, 5_000, "eur", "Connect reserve release")
        a.held = 0


def _adjustment(w: _World, a: Accrual, t: int, payload: Any) -> None:
    amount = a.rng.randrange(-3_000, 3_000) or 100
    connect.account_bt(w.e, t, "adjustment", "other_adjustment", amount, "usd",
                       "Balance correction")


_HANDLERS = {
    "fx": _fx, "fx_refund": _fx_refund, "dispute": _dispute, "chargeback": _chargeback, "invoice": _invoice, "pay_invoice": _pay_invoice,
    "void_invoice": _void_invoice, "uncollectible": _uncollectible, "debit": _debit,
    "debit_fails": _debit_fails, "transfer": _transfer, "reverse": _reverse,
    "app_fee": _app_fee, "fee_refund": _fee_refund, "topup": _topup,
    "instant_payout": _instant_payout, "reserve": _reserve, "release": _release,
    "adjustment": _adjustment,
    "network_cost": _account_fee("stripe_fee", "network_cost", "Card network costs"),
    "tax_fee": _account_fee("tax_fee", "fee", "Stripe Tax fees"),
    "billing_fee": _account_fee("stripe_fee", "fee", "Billing - Usage Fee"),
}
