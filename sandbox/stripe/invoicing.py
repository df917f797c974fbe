"""One-off invoices with tax, paid later, voided or marked uncollectible.

Shapes at 2026-10-28.endive (stripe-python 16.1 models): a ``tax_rate``
object (``txr_``: ``percentage``, ``country``, ``state``, ``jurisdiction``,
``tax_type``, ``inclusive``); each invoice line carries ``taxes`` entries
``{amount, tax_behavior, tax_rate_details: {tax_rate}, taxability_reason,
taxable_amount, type: "tax_rate_details"}`` and the invoice ``total_taxes``
the same entries summed per rate (``total_tax_amounts`` before basil).
Tax is exclusive: ``subtotal`` and ``total_excluding_tax`` exclude it,
``total`` = ``amount_due`` include it.  Line tax is rounded half-up per line
and the invoice total is the sum of the lines (Stripe's invoice tax
rounding is per line by default; assumed).

Lifecycle (invoice docs): ``open`` after finalization; ``paid`` when paid
(``status_transitions.paid_at``); ``void`` (``voided_at``) and
``uncollectible`` (``POST /v1/invoices/{id}/mark_uncollectible``,
``marked_uncollectible_at``, event ``invoice.marked_uncollectible``); an
uncollectible invoice can still be paid.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import billing, render
from .errors import invalid, missing
from .params import get_bool, get_str
from .payments import confirm, new_payment_intent
from .store_schema import ROW

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]

ROW["tax_rate"] = lambda o: (o["id"], o["created"], o["active"], o["tax_type"])


def tax_rate(e: Engine, t: int, *, display_name: str, percentage: str, country: str,
             state: str | None, jurisdiction: str, tax_type: str) -> Obj:
    rate = {"id": e.ids.new("txr"), "object": "tax_rate", "active": True, "country": country,
            "created": t, "description": f"{display_name} {jurisdiction}",
            "display_name": display_name, "effective_percentage": float(percentage),
            "flat_amount": None, "inclusive": False, "jurisdiction": jurisdiction,
            "jurisdiction_level": "state" if state else "country", "livemode": False,
            "metadata": {}, "percentage": float(percentage), "rate_type": "percentage",
            "state": state, "tax_type": tax_type}
    e.put(rate)
    e.emit("tax_rate.created", rate, t)
    return rate


def create_tax_rate(e: Engine, params: dict[str, Any], t: int) -> Obj:
    """``POST /v1/tax_rates`` (exclusive rates only)."""
    if get_bool(params, "inclusive"):
        raise invalid("Inclusive tax rates are not modelled by the sandbox.", param="inclusive")
    name, pct = get_str(params, "display_name"), get_str(params, "percentage")
    if name is None or pct is None:
        raise missing("display_name" if name is None else "percentage")
    return tax_rate(e, t, display_name=name, percentage=pct,
                    country=get_str(params, "country") or "US", state=get_str(params, "state"),
                    jurisdiction=get_str(params, "jurisdiction") or "",
                    tax_type=get_str(params, "tax_type") or "sales_tax")


def line_tax(amount: int, rate: Obj) -> int:
    """Exclusive tax on one line, half-up in minor units."""
    num = round(rate["percentage"] * 10_000)  # percentage with 4 decimals as an integer
    return (2 * amount * num + 1_000_000) // 2_000_000


def tax_entry(amount: int, taxable: int, rate: Obj) -> Obj:
    return {"amount": amount, "tax_behavior": "exclusive",
            "tax_rate_details": {"tax_rate": rate["id"]}, "taxability_reason": None,
            "taxable_amount": taxable, "type": "tax_rate_details"}


def taxed_invoice(e: Engine, t: int, *, customer: Obj, currency: str,
                  lines: list[tuple[Obj, int]], rate: Obj | None, collection_method: str,
                  days_until_due: int | None, description: str | None = None) -> Obj:
    """A draft invoice with one invoice-item line per (price, quantity), taxed by ``rate``."""
    inv = billing.new_invoice(e, t, customer=customer, currency=currency,
                              billing_reason="manual", subscription=None, items=[],
                              period_start=t, period_end=t, collection_method=collection_method,
                              days_until_due=days_until_due, description=description)
    rendered = []
    for price, qty in lines:
        amount = price["unit_amount"] * qty
        taxes = [tax_entry(line_tax(amount, rate), amount, rate)] if rate else []
        rendered.append(e.put(_line(e, inv["id"], price, qty, amount, currency, t, taxes)))
    subtotal = sum(li["amount"] for li in rendered)
    tax = sum(x["amount"] for li in rendered for x in li["taxes"])
    inv.update(
        lines=render.sub_list(inv["lines"]["url"], rendered), subtotal=subtotal,
        subtotal_excluding_tax=subtotal, total_excluding_tax=subtotal, total=subtotal + tax,
        amount_due=subtotal + tax, amount_remaining=subtotal + tax,
        total_taxes=[tax_entry(tax, subtotal, rate)] if rate else [])
    e.put(inv)
    return inv


def _line(e: Engine, invoice: str, price: Obj, qty: int, amount: int, currency: str, t: int,
          taxes: list[Obj]) -> Obj:
    product = e.load(price["product"], "product")
    return {
        "id": e.ids.new("il"), "object": "line_item", "amount": amount, "currency": currency,
        "description": product["name"], "discount_amounts": [], "discountable": True,
        "discounts": [], "invoice": invoice, "livemode": False, "metadata": {},
        "parent": {"invoice_item_details": {"invoice_item": e.ids.new("ii"), "proration": False,
                                            "proration_details": {"credited_items": None},
                                            "subscription": None},
                   "subscription_item_details": None, "type": "invoice_item_details"},
        "period": {"end": t, "start": t}, "pretax_credit_amounts": [],
        "pricing": {"price_details": {"price": price["id"], "product": price["product"]},
                    "type": "price_details", "unit_amount_decimal": price["unit_amount_decimal"]},
        "quantity": qty, "quantity_decimal": str(qty), "subscription": None,
        "subtotal": amount, "taxes": taxes,
    }


def pay_now(e: Engine, inv: Obj, t: int, pm: str) -> bool:
    """The customer pays an open invoice (hosted page / ``pay``): a PaymentIntent for the
    amount due, linked by an ``invoice_payment``; True when it succeeded."""
    customer = e.load(inv["customer"], "customer")
    pi = new_payment_intent(e, t, amount=inv["amount_remaining"], currency=inv["currency"],
                            customer=customer, description=f"Invoice {inv['number']}")
    ip = e.put(render.invoice_payment(e.ids.new("inpay"), t, invoice=inv["id"],
                                      amount=inv["amount_remaining"], currency=inv["currency"],
                                      payment_intent=pi["id"]))
    ch = confirm(e, pi, pm, t)
    inv.update(attempted=True, attempt_count=inv["attempt_count"] + 1)
    if ch["status"] != "succeeded":
        e.put(inv)
        e.emit("invoice.payment_failed", inv, t)
        return False
    billing.mark_paid(e, inv, ip, t)
    return True


def mark_uncollectible(e: Engine, inv: Obj, t: int) -> Obj:
    if inv["status"] != "open":
        raise invalid(f"You can only mark open invoices as uncollectible. This invoice is "
                      f"{inv['status']}.")
    previous = {"status": inv["status"], "status_transitions": inv["status_transitions"]}
    inv.update(status="uncollectible", status_transitions={
        **inv["status_transitions"], "marked_uncollectible_at": t})
    e.put(inv)
    e.emit("invoice.marked_uncollectible", inv, t)
    e.emit("invoice.updated", inv, t, previous)
    return inv


def mark_uncollectible_action(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    return mark_uncollectible(e, e.load(id, "invoice"), t)
