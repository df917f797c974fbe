"""Subscription businesses in the Stripe sandbox, through the official SDK.

Annual plans, mid-period upgrades with prorations (to the second), cancellations with a
prorated credit, trials, coupons, pause_collection, credit notes and a failed renewal that
recovers, with the events Stripe sends.  The sandbox here is private (it starts empty) because
the tests move its clock.
"""
from __future__ import annotations

import calendar
import time
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from tests.sandbox.fixtures import Sandbox, start_stripe_sandbox

DAY = 86_400
HOUR = 3_600


@pytest.fixture(scope="module")
def sub_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sb = start_stripe_sandbox(tmp_path_factory.mktemp("stripe-subs"), history_days=0)
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def client(sub_sandbox: Sandbox) -> stripe.StripeClient:
    return stripe.StripeClient(sub_sandbox.api_key,
                               base_addresses={"api": sub_sandbox.base_url})


@pytest.fixture(scope="module")
def plans(client: stripe.StripeClient) -> dict[str, Any]:
    """A product with 30-day prices of 10.00, 20.00 and 30.00 and an annual one of 120.00."""
    prod = client.v1.products.create(params={"name": "Cloud Pro"})

    def price(amount: int, interval: str, count: int = 1) -> Any:
        return client.v1.prices.create(params={
            "product": prod.id, "currency": "usd", "unit_amount": amount,
            "recurring": {"interval": interval, "interval_count": count}})
    return {"p10": price(1000, "day", 30), "p20": price(2000, "day", 30),
            "p30": price(3000, "day", 30), "annual": price(12000, "year")}


def _customer(client: stripe.StripeClient, pm: str | None = "pm_card_visa") -> Any:
    params: dict[str, Any] = {"email": "sub@customers.test"}
    if pm:
        params["invoice_settings"] = {"default_payment_method": pm}
    return client.v1.customers.create(params=params)


def _now(sb: Sandbox) -> int:
    return sb.control("GET", "health")["clock"]


def _advance_to(sb: Sandbox, t: int) -> None:
    sb.advance(max(0, t - _now(sb)))


def _events(client: stripe.StripeClient, since: int, object_ids: set[str]) -> list[str]:
    """Types of the events about ``object_ids`` created at or after ``since``, oldest first."""
    page = client.v1.events.list(params={"created": {"gte": since}, "limit": 100})
    rows = [(ev.created, i, ev.type) for i, ev in enumerate(reversed(list(page.auto_paging_iter())))
            if ev.data.object.to_dict().get("id") in object_ids]
    return [kind for _, _, kind in sorted(rows)]


def _prorate(amount: int, start: int, end: int, at: int) -> int:
    """Stripe's per-second proration, rounded half up (the expected values)."""
    return (2 * amount * (end - at) + (end - start)) // (2 * (end - start))


def test_annual_plan_invoices_one_line_for_a_year(client, plans):
    sub = client.v1.subscriptions.create(params={
        "customer": _customer(client).id, "items": [{"price": plans["annual"].id}]})
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (sub.status, inv.status, inv.billing_reason) == ("active", "paid",
                                                            "subscription_create")
    [line] = inv.lines.data
    start = time.gmtime(line.period.start)
    year_later = calendar.timegm((start.tm_year + 1, *start[1:6]))
    assert (line.amount, line.period.end) == (12000, year_later)
    assert (inv.subtotal, inv.total, inv.amount_paid) == (12000, 12000, 12000)


