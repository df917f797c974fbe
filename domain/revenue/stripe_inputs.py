"""Mirrored Stripe objects (API 2026-10-28, the JSON the warehouse keeps in ``raw``) into the
inputs of revenue recognition: :class:`InvoiceLine` and :class:`Adjustment`.

Field meanings are the installed SDK's typed models (``stripe/_invoice_line_item.py``,
``_credit_note.py``, ``_credit_note_line_item.py``, ``_invoice.py``):

* ``InvoiceLineItem.amount`` is the line before discounts; ``discount_amounts`` are "the amount
  of discount calculated per discount for this line item" -- line-level discounts and the line's
  share of invoice-level ones, since ``Invoice.total_discount_amounts`` are "the aggregate
  amounts calculated per discount across all line items" and "line item discounts are applied
  before invoice discounts"; ``pretax_credit_amounts`` repeat those discounts and add credit
  grants (``type='credit_balance_transaction'``); ``taxes[].tax_behavior='inclusive'`` taxes sit
  inside ``amount``.  Stripe: "Recognizable revenue is reported as a net of discounts" and
  "Taxes are not recognizable" (stripe.com/docs/billing/revenue-recognition/methodology), so the
  recognisable amount is ``amount - discounts - credit grants - inclusive taxes``.
* ``period.start``/``period.end``: the service period ("If you have Stripe Revenue Recognition
  enabled, the period will be used to recognize and defer revenue").  Stripe always sets it; an
  invoice item without a service period has ``start == end``.
* Booked: the invoice's ``status_transitions.finalized_at`` ("We recognize revenue as soon as an
  invoice is finalized"); a line from an invoice item counts from the invoice item's creation if
  the caller knows it (Stripe's waterfall: "the month that the invoice item first appears").
* ``CreditNoteLineItem.amount`` is "the gross amount being credited for this line item,
  excluding (exclusive) tax and discounts", ``discount_amount`` "the discount being credited";
  ``type='invoice_line_item'`` credits ``invoice_line_item``, ``custom_line_item`` is spread over
  the invoice's lines.  ``CreditNote.effective_at`` is "the date when this credit note is in
  effect. Same as ``created`` unless overwritten"; ``status='void'`` with ``voided_at``.
* Refunds and lost disputes of an invoice's payment that no credit note carries (a credit note's
  ``refunds`` are part of the credit note) reduce every line in proportion: the revenue share of
  the refund is ``refund * revenue / invoice.total``.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

from .adjustments import Adjustment, allocate, spread_credit
from .schedules import InvoiceLine, RevenueError, quantum

Obj = Mapping[str, Any]


def _ref(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return value.get("id")
    return value


def _sum(items: Iterable[Obj] | None, predicate: Callable[[Obj], bool] = lambda _: True) -> int:
    return sum(int(item.get("amount") or 0) for item in items or () if predicate(item))


def recognisable_amount(line: Obj) -> int:
    """Revenue of an invoice or credit note line: its amount less discounts, credit grants and
    the taxes included in it."""
    discounts = (int(line["discount_amount"]) if "discount_amount" in line
                 else _sum(line.get("discount_amounts")))
    grants = _sum(line.get("pretax_credit_amounts"),
                  lambda c: c.get("type") == "credit_balance_transaction")
    inclusive = _sum(line.get("taxes"), lambda t: t.get("tax_behavior") == "inclusive")
    return int(line["amount"]) - discounts - grants - inclusive


def product_or_price(line: Obj) -> str:
    """Default ``revenue_key``: the line's product, else its price, else ``''``."""
    details = ((line.get("pricing") or {}).get("price_details") or {})
    return details.get("product") or _ref(details.get("price")) or ""


def _invoice_item(line: Obj) -> str | None:
    parent = line.get("parent") or {}
    for key in ("invoice_item_details", "subscription_item_details"):
        found = (parent.get(key) or {}).get("invoice_item")
        if found:
            return found
    return None


def _subscription(line: Obj) -> str | None:
    parent = line.get("parent") or {}
    details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
    return _ref(line.get("subscription")) or details.get("subscription")


def booked_at(invoice: Obj) -> int:
    """When an invoice's revenue is booked: its finalization."""
    finalized = (invoice.get("status_transitions") or {}).get("finalized_at")
    if finalized is None:
        raise RevenueError(f"invoice {invoice.get('id')}: status_transitions.finalized_at: "
                           f"a draft invoice books no revenue")
    return int(finalized)


