"""Mirrored Stripe objects (API 2026-10-28 shapes) into schedules and adjustments."""
from __future__ import annotations

import pytest

from domain.revenue.ledger import build_ledger
from domain.revenue.schedules import RevenueError
from domain.revenue.stripe_inputs import (credit_note_adjustments, invoice_status_adjustments,
                                          line_from_stripe, lines_from_invoice,
                                          payment_reversal_adjustments, recognisable_amount)

from .helpers import date, utc

JAN1, APR1 = int(utc(2019, 1, 1).timestamp()), int(utc(2019, 4, 1).timestamp())


def stripe_line(line_id: str, amount: int, start=JAN1, end=APR1, **extra) -> dict:
    base = {"id": line_id, "object": "line_item", "amount": amount, "currency": "usd",
            "discount_amounts": [], "pretax_credit_amounts": [], "taxes": [],
            "period": {"start": start, "end": end},
            "pricing": {"type": "price_details",
                        "price_details": {"price": "price_q", "product": "prod_q"}},
            "parent": {"type": "subscription_item_details",
                       "subscription_item_details": {"invoice_item": None, "proration": False,
                                                     "subscription": "sub_1",
                                                     "subscription_item": "si_1"}}}
    base.update(extra)
    return base


def invoice(lines: list[dict], total: int | None = None, **transitions) -> dict:
    return {"id": "in_1", "object": "invoice", "currency": "usd", "customer": "cus_1",
            "total": total if total is not None else sum(recognisable_amount(x) for x in lines),
            "status_transitions": {"finalized_at": JAN1, "marked_uncollectible_at": None,
                                   "paid_at": None, "voided_at": None, **transitions},
            "lines": {"object": "list", "data": lines}}


def test_recognisable_amount_nets_discounts_grants_and_inclusive_tax():
    line = stripe_line("il_1", 10000,
                       discount_amounts=[{"amount": 1000, "discount": "di_line"},
                                         {"amount": 300, "discount": "di_invoice"}],
                       pretax_credit_amounts=[
                           {"amount": 1000, "type": "discount", "discount": "di_line"},
                           {"amount": 300, "type": "discount", "discount": "di_invoice"},
                           {"amount": 500, "type": "credit_balance_transaction"}],
                       taxes=[{"amount": 700, "tax_behavior": "inclusive"},
                              {"amount": 900, "tax_behavior": "exclusive"}])
    assert recognisable_amount(line) == 10000 - 1000 - 300 - 500 - 700


def test_line_from_stripe_books_on_finalization_or_invoice_item_creation():
    proration = stripe_line("il_p", -3000, parent={
        "type": "subscription_item_details",
        "subscription_item_details": {"invoice_item": "ii_9", "proration": True,
                                      "subscription": "sub_1", "subscription_item": "si_1"}})
    inv = invoice([stripe_line("il_1", 9000), proration])
    inv["status_transitions"]["finalized_at"] = APR1
    created = int(utc(2019, 2, 10).timestamp())
    lines = lines_from_invoice(inv, invoice_item_created={"ii_9": created})
    assert [(x.id, x.booked_at, x.revenue_key, x.subscription_id, x.customer_id)
            for x in lines] == [("il_1", APR1, "prod_q", "sub_1", "cus_1"),
                                ("il_p", created, "prod_q", "sub_1", "cus_1")]
    with pytest.raises(RevenueError, match="finalized_at"):
        line_from_stripe(stripe_line("il_d", 1), {**inv, "status_transitions": {}})


def test_credit_note_with_line_items_and_a_custom_line():
    inv = invoice([stripe_line("il_a", 6000), stripe_line("il_b", 3000)])
    lines = lines_from_invoice(inv)
    cn = {"id": "cn_1", "object": "credit_note", "currency": "usd", "invoice": "in_1",
          "created": int(utc(2019, 2, 1).timestamp()), "effective_at": None, "status": "issued",
          "voided_at": None,
          "lines": {"data": [
              {"id": "cnli_1", "type": "invoice_line_item", "invoice_line_item": "il_a",
               "amount": 1200, "discount_amount": 200, "pretax_credit_amounts": [],
               "taxes": []},
              {"id": "cnli_2", "type": "custom_line_item", "invoice_line_item": None,
               "amount": 900, "discount_amount": 0, "pretax_credit_amounts": [], "taxes": []}]}}
    adjustments = credit_note_adjustments(cn, lines)
    assert [(a.id, a.line_id, a.amount) for a in adjustments] == [
        ("cn_1:cnli_1", "il_a", 1000), ("cn_1:cnli_2:il_a", "il_a", 600),
        ("cn_1:cnli_2:il_b", "il_b", 300)]
    voided = {**cn, "status": "void", "voided_at": int(utc(2019, 3, 1).timestamp())}
    again = credit_note_adjustments(voided, lines)
    assert [a.kind for a in again].count("credit_note_void") == 3
    built = build_ledger(lines, again)
    assert built.problems == []
    assert sum(built.line(i).recognised_through(date(2019, 3, 31)) for i in ("il_a", "il_b")) \
        == 9000


def test_refund_share_excludes_tax_and_spreads_over_lines():
    inv = invoice([stripe_line("il_a", 6000), stripe_line("il_b", 3000)], total=9900)
    adjustments = payment_reversal_adjustments("refund", "re_1", 990,
                                               int(utc(2019, 2, 1).timestamp()), inv,
                                               lines_from_invoice(inv))
    assert [(a.line_id, a.amount, a.kind) for a in adjustments] == [
        ("il_a", 600, "refund"), ("il_b", 300, "refund")]


def test_void_uncollectible_and_recovery_from_status_transitions():
    feb1 = int(utc(2019, 2, 1).timestamp())
    lines = lines_from_invoice(invoice([stripe_line("il_a", 9000)]))
    voided = invoice_status_adjustments(invoice([], voided_at=feb1), lines)
    assert [(a.kind, a.amount) for a in voided] == [("void", None)]
    paid_later = invoice_status_adjustments(
        invoice([], marked_uncollectible_at=feb1, paid_at=APR1), lines)
    assert [a.kind for a in paid_later] == ["uncollectible", "recovery"]
    built = build_ledger(lines, paid_later)
    assert built.applied["in_1:uncollectible:il_a:recovered"].gain == 5900
