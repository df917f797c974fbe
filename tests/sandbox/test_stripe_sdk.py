"""The official stripe-python SDK, unmodified, against the sandbox.

Every resource the ERP sync reads is created, retrieved and auto-paginated
through ``StripeClient`` (and once through the global ``stripe.api_base``
style); retry behaviour is checked with injected faults and the sandbox's
request counters.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import stripe

from tests.sandbox.fixtures import Receiver, Sandbox

DAY = 86_400


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.test"


def pay(client: stripe.StripeClient, amount: int = 5000, pm: str = "pm_card_visa",
        **extra) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(params={
        "amount": amount, "currency": "usd", "confirm": True, "payment_method": pm, **extra})


# ----------------------------------------------------------------------------- configuration


def test_global_api_base_style(sandbox: Sandbox) -> None:
    saved = stripe.api_key, stripe.api_base
    stripe.api_key, stripe.api_base = sandbox.api_key, sandbox.base_url
    try:
        created = stripe.Customer.create(email=email())
        assert stripe.Customer.retrieve(created.id).email == created.email
        page = stripe.Customer.list(limit=3)
        assert len(page.data) == 3 and page.has_more
    finally:
        stripe.api_key, stripe.api_base = saved


# ----------------------------------------------------------------------------- catalog


def test_customers(client: stripe.StripeClient) -> None:
    addr = email()
    cus = client.v1.customers.create(params={"email": addr, "name": "Ada", "metadata": {"erp": "1"}})
    assert cus.id.startswith("cus_") and cus.metadata["erp"] == "1" and cus.livemode is False
    updated = client.v1.customers.update(cus.id, params={"metadata": {"erp": "2", "x": "y"}})
    assert updated.metadata.to_dict() == {"erp": "2", "x": "y"}
    assert [c.id for c in client.v1.customers.list(params={"email": addr}).data] == [cus.id]
    every = list(client.v1.customers.list(params={"limit": 100}).auto_paging_iter())
    assert len(every) > 100 and len({c.id for c in every}) == len(every)
    deleted = client.v1.customers.delete(cus.id)
    assert deleted.deleted is True
    assert cus.id not in {c.id for c in client.v1.customers.list(params={"email": addr}).data}


def test_products_and_prices(client: stripe.StripeClient) -> None:
    prod = client.v1.products.create(params={"name": "ERP seat"})
    monthly = client.v1.prices.create(params={
        "product": prod.id, "currency": "usd", "unit_amount": 1999,
        "recurring": {"interval": "month"}})
    once = client.v1.prices.create(params={"product": prod.id, "currency": "usd",
                                           "unit_amount": 500})
    assert monthly.type == "recurring" and once.type == "one_time"
    assert monthly.unit_amount == 1999
    listed = client.v1.prices.list(params={"product": prod.id}).data
    assert {p.id for p in listed} == {monthly.id, once.id}
    expanded = client.v1.prices.retrieve(monthly.id, params={"expand": ["product"]})
    assert expanded.product.name == "ERP seat"
    assert client.v1.products.retrieve(prod.id).name == "ERP seat"
    assert len(list(client.v1.products.list(params={"limit": 5}).auto_paging_iter())) >= 1


# ----------------------------------------------------------------------------- payments


def test_payment_intent_charge_and_balance_transaction(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"email": email()})
    pi = client.v1.payment_intents.create(params={"amount": 4200, "currency": "usd",
                                                 "customer": cus.id})
    assert pi.status == "requires_payment_method"
    pi = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert pi.status == "succeeded" and pi.amount_received == 4200
    charge = client.v1.charges.retrieve(pi.latest_charge,
                                        params={"expand": ["balance_transaction"]})
    assert charge.payment_intent == pi.id and charge.customer == cus.id
    bt = charge.balance_transaction
    assert bt.source == charge.id and bt.amount == 4200 and bt.net == bt.amount - bt.fee
    assert [c.id for c in client.v1.charges.list(params={"payment_intent": pi.id}).data] \
        == [charge.id]
    listed = client.v1.charges.list(params={"customer": cus.id,
                                            "expand": ["data.balance_transaction"]})
    assert listed.data[0].balance_transaction.id == bt.id
    by_source = client.v1.balance_transactions.list(params={"source": charge.id}).data
    assert [b.id for b in by_source] == [bt.id]


def test_declined_card_raises_card_error(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as info:
        pay(client, pm="pm_card_chargeDeclined")
    assert info.value.http_status == 402 and info.value.code == "card_declined"
    assert info.value.request_id.startswith("req_")


def test_refunds_partial_then_full(client: stripe.StripeClient) -> None:
    pi = pay(client, 5000)
    first = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 2000})
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert first.status == "succeeded" and charge.amount_refunded == 2000 and not charge.refunded
    rest = client.v1.refunds.create(params={"charge": charge.id})
    assert rest.amount == 3000
    charge = client.v1.charges.retrieve(charge.id, params={"expand": ["refunds"]})
    assert charge.refunded is True and charge.amount_refunded == 5000
    assert [r.id for r in charge.refunds.data] == [rest.id, first.id]
    assert [r.id for r in client.v1.refunds.list(params={"charge": charge.id}).auto_paging_iter()] \
        == [rest.id, first.id]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"charge": charge.id, "amount": 1})


def test_dispute_opened_and_closed(client: stripe.StripeClient) -> None:
    pi = pay(client, 3000, pm="pm_card_createDispute")
    disputes = client.v1.disputes.list(params={"payment_intent": pi.id}).data
    assert len(disputes) == 1 and disputes[0].status == "needs_response"
    dispute = client.v1.disputes.close(disputes[0].id)
    assert dispute.status == "lost"
    assert {bt.reporting_category for bt in dispute.balance_transactions} == {"dispute"}
    assert client.v1.charges.retrieve(pi.latest_charge).disputed is True


def test_manual_payout_needs_available_funds(client: stripe.StripeClient) -> None:
    available = client.v1.balance.retrieve().available[0].amount
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payouts.create(params={"amount": available + 100_000, "currency": "usd"})
    assert info.value.code == "balance_insufficient"


def test_automatic_payouts_reconcile_to_zero(client: stripe.StripeClient) -> None:
    paid = [p for p in client.v1.payouts.list(params={"status": "paid", "limit": 100}).data
            if p.automatic]
    assert paid
    for payout in paid[:3]:
        bts = list(client.v1.balance_transactions.list(
            params={"payout": payout.id, "limit": 100}).auto_paging_iter())
        own = [b for b in bts if b.type == "payout"]
        assert [b.source for b in own] == [payout.id]
        assert sum(b.net for b in bts) == 0
        assert sum(b.net for b in bts if b.type != "payout") == payout.amount


def test_balance(client: stripe.StripeClient) -> None:
    balance = client.v1.balance.retrieve()
    assert balance.object == "balance" and balance.available[0].currency == "usd"


# ----------------------------------------------------------------------------- billing


def test_subscription_invoices_and_lines(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"email": email(), "payment_method": "pm_card_visa"})
    prod = client.v1.products.create(params={"name": "Plan"})
    prices = [client.v1.prices.create(params={
        "product": prod.id, "currency": "usd", "unit_amount": amount,
        "recurring": {"interval": "month"}}) for amount in (1000, 250, 99)]
    sub = client.v1.subscriptions.create(params={
        "customer": cus.id, "default_payment_method": "pm_card_visa",
        "items": [{"price": p.id, "quantity": 2} for p in prices]})
    assert sub.status == "active" and len(sub["items"].data) == 3
    assert [s.id for s in client.v1.subscriptions.list(params={"customer": cus.id}).data] \
        == [sub.id]
    items = list(client.v1.subscription_items.list(
        params={"subscription": sub.id, "limit": 1}).auto_paging_iter())
    assert {i.price.id for i in items} == {p.id for p in prices}
    assert all(i.current_period_end > i.current_period_start for i in items)
    invoices = client.v1.invoices.list(params={"subscription": sub.id}).data
    assert len(invoices) == 1
    invoice = invoices[0]
    assert invoice.status == "paid" and invoice.amount_paid == 2 * (1000 + 250 + 99)
    lines = list(client.v1.invoices.line_items.list(invoice.id, params={"limit": 1})
                 .auto_paging_iter())
    assert len(lines) == 3 and sum(li.amount for li in lines) == invoice.total
    payments = client.v1.invoice_payments.list(params={"invoice": invoice.id}).data
    assert len(payments) == 1 and payments[0].status == "paid"
    pi = client.v1.payment_intents.retrieve(payments[0].payment.payment_intent)
    assert pi.amount_received == invoice.amount_paid
    by_pi = client.v1.invoice_payments.list(params={
        "payment": {"type": "payment_intent", "payment_intent": pi.id}}).data
    assert [p.id for p in by_pi] == [payments[0].id]
    canceled = client.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled"
    assert client.v1.subscriptions.list(params={"customer": cus.id}).data == []
    assert [s.id for s in client.v1.subscriptions.list(
        params={"customer": cus.id, "status": "all"}).data] == [sub.id]


# ----------------------------------------------------------------------------- events


def test_events(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"email": email()})
    created = client.v1.events.list(params={"type": "customer.created", "limit": 5}).data
    assert created[0].data.object.id == cus.id and created[0].request.id
    both = client.v1.events.list(params={"types": ["customer.created", "customer.updated"],
                                         "limit": 100}).data
    assert {e.type for e in both} <= {"customer.created", "customer.updated"}
    wildcard = list(client.v1.events.list(params={"type": "payout.*", "limit": 100})
                    .auto_paging_iter())
    assert wildcard and all(e.type.startswith("payout.") for e in wildcard)
    assert client.v1.events.retrieve(created[0].id).id == created[0].id


def test_search(client: stripe.StripeClient) -> None:
    addr = email()
    cus = client.v1.customers.create(params={"email": addr, "metadata": {"erp_id": addr}})
    found = client.v1.customers.search(params={"query": f"email:'{addr}'"})
    assert found.object == "search_result" and [c.id for c in found.data] == [cus.id]
    by_meta = client.v1.customers.search(params={"query": f"metadata['erp_id']:'{addr}'"})
    assert [c.id for c in by_meta.data] == [cus.id]
    big = list(client.v1.charges.search(params={
        "query": "amount>20000 AND status:'succeeded'", "limit": 10}).auto_paging_iter())
    assert big and all(c.amount > 20000 and c.status == "succeeded" for c in big)
    assert len({c.id for c in big}) == len(big)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.search(params={"query": "amount>1 AND status:'x' OR currency:'usd'"})


# ----------------------------------------------------------------------------- webhooks


def test_webhook_endpoint_crud(client: stripe.StripeClient) -> None:
    ep = client.v1.webhook_endpoints.create(params={
        "url": "http://127.0.0.1:9/unused", "enabled_events": ["charge.succeeded"]})
    assert ep.secret.startswith("whsec_")
    again = client.v1.webhook_endpoints.retrieve(ep.id)
    assert again.url == ep.url and "secret" not in again
    assert ep.id in {e.id for e in client.v1.webhook_endpoints.list().auto_paging_iter()}
    assert client.v1.webhook_endpoints.update(ep.id, params={"disabled": True}).status == "disabled"
    assert client.v1.webhook_endpoints.delete(ep.id).deleted is True


def test_webhook_signature_verifies(sandbox: Sandbox, client: stripe.StripeClient,
                                    receiver: Receiver) -> None:
    ep = client.v1.webhook_endpoints.create(params={
        "url": receiver.url, "enabled_events": ["customer.created"]})
    try:
        cus = client.v1.customers.create(params={"email": email()})
        sandbox.flush_webhooks()
        body, headers = receiver.deliveries[-1]
        assert headers["user-agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
        assert headers["content-type"] == "application/json; charset=utf-8"
        event = stripe.Webhook.construct_event(body.decode(), headers["stripe-signature"],
                                               ep.secret)
        assert event.type == "customer.created" and event.data.object.id == cus.id
        tampered = body.replace(cus.id.encode(), b"cus_tampered")
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(tampered.decode(), headers["stripe-signature"],
                                           ep.secret)
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(body.decode(), headers["stripe-signature"],
                                           "whsec_wrong")
    finally:
        client.v1.webhook_endpoints.delete(ep.id)


# ----------------------------------------------------------------------------- retries


def test_429_with_should_retry_is_retried(sandbox: Sandbox, client: stripe.StripeClient) -> None:
    sandbox.fault(kind="429", count=1, should_retry=True, path_prefix="/v1/customers")
    sandbox.reset_stats()
    assert len(client.v1.customers.list(params={"limit": 2}).data) == 2
    stats = sandbox.stats()
    assert stats["by_path"] == {"GET /v1/customers": 2} and stats["faults_injected"] == 1


def test_429_without_should_retry_is_not_retried(sandbox: Sandbox,
                                                 client: stripe.StripeClient) -> None:
    sandbox.fault(kind="429", count=1, should_retry=False, path_prefix="/v1/customers")
    sandbox.reset_stats()
    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.list(params={"limit": 2})
    assert sandbox.stats()["by_path"] == {"GET /v1/customers": 1}


@pytest.mark.parametrize("kind", ["500", "503", "drop"])
def test_server_errors_and_drops_are_retried(sandbox: Sandbox, client: stripe.StripeClient,
                                             kind: str) -> None:
    sandbox.fault(kind=kind, count=1, path_prefix="/v1/charges")
    sandbox.reset_stats()
    assert len(client.v1.charges.list(params={"limit": 1}).data) == 1
    assert sandbox.stats()["by_path"] == {"GET /v1/charges": 2}


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_retried_post_after_lost_response_replays(sandbox: Sandbox, client: stripe.StripeClient,
                                                  kind: str) -> None:
    """The first attempt executes but its response is lost; the retry must not duplicate."""
    addr = email()
    sandbox.fault(kind=kind, count=1, after=True, path_prefix="/v1/customers", methods=["POST"])
    sandbox.reset_stats()
    cus = client.v1.customers.create(params={"email": addr})
    assert cus.last_response.headers["idempotent-replayed"] == "true"
    assert [c.id for c in client.v1.customers.list(params={"email": addr}).data] == [cus.id]
    stats = sandbox.stats()
    assert stats["by_path"]["POST /v1/customers"] == 2 and stats["idempotent_replays"] == 1


def test_retries_exhausted_raise_api_error(sandbox: Sandbox, client: stripe.StripeClient) -> None:
    sandbox.fault(kind="502", count=3, path_prefix="/v1/charges")
    sandbox.reset_stats()
    with pytest.raises(stripe.APIError):
        client.v1.charges.list(params={"limit": 1})
    assert sandbox.stats()["by_path"] == {"GET /v1/charges": 3}


# ----------------------------------------------------------------------------- clock


def test_clock_driven_outcomes(fresh_sandbox: Sandbox) -> None:
    """Won dispute, automatic payout and idempotency-key expiry, driven by the clock."""
    sb = fresh_sandbox
    client = stripe.StripeClient(sb.api_key, base_addresses={"api": sb.base_url})
    pi = pay(client, 8000, pm="pm_card_createDispute")
    dispute = client.v1.disputes.list(params={"payment_intent": pi.id}).data[0]
    client.v1.disputes.update(dispute.id, params={
        "evidence": {"uncategorized_text": "winning_evidence"}})
    key = str(uuid.uuid4())
    client.v1.customers.create(params={"email": "k@example.test"},
                               options={"idempotency_key": key})
    newest_before = client.v1.payouts.list(params={"limit": 1}).data

    # Just past the dispute's resolution, before the next daily automatic payout sweeps
    # the reinstated funds: they are available for a manual payout.
    sb.advance(dispute.created + 15 * DAY + 1 - sb.control("GET", "health")["clock"])
    assert client.v1.disputes.retrieve(dispute.id).status == "won"
    payout = client.v1.payouts.create(params={"amount": 100, "currency": "usd"})
    assert payout.automatic is False and payout.status == "pending"
    assert payout.id in {p.id for p in client.v1.payouts.list(params={"status": "pending"}).data}
    assert client.v1.payouts.cancel(payout.id).status == "canceled"
    sb.advance(5 * DAY)

    dispute = client.v1.disputes.retrieve(dispute.id)
    assert dispute.status == "won"
    assert [bt.reporting_category for bt in dispute.balance_transactions] == \
        ["dispute", "dispute_reversal"]
    payouts = client.v1.payouts.list(params={"limit": 100}).data
    new = [p for p in payouts if p.id != payout.id
           and (not newest_before or p.created > newest_before[0].created)]
    assert new and all(p.automatic for p in new)
    # 24 h of sandbox time later the key is forgotten: other params are a new request.
    again = client.v1.customers.create(params={"email": "other@example.test"},
                                       options={"idempotency_key": key})
    assert again.email == "other@example.test"
