"""``--profile subscriptions``: a generated 180-day subscription business, read through
Stripe's API with the official SDK, obeys the invariants revenue recognition relies on.

One sandbox per module: 180 days at scale 0.03 (about 180 subscriptions, 570 invoices).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import stripe

from sandbox.stripe import generator
from sandbox.stripe.engine import Engine
from sandbox.stripe.store import Store
from tests.sandbox.fixtures import Sandbox, start_stripe_sandbox


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sb = start_stripe_sandbox(tmp_path_factory.mktemp("stripe-subs-history"),
                              history_days=180, scale="0.03", seed=3,
                              extra_args=("--profile", "subscriptions"))
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def api(history: Sandbox) -> stripe.StripeClient:
    return stripe.StripeClient(history.api_key, base_addresses={"api": history.base_url})


@pytest.fixture(scope="module")
def invoices(api: stripe.StripeClient) -> list[Any]:
    return list(api.v1.invoices.list(params={"limit": 100}).auto_paging_iter())


def test_every_invoice_line_has_a_period_and_totals_add_up(invoices):
    assert len(invoices) > 400
    for inv in invoices:
        lines = inv.lines.data
        assert not inv.lines.has_more
        assert lines and all(li.period.start <= li.period.end for li in lines), inv.id
        discounts = sum(d.amount for d in inv.total_discount_amounts)
        tax = sum(x.amount for x in inv.total_taxes)
        assert inv.subtotal == sum(li.amount for li in lines), inv.id
        assert discounts == sum(d.amount for li in lines for d in li.discount_amounts), inv.id
        assert inv.total_excluding_tax == inv.subtotal - discounts, inv.id
        assert inv.total == inv.total_excluding_tax + tax, inv.id
        credited = inv.pre_payment_credit_notes_amount
        if inv.status == "paid":
            assert inv.amount_paid == inv.amount_due, inv.id
        if inv.status != "void":
            assert inv.amount_due == max(0, inv.total + inv.starting_balance) - credited, inv.id


def test_history_holds_every_subscription_behaviour(api, invoices):
    lines = [li for inv in invoices for li in inv.lines.data]
    prorations = [li for li in lines
                  if li.parent.subscription_item_details and
                  li.parent.subscription_item_details.proration]
    assert {li.amount > 0 for li in prorations} == {True, False}
    reasons = Counter(inv.billing_reason for inv in invoices)
    assert {"subscription_create", "subscription_cycle", "subscription_update"} <= set(reasons)
    assert any(li.description.startswith("Trial period") for li in lines)
    assert any(inv.total_discount_amounts for inv in invoices)
    assert any(inv.total_taxes and inv.total_discount_amounts for inv in invoices)
    assert any(inv.total < 0 and inv.ending_balance == inv.total for inv in invoices)
    assert any(inv.status == "void" for inv in invoices)  # pause_collection: void
    assert any(inv.status == "paid" and inv.attempt_count > 1 for inv in invoices)  # dunning
    intervals = {li.period.end - li.period.start > 300 * 86_400 for li in lines
                 if li.amount > 0}
    assert intervals == {True, False}  # annual and monthly service periods
    notes = list(api.v1.credit_notes.list(params={"limit": 100}).auto_paging_iter())
    assert {cn.type for cn in notes} >= {"pre_payment", "post_payment"}
    assert any(cn.status == "void" for cn in notes)
    assert any(cn.refunds for cn in notes) and any(cn.customer_balance_transaction
                                                    for cn in notes)
    subs = list(api.v1.subscriptions.list(params={"status": "all", "limit": 100})
                .auto_paging_iter())
    assert {"active", "canceled"} <= {s.status for s in subs}


@pytest.mark.parametrize("kind", [
    "customer.subscription.created", "customer.subscription.updated",
    "customer.subscription.deleted", "customer.subscription.trial_will_end",
    "invoice.created", "invoice.finalized", "invoice.paid", "credit_note.created"])
def test_recent_events_cover_the_subscription_lifecycle(api, kind):
    """Events of the last 30 days (Stripe's retention) include every lifecycle step."""
    assert api.v1.events.list(params={"type": kind, "limit": 1}).data


def test_generation_is_deterministic_by_seed():
    def export() -> list[bytes]:
        e = Engine(Store(":memory:"), seed=5, start_time=1_790_000_000)
        generator.generate(e, history_days=60, scale=0.03, seed=5, profile="subscriptions")
        return [b for kind in ("subscription", "invoice", "credit_note", "invoiceitem")
                for b in e.export(kind)]
    first = export()
    assert len(first) > 100 and first == export()


def test_history_feeds_revenue_recognition_without_problems(api, invoices):
    """The fields the revenue domain reads (``domain/revenue/stripe_inputs.py``) are all there
    and consistent: every finalized line schedules, every credit note and void adjusts a line
    of its own invoice, and recognised plus deferred equals billed minus credited."""
    from domain.revenue.ledger import build_ledger
    from domain.revenue.stripe_inputs import (credit_note_adjustments,
                                              invoice_status_adjustments, lines_from_invoice)

    finalized = [inv.to_dict() for inv in invoices if inv.status_transitions.finalized_at]
    lines = {inv["id"]: lines_from_invoice(inv) for inv in finalized}
    adjustments = [a for inv in finalized for a in invoice_status_adjustments(inv,
                                                                              lines[inv["id"]])]
    notes = [cn.to_dict() for cn in
             api.v1.credit_notes.list(params={"limit": 100}).auto_paging_iter()]
    for cn in notes:
        adjustments += credit_note_adjustments(cn, lines[cn["invoice"]])
    ledger = build_ledger([li for rows in lines.values() for li in rows], adjustments,
                          time_unit="s")
    assert ledger.problems == []
    assert len(ledger.lines) == sum(len(inv["lines"]["data"]) for inv in finalized)
    recognised = np.bincount(ledger.segments["line"], weights=ledger.totals(),
                             minlength=len(ledger.lines)).astype("int64")
    credited = ledger.credited(10**9)
    assert credited.sum() > 0
    assert (recognised == ledger.lines["amount"].to_numpy() - credited).all()
