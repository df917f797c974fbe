"""Issue 2 coverage through the official stripe-python SDK only (no raw HTTP).

* Every resource the sync reads is created (or, for payouts, made by the daily
  run), retrieved and auto-paginated; the auto-paginated walk must equal one
  large page, newest first, without gaps or repeats.
* Payment paths: ``pm_card_visa``, ``pm_card_chargeDeclined`` (then a retry with
  another card), ``pm_card_createDispute`` and ``tok_visa``.
* Payouts over the generated history: one automatic payout per day, each
  itemising to zero, no balance transaction in two payouts, and the balance
  equal to the nets still waiting to be paid out.
* Subscription invoices cover consecutive service periods (clock-driven).
* An idempotent replay returns the same object.
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

import pytest
import stripe

from tests.sandbox.fixtures import Sandbox

DAY = 86_400
WALK = 60  # items compared between the auto-paginated walk and one large page


def email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.test"


def pay(client: stripe.StripeClient, amount: int = 5000, pm: str = "pm_card_visa",
        **extra: Any) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(params={
        "amount": amount, "currency": "usd", "confirm": True, "payment_method": pm, **extra})


def subscriber(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create(params={"email": email(), "payment_method": "pm_card_visa"})


def new_subscription(client: stripe.StripeClient, amounts: tuple[int, ...] = (1500, 400),
                     quantity: int = 2) -> stripe.Subscription:
    cus = subscriber(client)
    prod = client.v1.products.create(params={"name": "Seat plan"})
    prices = [client.v1.prices.create(params={
        "product": prod.id, "currency": "usd", "unit_amount": amount,
        "recurring": {"interval": "month"}}) for amount in amounts]
    return client.v1.subscriptions.create(params={
        "customer": cus.id, "default_payment_method": "pm_card_visa",
        "items": [{"price": p.id, "quantity": quantity} for p in prices]})


# ----------------------------------------------------------------------------- every resource
# Each factory creates objects through the SDK and returns the one the test then
# retrieves and looks for in the list.  ``cleanup`` collects undo actions.


def make_customer(client: stripe.StripeClient, cleanup: list) -> Any:
    return client.v1.customers.create(params={"email": email(), "name": "Grace",
                                              "metadata": {"erp_customer_id": "C-1"}})


def make_product(client: stripe.StripeClient, cleanup: list) -> Any:
    return client.v1.products.create(params={"name": "Ledger export", "metadata": {"sku": "L-1"}})


def make_price(client: stripe.StripeClient, cleanup: list) -> Any:
    prod = client.v1.products.create(params={"name": "Priced"})
    return client.v1.prices.create(params={"product": prod.id, "currency": "eur",
                                           "unit_amount": 1250})


def make_payment_intent(client: stripe.StripeClient, cleanup: list) -> Any:
    pi = pay(client, 2600)
    assert pi.status == "succeeded" and pi.amount_received == 2600
    return pi


def make_charge(client: stripe.StripeClient, cleanup: list) -> Any:
    return client.v1.charges.retrieve(pay(client, 3100).latest_charge)


def make_refund(client: stripe.StripeClient, cleanup: list) -> Any:
    pi = pay(client, 4000)
    return client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 1500})


def make_dispute(client: stripe.StripeClient, cleanup: list) -> Any:
    disputes = []
    for amount in (1700, 1900):  # two, so that a one-item page walk has several pages
        pi = pay(client, amount, pm="pm_card_createDispute")
        [dispute] = client.v1.disputes.list(params={"payment_intent": pi.id}).data
        disputes.append(dispute)
    return disputes[-1]


def make_payout(client: stripe.StripeClient, cleanup: list) -> Any:
    # Automatic payouts are made by the daily run (manual ones need available
    # funds: see test_stripe_sdk.test_clock_driven_outcomes).
    return client.v1.payouts.list(params={"limit": 1}).data[0]


def make_balance_transaction(client: stripe.StripeClient, cleanup: list) -> Any:
    charge = client.v1.charges.retrieve(pay(client, 2200).latest_charge)
    return client.v1.balance_transactions.retrieve(charge.balance_transaction)


def make_subscription(client: stripe.StripeClient, cleanup: list) -> Any:
    return new_subscription(client)


def make_invoice(client: stripe.StripeClient, cleanup: list) -> Any:
    sub = new_subscription(client)
    return client.v1.invoices.retrieve(sub.latest_invoice)


def make_event(client: stripe.StripeClient, cleanup: list) -> Any:
    cus = client.v1.customers.create(params={"email": email()})
    [event] = client.v1.events.list(params={"type": "customer.created", "limit": 1}).data
    assert event.data.object.id == cus.id
    return event


def make_webhook_endpoint(client: stripe.StripeClient, cleanup: list) -> Any:
    endpoints = []
    for n in range(3):  # the generated history has none; an event type never sent here
        ep = client.v1.webhook_endpoints.create(params={
            "url": f"http://127.0.0.1:9/unused/{n}", "enabled_events": ["balance.available"]})
        cleanup.append(lambda ep_id=ep.id: client.v1.webhook_endpoints.delete(ep_id))
        endpoints.append(ep)
    return endpoints[-1]


FACTORIES: dict[str, Callable[[stripe.StripeClient, list], Any]] = {
    "customers": make_customer,
    "products": make_product,
    "prices": make_price,
    "payment_intents": make_payment_intent,
    "charges": make_charge,
    "refunds": make_refund,
    "disputes": make_dispute,
    "payouts": make_payout,
    "balance_transactions": make_balance_transaction,
    "subscriptions": make_subscription,
    "invoices": make_invoice,
    "events": make_event,
    "webhook_endpoints": make_webhook_endpoint,
}


@pytest.fixture
def cleanup() -> Iterator[list[Callable[[], Any]]]:
    actions: list[Callable[[], Any]] = []
    yield actions
    for action in reversed(actions):
        action()


@pytest.mark.parametrize("resource", list(FACTORIES))
def test_create_retrieve_and_auto_paginate(client: stripe.StripeClient, resource: str,
                                           cleanup: list) -> None:
    made = FACTORIES[resource](client, cleanup)
    service = getattr(client.v1, resource)

    again = service.retrieve(made.id)
    assert (again.id, again.object, again.created) == (made.id, made.object, made.created)
    assert again.to_dict().get("livemode", False) is False  # refunds and BTs have none

    page = service.list(params={"limit": 100})
    assert made.id in [o.id for o in page.data]  # just made: among the newest
    expected = [o.id for o in page.data[:WALK]]
    size = max(1, min(7, len(expected) // 3))  # small pages: the walk crosses several
    walked = list(islice(service.list(params={"limit": size}).auto_paging_iter(), WALK))
    assert [o.id for o in walked] == expected
    assert len(expected) > size  # more than one page was fetched
    assert len(set(expected)) == len(expected)
    created = [o.created for o in walked]
    assert created == sorted(created, reverse=True)  # newest first
    assert {o.object for o in walked} == {made.object}


# ----------------------------------------------------------------------------- payment paths


def test_tok_visa_pays_through_charges_and_payment_intents(client: stripe.StripeClient) -> None:
    charge = client.v1.charges.create(params={"amount": 1234, "currency": "usd",
                                              "source": "tok_visa", "description": "legacy"})
    assert (charge.status, charge.paid, charge.captured) == ("succeeded", True, True)
    assert charge.payment_method_details.card.brand == "visa"
    bt = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert (bt.source, bt.amount, bt.net) == (charge.id, 1234, 1234 - bt.fee)

    pi = client.v1.payment_intents.create(params={"amount": 2345, "currency": "usd"})
    pi = client.v1.payment_intents.confirm(pi.id, params={
        "payment_method_data": {"type": "card", "card": {"token": "tok_visa"}}})
    assert pi.status == "succeeded" and pi.amount_received == 2345
    assert pi.payment_method.startswith("pm_")
    assert client.v1.charges.retrieve(pi.latest_charge).payment_method_details.card.last4 == "4242"

    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.charges.create(params={"amount": 100, "currency": "usd",
                                         "source": "tok_nonexistent"})
    assert info.value.code == "resource_missing"


def test_declined_confirm_then_another_card_succeeds(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"email": email()})
    pi = client.v1.payment_intents.create(params={"amount": 7700, "currency": "usd",
                                                 "customer": cus.id})
    with pytest.raises(stripe.CardError) as info:
        client.v1.payment_intents.confirm(pi.id, params={"payment_method":
                                                         "pm_card_chargeDeclined"})
    assert (info.value.code, info.value.error.decline_code) == ("card_declined", "generic_decline")
    failed = client.v1.payment_intents.retrieve(pi.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.code == "card_declined"
    declined = client.v1.charges.retrieve(failed.latest_charge)
    assert (declined.status, declined.balance_transaction) == ("failed", None)

    paid = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert paid.status == "succeeded" and paid.last_payment_error is None
    charges = list(client.v1.charges.list(params={"payment_intent": pi.id, "limit": 1})
                   .auto_paging_iter())
    assert [c.status for c in charges] == ["succeeded", "failed"]
    assert charges[0].id == paid.latest_charge


def test_create_dispute_card_opens_a_dispute_with_a_withdrawal(
        client: stripe.StripeClient) -> None:
    pi = pay(client, 6100, pm="pm_card_createDispute")
    [dispute] = client.v1.disputes.list(params={"payment_intent": pi.id}).data
    assert (dispute.status, dispute.amount, dispute.charge) == ("needs_response", 6100,
                                                                pi.latest_charge)
    [withdrawal] = dispute.balance_transactions
    assert (withdrawal.type, withdrawal.amount) == ("adjustment", -6100)
    assert client.v1.charges.retrieve(pi.latest_charge).disputed is True


# ----------------------------------------------------------------------------- payouts & balance


def test_generated_payouts_are_daily_zero_sum_and_never_overlap(
        client: stripe.StripeClient) -> None:
    payouts = list(client.v1.payouts.list(params={"limit": 100}).auto_paging_iter())
    automatic = [p for p in payouts if p.automatic]
    days = Counter(p.created // DAY for p in automatic)
    assert len(days) >= 20 and max(days.values()) == 1  # one automatic payout per day
    assert all(p.created % DAY == 2 * 3600 for p in automatic)  # the 02:00 UTC run
    assert all(p.arrival_date == p.created - p.created % DAY + 2 * DAY for p in automatic)

    swept: dict[str, str] = {}
    for payout in automatic:
        bts = list(client.v1.balance_transactions.list(
            params={"payout": payout.id, "limit": 100}).auto_paging_iter())
        assert sum(b.net for b in bts) == 0
        assert sum(b.net for b in bts if b.type != "payout") == payout.amount
        own = client.v1.balance_transactions.retrieve(payout.balance_transaction)
        assert (own.type, own.amount, own.source) == ("payout", -payout.amount, payout.id)
        for bt in bts:
            assert bt.id not in swept, f"{bt.id} paid out by {swept.get(bt.id)} and {payout.id}"
            swept[bt.id] = payout.id
            assert bt.status == "available" and bt.available_on <= payout.created


def test_balance_is_the_nets_not_yet_paid_out(sandbox: Sandbox,
                                              client: stripe.StripeClient) -> None:
    for amount in (1000, 2500):
        pay(client, amount)
    swept = {bt.id for p in client.v1.payouts.list(params={"limit": 100}).auto_paging_iter()
             if p.automatic
             for bt in client.v1.balance_transactions.list(
                 params={"payout": p.id, "limit": 100}).auto_paging_iter()}
    bts = list(client.v1.balance_transactions.list(params={"limit": 100}).auto_paging_iter())
    balance = client.v1.balance.retrieve()
    waiting = [b for b in bts if b.id not in swept]
    assert balance.pending[0].amount == sum(b.net for b in bts if b.status == "pending")
    assert balance.available[0].amount == sum(b.net for b in waiting if b.status == "available")
    now = sandbox.control("GET", "health")["clock"]
    assert all(b.status == "pending" for b in bts if b.available_on > now)
    assert any(b.status == "pending" for b in bts) and waiting


# ----------------------------------------------------------------------------- billing periods


def test_subscription_invoices_cover_consecutive_service_periods(
        fresh_sandbox: Sandbox) -> None:
    sb = fresh_sandbox
    client = stripe.StripeClient(sb.api_key, base_addresses={"api": sb.base_url})
    sub = new_subscription(client, amounts=(2000, 350), quantity=3)
    assert sub.status == "active" and len(sub["items"].data) == 2
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (first.billing_reason, first.status) == ("subscription_create", "paid")
    periods = {(li.period.start, li.period.end) for li in first.lines.data}
    [(start, end)] = periods
    item = sub["items"].data[0]
    assert (start, end) == (item.current_period_start, item.current_period_end)
    assert 28 * DAY <= end - start <= 31 * DAY

    sb.advance(end + 3 * 3600 - sb.control("GET", "health")["clock"])

    invoices = list(client.v1.invoices.list(params={"subscription": sub.id, "limit": 1})
                    .auto_paging_iter())
    assert [i.id for i in invoices][1:] == [first.id]
    renewal = invoices[0]
    assert (renewal.billing_reason, renewal.status) == ("subscription_cycle", "paid")
    assert renewal.amount_paid == 3 * (2000 + 350) == renewal.total
    lines = list(client.v1.invoices.line_items.list(renewal.id, params={"limit": 1})
                 .auto_paging_iter())
    assert len(lines) == 2 and sum(li.amount for li in lines) == renewal.total
    assert {li.period.start for li in lines} == {end}  # starts where the first period ended
    [next_end] = {li.period.end for li in lines}
    assert 28 * DAY <= next_end - end <= 31 * DAY
    renewed = client.v1.subscriptions.retrieve(sub.id)
    assert renewed.latest_invoice == renewal.id
    assert {(i.current_period_start, i.current_period_end) for i in renewed["items"].data} \
        == {(end, next_end)}


# ----------------------------------------------------------------------------- idempotency


def test_idempotent_replay_returns_the_same_object(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"email": email()})
    key = str(uuid.uuid4())
    params = {"amount": 1800, "currency": "usd", "customer": cus.id, "confirm": True,
              "payment_method": "pm_card_visa"}
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": key})
    replay = client.v1.payment_intents.create(params=params, options={"idempotency_key": key})
    assert replay.id == first.id and replay.to_dict() == first.to_dict()
    headers = replay.last_response.headers
    assert headers["idempotent-replayed"] == "true"
    assert headers["original-request"] == first.last_response.request_id
    assert "idempotent-replayed" not in first.last_response.headers
    assert [p.id for p in client.v1.payment_intents.list(params={"customer": cus.id}).data] \
        == [first.id]
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(params={**params, "amount": 1900},
                                         options={"idempotency_key": key})