def line_from_stripe(line: Obj, invoice: Obj,
                     invoice_item_created: Mapping[str, int] | None = None,
                     revenue_key: Callable[[Obj], str] = product_or_price) -> InvoiceLine:
    """One mirrored ``line_item`` of a finalized ``invoice`` as an :class:`InvoiceLine`.

    ``invoice_item_created`` (invoice item id -> its ``created``) books lines that come from
    invoice items when the item appeared, as Stripe's waterfall does; revenue then starts before
    the invoice exists, which the ERP side must carry as an unbilled receivable until the
    invoice posts.  Without it every line is booked at the invoice's finalization (catch-up).
    """
    booked = booked_at(invoice)
    item = _invoice_item(line)
    if invoice_item_created and item in invoice_item_created:
        booked = min(booked, int(invoice_item_created[item]))
    period = line.get("period") or {}
    if "start" not in period or "end" not in period:
        raise RevenueError(f"invoice line {line.get('id')}: period: missing")
    return InvoiceLine(
        id=line["id"], invoice_id=invoice["id"], currency=line.get("currency") or invoice[
            "currency"], amount=recognisable_amount(line), period_start=int(period["start"]),
        period_end=int(period["end"]), booked_at=booked, revenue_key=revenue_key(line),
        customer_id=_ref(invoice.get("customer")), subscription_id=_subscription(line))


def lines_from_invoice(invoice: Obj, lines: Iterable[Obj] | None = None,
                       **options: Any) -> list[InvoiceLine]:
    """Every line of a finalized invoice (its embedded ``lines.data`` unless given)."""
    rows = lines if lines is not None else (invoice.get("lines") or {}).get("data") or ()
    return [line_from_stripe(line, invoice, **options) for line in rows]


def credit_note_adjustments(credit_note: Obj, invoice_lines: Sequence[InvoiceLine]
                            ) -> list[Adjustment]:
    """A credit note's credits on its invoice's lines, and their reversal if it was voided."""
    effective = int(credit_note.get("effective_at") or credit_note["created"])
    cn = credit_note["id"]
    q = quantum(credit_note["currency"])
    known = {line.id for line in invoice_lines}
    out: list[Adjustment] = []
    cn_lines = (credit_note.get("lines") or {}).get("data") or []
    for cnl in cn_lines:
        amount = recognisable_amount(cnl)
        target = cnl.get("invoice_line_item")
        if cnl.get("type") == "invoice_line_item" and target:
            if target not in known:
                raise RevenueError(f"credit note {cn}: line {cnl.get('id')}: invoice_line_item "
                                   f"{target} is not a line of invoice {_ref(credit_note.get('invoice'))}")
            out.append(Adjustment(f"{cn}:{cnl['id']}", target, "credit_note", effective, amount))
        elif amount:
            out += spread_credit(f"{cn}:{cnl['id']}", "credit_note", amount, invoice_lines,
                                 effective, q)
    if not cn_lines:
        amount = int(credit_note.get("total_excluding_tax") or 0)
        out += spread_credit(cn, "credit_note", amount, invoice_lines, effective, q) if amount \
            else []
    voided = credit_note.get("voided_at")
    if credit_note.get("status") == "void" and voided:
        out += [Adjustment(f"{a.id}:void", a.line_id, "credit_note_void", int(voided),
                           reverses=a.id) for a in list(out)]
    return out


def payment_reversal_adjustments(kind: str, source_id: str, amount: int, effective_at: int,
                                 invoice: Obj, invoice_lines: Sequence[InvoiceLine]
                                 ) -> list[Adjustment]:
    """A refund (``kind='refund'``) or lost dispute (``'dispute'``) of ``amount`` paid on
    ``invoice``, not carried by a credit note, spread over its lines."""
    total = int(invoice.get("total") or 0)
    revenue = sum(line.amount for line in invoice_lines)
    if total <= 0 or revenue == 0:
        raise RevenueError(f"{kind} {source_id}: invoice {invoice.get('id')} has no revenue to "
                           f"reverse (total {total})")
    q = quantum(invoice["currency"])
    share = amount if revenue == total else allocate(amount, [revenue, total - revenue], q)[0]
    return spread_credit(source_id, kind, share, invoice_lines, effective_at, q)


def invoice_status_adjustments(invoice: Obj, invoice_lines: Sequence[InvoiceLine]
                               ) -> list[Adjustment]:
    """A voided or uncollectible invoice credits what its lines still carry; an uncollectible
    invoice paid afterwards recovers the bad debt (the rest is a gain)."""
    t = invoice.get("status_transitions") or {}
    out: list[Adjustment] = []
    inv = invoice["id"]
    written_off = t.get("marked_uncollectible_at")
    if written_off:
        out += spread_credit(f"{inv}:uncollectible", "uncollectible", None, invoice_lines,
                             int(written_off))
        paid = t.get("paid_at")
        if paid and int(paid) >= int(written_off):
            out += [Adjustment(f"{a.id}:recovered", a.line_id, "recovery", int(paid),
                               reverses=a.id) for a in list(out)]
    if t.get("voided_at"):
        out += spread_credit(f"{inv}:void", "void", None, invoice_lines, int(t["voided_at"]))
    return out