def test_upgrade_on_day_15_of_30_invoices_stripes_prorations(client, plans, sub_sandbox):
    sub = client.v1.subscriptions.create(params={
        "customer": _customer(client).id, "items": [{"price": plans["p10"].id}]})
    item = sub["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    assert end - start == 30 * DAY
    at = start + 15 * DAY
    _advance_to(sub_sandbox, at)
    sub = client.v1.subscriptions.update(sub.id, params={
        "items": [{"id": item.id, "price": plans["p20"].id}],
        "proration_behavior": "always_invoice", "proration_date": at})
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (inv.billing_reason, inv.status, inv.total) == ("subscription_update", "paid", 500)
    lines = sorted(inv.lines.data, key=lambda li: li.amount)
    assert [li.amount for li in lines] == [-500, 1000]
    for li in lines:
        details = li.parent.subscription_item_details
        assert details.proration and details.subscription_item == item.id
        assert (li.period.start, li.period.end) == (at, end)
    credited = lines[0].parent.subscription_item_details.proration_details.credited_items
    first = client.v1.invoices.retrieve(client.v1.invoices.list(
        params={"subscription": sub.id, "limit": 100}).data[-1].id)
    assert credited.invoice == first.id
    assert credited.invoice_line_items == [first.lines.data[0].id]


def test_create_prorations_to_the_second_wait_for_the_renewal(client, plans, sub_sandbox):
    sub = client.v1.subscriptions.create(params={
        "customer": _customer(client).id, "items": [{"price": plans["p10"].id}]})
    item = sub["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    at = start + 15 * DAY + HOUR  # per-second proration: not half of the period
    _advance_to(sub_sandbox, at)
    client.v1.subscriptions.update(sub.id, params={
        "items": [{"id": item.id, "price": plans["p20"].id, "quantity": 2}],
        "proration_date": at})
    pending = client.v1.invoice_items.list(params={"customer": sub.customer}).data
    credit, charge = -_prorate(1000, start, end, at), _prorate(4000, start, end, at)
    assert sorted(ii.amount for ii in pending) == [credit, charge] == [-499, 1994]
    assert all(ii.proration and ii.invoice is None for ii in pending)
    _advance_to(sub_sandbox, end + HOUR + 1)
    sub = client.v1.subscriptions.retrieve(sub.id)
    renewal = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (renewal.billing_reason, renewal.status) == ("subscription_cycle", "paid")
    amounts = [li.amount for li in renewal.lines.data]
    assert sorted(amounts[:2]) == [credit, charge] and amounts[2] == 4000
    assert renewal.lines.data[2].period.start == end
    assert renewal.subtotal == sum(amounts) == renewal.amount_paid


def test_cancel_now_with_prorate_credits_unused_time(client, plans, sub_sandbox):
    customer = _customer(client)
    sub = client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": plans["p30"].id}]})
    item = sub["items"].data[0]
    _advance_to(sub_sandbox, item.current_period_start + 10 * DAY)
    sub = client.v1.subscriptions.cancel(sub.id, params={"prorate": True, "invoice_now": True})
    assert sub.status == "canceled" and sub.canceled_at
    final = client.v1.invoices.retrieve(sub.latest_invoice)
    [line] = final.lines.data
    credit = -_prorate(3000, item.current_period_start, item.current_period_end,
                       sub.canceled_at)
    assert line.amount == credit and line.parent.subscription_item_details.proration
    assert (final.total, final.amount_due, final.status) == (credit, 0, "paid")
    assert final.ending_balance == credit
    assert client.v1.customers.retrieve(customer.id).balance == credit


def test_credit_note_reduces_open_invoice_then_void_restores(client, plans):
    sub = client.v1.subscriptions.create(params={
        "customer": _customer(client).id, "items": [{"price": plans["p10"].id}],
        "collection_method": "send_invoice", "days_until_due": 30})
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (inv.status, inv.amount_remaining) == ("open", 1000)
    lines = [{"type": "invoice_line_item", "invoice_line_item": inv.lines.data[0].id,
              "amount": 400}]
    preview = client.v1.credit_notes.preview(params={"invoice": inv.id, "lines": lines})
    assert (preview.total, preview.pre_payment_amount, preview.type) == (400, 400,
                                                                        "pre_payment")
    cn = client.v1.credit_notes.create(params={"invoice": inv.id, "lines": lines})
    inv = client.v1.invoices.retrieve(inv.id)
    assert (inv.amount_remaining, inv.amount_due, inv.pre_payment_credit_notes_amount) == \
        (600, 600, 400)
    assert [c.id for c in client.v1.credit_notes.list(params={"invoice": inv.id}).data] == \
        [cn.id]
    assert cn.lines.data[0].invoice_line_item == inv.lines.data[0].id
    expanded = client.v1.credit_notes.retrieve(cn.id, params={"expand": ["invoice"]})
    assert expanded.invoice.id == inv.id
    assert [li.id for li in client.v1.credit_notes.line_items.list(cn.id).data] == \
        [li.id for li in cn.lines.data]
    void = client.v1.credit_notes.void_credit_note(cn.id)
    assert (void.status, client.v1.invoices.retrieve(inv.id).amount_remaining) == ("void",
                                                                                 1000)
    assert _events(client, cn.created, {cn.id}) == ["credit_note.created",
                                                     "credit_note.voided"]


def test_credit_note_on_paid_annual_plan_refunds_and_credits(client, plans):
    customer = _customer(client)
    sub = client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": plans["annual"].id}]})
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    with pytest.raises(stripe.InvalidRequestError, match="post-payment amount"):
        client.v1.credit_notes.create(params={"invoice": inv.id, "amount": 9000})
    cn = client.v1.credit_notes.create(params={
        "invoice": inv.id, "refund_amount": 6000, "credit_amount": 3000,
        "lines": [{"type": "invoice_line_item", "invoice_line_item": inv.lines.data[0].id,
                   "amount": 9000}]})
    assert (cn.type, cn.post_payment_amount, cn.total) == ("post_payment", 9000, 9000)
    refund = client.v1.refunds.retrieve(cn.refunds[0].refund)
    assert (refund.amount, refund.status) == (6000, "succeeded")
    assert client.v1.customers.retrieve(customer.id).balance == -3000
    inv = client.v1.invoices.retrieve(inv.id)
    assert (inv.post_payment_credit_notes_amount, inv.status) == (9000, "paid")


def test_coupons_discount_lines_and_expire(client, plans, sub_sandbox):
    forever = client.v1.coupons.create(params={"percent_off": 25, "duration": "forever"})
    once = client.v1.coupons.create(params={"amount_off": 500, "currency": "usd",
                                            "duration": "once"})
    sub = client.v1.subscriptions.create(params={
        "customer": _customer(client).id, "discounts": [{"coupon": forever.id}],
        "items": [{"price": plans["p10"].id, "quantity": 2}, {"price": plans["p20"].id}]})
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert [li.discount_amounts[0].amount for li in inv.lines.data] == [500, 500]
    assert inv.discounts == sub.discounts
    assert inv.total_discount_amounts[0].amount == 1000
    assert (inv.subtotal, inv.total_excluding_tax, inv.total) == (4000, 3000, 3000)
    once_sub = client.v1.subscriptions.create(params={
        "customer": _customer(client).id, "discounts": [{"coupon": once.id}],
        "items": [{"price": plans["p20"].id}, {"price": plans["p20"].id}]})
    first = client.v1.invoices.retrieve(once_sub.latest_invoice)
    assert [li.discount_amounts[0].amount for li in first.lines.data] == [250, 250]
    assert first.total == 3500
    assert client.v1.subscriptions.retrieve(once_sub.id).discounts == []
    _advance_to(sub_sandbox, once_sub["items"].data[0].current_period_end + HOUR + 1)
    renewal = client.v1.invoices.retrieve(
        client.v1.subscriptions.retrieve(once_sub.id).latest_invoice)
    assert (renewal.total, renewal.total_discount_amounts) == (4000, [])
    kept = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert (kept.billing_reason, kept.total) == ("subscription_cycle", 3000)


def test_failed_renewal_retries_and_recovers_with_events(client, plans, sub_sandbox):
    sub = client.v1.subscriptions.create(params={
        "customer": _customer(client).id, "items": [{"price": plans["p10"].id}],
        "default_payment_method": "pm_card_visa"})
    end = sub["items"].data[0].current_period_end
    client.v1.subscriptions.update(sub.id, params={
        "default_payment_method": "pm_card_chargeDeclinedInsufficientFunds"})
    _advance_to(sub_sandbox, end + HOUR + 1)
    sub = client.v1.subscriptions.retrieve(sub.id)
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (sub.status, inv.status, inv.attempt_count) == ("past_due", "open", 1)
    assert inv.next_payment_attempt == end + HOUR + DAY
    _advance_to(sub_sandbox, inv.next_payment_attempt + 1)  # first retry fails too
    inv = client.v1.invoices.retrieve(inv.id)
    assert (inv.attempt_count, inv.next_payment_attempt) == (2, end + HOUR + 3 * DAY)
    client.v1.subscriptions.update(sub.id, params={"default_payment_method": "pm_card_visa"})
    _advance_to(sub_sandbox, inv.next_payment_attempt + 1)
    inv = client.v1.invoices.retrieve(inv.id)
    assert (inv.status, inv.attempt_count, inv.next_payment_attempt) == ("paid", 3, None)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    kinds = [k for k in _events(client, end, {inv.id, sub.id})
             if k != "invoice.payment_succeeded"]
    assert kinds == ["invoice.created", "customer.subscription.updated",  # period rolled
                     "invoice.finalized", "invoice.payment_failed",
                     "customer.subscription.updated",  # past_due
                     "invoice.payment_failed",
                     "customer.subscription.updated",  # the customer's new card
                     "invoice.paid", "customer.subscription.updated"]  # active again


def test_trial_will_end_then_first_paid_invoice(client, plans, sub_sandbox):
    sub = client.v1.subscriptions.create(params={
        "customer": _customer(client).id, "items": [{"price": plans["p10"].id}],
        "trial_period_days": 14})
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    [line] = inv.lines.data
    assert (sub.status, inv.total, inv.status, line.amount) == ("trialing", 0, "paid", 0)
    assert (line.period.start, line.period.end) == (sub.trial_start, sub.trial_end)
    _advance_to(sub_sandbox, sub.trial_end - 3 * DAY + 1)
    assert _events(client, sub.created, {sub.id})[-1] == "customer.subscription.trial_will_end"
    _advance_to(sub_sandbox, sub.trial_end + HOUR + 1)
    sub = client.v1.subscriptions.retrieve(sub.id)
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (sub.status, first.status, first.total) == ("active", "paid", 1000)
    assert first.lines.data[0].period.start == sub.trial_end


@pytest.mark.parametrize("behavior,status", [("void", "void"), ("keep_as_draft", "draft"),
                                             ("mark_uncollectible", "uncollectible")])
def test_pause_collection_until_cleared(client, plans, sub_sandbox, behavior, status):
    sub = client.v1.subscriptions.create(params={
        "customer": _customer(client).id, "items": [{"price": plans["p10"].id}]})
    sub = client.v1.subscriptions.update(sub.id, params={
        "pause_collection": {"behavior": behavior}})
    assert (sub.status, sub.pause_collection.behavior) == ("active", behavior)
    end = sub["items"].data[0].current_period_end
    _advance_to(sub_sandbox, end + HOUR + 1)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert client.v1.invoices.retrieve(sub.latest_invoice).status == status
    assert sub.status == "active"
    sub = client.v1.subscriptions.update(sub.id, params={"pause_collection": ""})
    _advance_to(sub_sandbox, sub["items"].data[0].current_period_end + HOUR + 1)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert (sub.status, client.v1.invoices.retrieve(sub.latest_invoice).status) == \
        ("active", "paid")


def test_trial_without_card_pauses_and_resumes(client, plans, sub_sandbox):
    customer = _customer(client, pm=None)
    sub = client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": plans["p10"].id}], "trial_period_days": 7,
        "trial_settings": {"end_behavior": {"missing_payment_method": "pause"}}})
    _advance_to(sub_sandbox, sub.trial_end + 1)
    assert client.v1.subscriptions.retrieve(sub.id).status == "paused"
    client.v1.customers.update(customer.id, params={
        "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    resumed = client.v1.subscriptions.resume(sub.id)
    inv = client.v1.invoices.retrieve(resumed.latest_invoice)
    assert (resumed.status, inv.status, inv.total) == ("active", "paid", 1000)
    kinds = _events(client, sub.created, {sub.id})
    assert kinds.index("customer.subscription.paused") < kinds.index(
        "customer.subscription.resumed")


def test_default_tax_rates_tax_the_discounted_lines(client, plans):
    rate = client.v1.tax_rates.create(params={"display_name": "VAT", "percentage": "20",
                                              "country": "GB", "jurisdiction": "GB"})
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "forever"})
    sub = client.v1.subscriptions.create(params={
        "customer": _customer(client).id, "items": [{"price": plans["p30"].id}],
        "default_tax_rates": [rate.id], "discounts": [{"coupon": coupon.id}]})
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    [line] = inv.lines.data
    assert [(x.amount, x.taxable_amount) for x in line.taxes] == [(540, 2700)]
    assert (inv.subtotal, inv.total_excluding_tax, inv.total) == (3000, 2700, 3240)
    assert [(x.amount, x.tax_rate_details.tax_rate) for x in inv.total_taxes] == \
        [(540, rate.id)]
    assert inv.amount_paid == 3240 and sub.default_tax_rates[0].id == rate.id
