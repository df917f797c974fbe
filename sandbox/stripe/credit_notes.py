"""Credit notes (``cn_``): create, preview, void; their effect on the invoice, refunds and the
customer's credit balance.

Stripe's rules (API reference, credit notes create): a credit note adjusts a finalized
invoice.  It "will first reduce the invoice's ``amount_remaining`` (and ``amount_due``), but
not below zero" -- that part is its ``pre_payment_amount``; the excess is its
``post_payment_amount`` and must be settled by any combination of a refund
(``refund_amount``: a new refund of the invoice's charge), a customer balance credit
(``credit_amount``: "automatically applied to their next invoice when it's finalized") and
an out-of-band credit (``out_of_band_amount``); "the sum of refunds, customer balance
credits, and outside of Stripe credits must equal the ``post_payment_amount``".  ``type`` is
``pre_payment``, ``post_payment`` or ``mixed``.

Lines (``lines[i]``): ``type=invoice_line_item`` credits part of an invoice line
(``amount``, or ``quantity`` units of it, default all of it) with the line's discounts and
taxes in proportion (half-up, *assumed*); ``type=custom_line_item`` credits
``unit_amount x quantity`` with no discount or tax.  Totals (stripe-python ``CreditNote``):
``subtotal`` = sum of line amounts, ``discount_amount`` = sum of line discounts,
``total_excluding_tax = subtotal - discount_amount``, ``total`` adds tax; ``amount = total``.
An open invoice whose ``amount_remaining`` a credit note brings to 0 is ``paid``.

Voiding (``POST /v1/credit_notes/{id}/void``) restores the invoice's amounts and the
customer's balance; a credit note with a refund cannot be voided (*assumed*: a refund cannot
be taken back).  Events: ``credit_note.created``, ``credit_note.voided``, ``invoice.updated``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import billing, refunds, render
from .errors import invalid, missing
from .params import get_enum, get_int, get_list, get_metadata, get_str
from .store_schema import ROW

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]
REASONS = ("duplicate", "fraudulent", "order_change", "product_unsatisfactory")

ROW["credit_note"] = lambda o: (o["id"], o["created"], o["customer"], o["invoice"], o["status"],
                                o["currency"], o["total"])
ROW["customer_balance_transaction"] = lambda o: (o["id"], o["created"], o["customer"],
                                                 o["type"], o["currency"], o["amount"])


def share(value: int, part: int, whole: int) -> int:
    """``value x part / whole`` rounded half away from zero."""
    if whole == 0:
        return 0
    sign = -1 if value * part * whole < 0 else 1
    return sign * ((2 * abs(value * part) + abs(whole)) // (2 * abs(whole)))


def _invoice_line(e: Engine, cn_id: str, il: Obj, raw: Obj, i: int) -> Obj:
    amount = get_int(raw, "amount", minimum=0)
    qty = get_int(raw, "quantity", minimum=1)
    if amount is None:
        amount = il["amount"] if qty is None else share(il["amount"], qty, il["quantity"] or 1)
    if amount > il["amount"]:
        raise invalid(f"The credit amount for line {il['id']} ({amount}) exceeds the line's "
                      f"amount ({il['amount']}).", param=f"lines[{i}][amount]")
    discounts = [{"amount": share(d["amount"], amount, il["amount"]),
                  "discount": d["discount"]} for d in il["discount_amounts"]]
    taxes = [{**x, "amount": share(x["amount"], amount, il["amount"]), "taxable_amount":
              share(x["taxable_amount"] or 0, amount, il["amount"])} for x in il["taxes"]]
    return _line(e, raw, amount, discounts, taxes, invoice_line_item=il["id"],
                 quantity=qty if qty is not None else il["quantity"],
                 description=il["description"])


def _line(e: Engine, raw: Obj, amount: int, discounts: list[Obj], taxes: list[Obj], *,
          invoice_line_item: str | None, quantity: int | None, description: str | None,
          unit_amount: int | None = None) -> Obj:
    return {
        "id": e.ids.new("cnli"), "object": "credit_note_line_item", "amount": amount,
        "description": description, "discount_amount": sum(d["amount"] for d in discounts),
        "discount_amounts": discounts, "invoice_line_item": invoice_line_item,
        "livemode": False, "metadata": get_metadata(raw) or {},
        "pretax_credit_amounts": [{"amount": d["amount"], "credit_balance_transaction": None,
                                   "discount": d["discount"], "type": "discount"}
                                  for d in discounts],
        "quantity": quantity, "tax_rates": [], "taxes": taxes,
        "type": "invoice_line_item" if invoice_line_item else "custom_line_item",
        "unit_amount": unit_amount,
        "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
    }


def _lines(e: Engine, cn_id: str, inv: Obj, params: dict[str, Any]) -> list[Obj]:
    by_id = {il["id"]: il for il in inv["lines"]["data"]}
    out = []
    for i, raw in enumerate(get_list(params, "lines") or []):
        kind = get_enum(raw, "type", ("invoice_line_item", "custom_line_item"))
        if kind is None:
            raise missing(f"lines[{i}][type]")
        if kind == "invoice_line_item":
            il_id = get_str(raw, "invoice_line_item")
            if il_id not in by_id:
                raise invalid(f"No such invoice line item: '{il_id}' on invoice {inv['id']}",
                              param=f"lines[{i}][invoice_line_item]", code="resource_missing")
            out.append(_invoice_line(e, cn_id, by_id[il_id], raw, i))
            continue
        unit = get_int(raw, "unit_amount", minimum=0)
        if unit is None:
            raise missing(f"lines[{i}][unit_amount]")
        qty = get_int(raw, "quantity", minimum=1, default=1) or 1
        out.append(_line(e, raw, unit * qty, [], [], invoice_line_item=None, quantity=qty,
                         description=get_str(raw, "description"), unit_amount=unit))
    return out


def compute(e: Engine, inv: Obj, params: dict[str, Any], t: int) -> Obj:
    """The credit note ``params`` describe on ``inv`` (validated, not stored)."""
    if inv["status"] not in ("open", "paid", "uncollectible"):
        raise invalid(f"You can only create credit notes for finalized invoices. This invoice "
                      f"is {inv['status']}.", param="invoice")
    cn_id = e.ids.new("cn")
    lines = _lines(e, cn_id, inv, params)
    amount = get_int(params, "amount", minimum=1)
    if not lines and amount is None:
        raise invalid("One of `amount`, `lines`, or `shipping_cost` must be provided.")
    subtotal = sum(li["amount"] for li in lines) if lines else amount or 0
    discount = sum(li["discount_amount"] for li in lines)
    tax = sum(x["amount"] for li in lines for x in li["taxes"])
    total = subtotal - discount + tax
    if lines and amount is not None and amount != total:
        raise invalid(f"The amount ({amount}) must equal the total of the lines ({total}).",
                      param="amount")
    credited = inv["pre_payment_credit_notes_amount"] + inv["post_payment_credit_notes_amount"]
    if total > inv["total"] - credited:
        raise invalid(f"The credit note total ({total}) exceeds the invoice's remaining "
                      f"creditable amount ({inv['total'] - credited}).", param="amount")
    pre = min(total, inv["amount_remaining"]) if inv["status"] != "paid" else 0
    post = total - pre
    refund = get_int(params, "refund_amount", minimum=0, default=0) or 0
    credit = get_int(params, "credit_amount", minimum=0, default=0) or 0
    oob = get_int(params, "out_of_band_amount", minimum=0, default=0) or 0
    if refund + credit + oob != post:
        raise invalid(f"The sum of refund_amount, credit_amount and out_of_band_amount "
                      f"({refund + credit + oob}) must equal the credit note's post-payment "
                      f"amount ({post}).", param="refund_amount")
    totals_tax: dict[str, Obj] = {}
    for li in lines:
        for x in li["taxes"]:
            key = x["tax_rate_details"]["tax_rate"] if x["tax_rate_details"] else ""
            agg = totals_tax.setdefault(key, {**x, "amount": 0, "taxable_amount": 0})
            agg["amount"] += x["amount"]
            agg["taxable_amount"] += x["taxable_amount"] or 0
    by_discount: dict[str, int] = {}
    for li in lines:
        for d in li["discount_amounts"]:
            by_discount[d["discount"]] = by_discount.get(d["discount"], 0) + d["amount"]
    return {
        "id": cn_id, "object": "credit_note", "amount": total, "amount_shipping": 0,
        "created": t, "currency": inv["currency"], "customer": inv["customer"],
        "customer_account": None, "customer_balance_transaction": None,
        "discount_amount": discount,
        "discount_amounts": [{"amount": a, "discount": d} for d, a in by_discount.items()],
        "effective_at": get_int(params, "effective_at") or t, "invoice": inv["id"],
        "lines": render.sub_list(f"/v1/credit_notes/{cn_id}/lines", lines), "livemode": False,
        "memo": get_str(params, "memo"), "metadata": get_metadata(params) or {},
        "number": f"{inv['number']}-CN-{_count(e, inv) + 1:02d}", "out_of_band_amount":
        oob or None, "pdf": f"https://pay.stripe.com/credit_notes/{cn_id}/pdf",
        "post_payment_amount": post, "pre_payment_amount": pre,
        "pretax_credit_amounts": [{"amount": a, "credit_balance_transaction": None,
                                   "discount": d, "type": "discount"}
                                  for d, a in by_discount.items()],
        "reason": get_enum(params, "reason", REASONS), "refunds": [], "shipping_cost": None,
        "status": "issued", "subtotal": subtotal, "subtotal_excluding_tax": subtotal,
        "total": total, "total_excluding_tax": subtotal - discount,
        "total_taxes": list(totals_tax.values()),
        "type": "mixed" if pre and post else "pre_payment" if pre else "post_payment",
        "voided_at": None,
        "_outcome": (refund, credit),
    }


def _count(e: Engine, inv: Obj) -> int:
    rows = [(0,)] if e.bulk else e.store.query(
        "SELECT COUNT(*) FROM objects WHERE object='credit_note' AND invoice=?", (inv["id"],))
    pending = sum(1 for o, _ in e._dirty.values()
                  if o["object"] == "credit_note" and o["invoice"] == inv["id"])
    return rows[0][0] + pending


def _charge_of(e: Engine, inv: Obj) -> Obj:
    ip = billing.invoice_payment_of(e, inv)
    if ip is None or ip["status"] != "paid":
        raise invalid(f"Invoice {inv['id']} has no payment to refund.", param="refund_amount")
    if ip["payment"]["charge"]:
        return e.load(ip["payment"]["charge"], "charge")
    pi = e.load(ip["payment"]["payment_intent"], "payment_intent")
    return e.load(pi["latest_charge"], "charge")


def _balance_credit(e: Engine, cn: Obj, amount: int, t: int) -> Obj:
    """Credit ``amount`` to the customer's balance (a negative balance is credit)."""
    customer = e.load(cn["customer"], "customer")
    previous = {"balance": customer["balance"]}
    customer["balance"] -= amount
    e.put(customer)
    e.emit("customer.updated", customer, t, previous)
    return e.put({
        "id": e.ids.new("cbtxn"), "object": "customer_balance_transaction", "amount": -amount,
        "checkout_session": None, "created": t, "credit_note": cn["id"],
        "currency": cn["currency"], "customer": cn["customer"], "customer_account": None,
        "description": None, "ending_balance": customer["balance"], "invoice": None,
        "livemode": False, "metadata": {},
        "type": "credit_note" if amount > 0 else "credit_note_void"})  # assumed type name


def issue(e: Engine, inv: Obj, params: dict[str, Any], t: int, charge: Obj | None = None) -> Obj:
    """Create the credit note and apply it (invoice amounts, refund, balance credit).

    ``charge`` is the invoice's charge when the caller holds it (history generation)."""
    cn = compute(e, inv, params, t)
    refund, credit = cn.pop("_outcome")
    if refund:
        ch = charge or _charge_of(e, inv)
        re = refunds.refund_charge(e, ch, refund, t, reason="requested_by_customer",
                                    metadata={"credit_note": cn["id"]})
        cn["refunds"] = [{"amount_refunded": refund, "payment_record_refund": None,
                          "refund": re["id"], "type": "refund"}]
    if credit:
        cn["customer_balance_transaction"] = _balance_credit(e, cn, credit, t)["id"]
    e.put(cn)
    e.emit("credit_note.created", cn, t)
    _apply(e, inv, cn["pre_payment_amount"], cn["post_payment_amount"], t)
    return cn


def _apply(e: Engine, inv: Obj, pre: int, post: int, t: int) -> None:
    previous = {k: inv[k] for k in ("amount_due", "amount_remaining",
                                    "pre_payment_credit_notes_amount",
                                    "post_payment_credit_notes_amount")}
    inv["amount_due"] -= pre
    inv["amount_remaining"] -= pre
    inv["pre_payment_credit_notes_amount"] += pre
    inv["post_payment_credit_notes_amount"] += post
    e.put(inv)
    e.emit("invoice.updated", inv, t, previous)
    if not pre or inv["status"] not in ("open", "uncollectible"):
        return
    ip = None if e.bulk else billing.invoice_payment_of(e, inv)
    if ip is not None and ip["status"] == "open":
        if inv["amount_remaining"] == 0:
            billing.void_payment(e, ip, t)
        else:  # the next payment attempt charges what remains
            pi = e.load(ip["payment"]["payment_intent"], "payment_intent")
            pi["amount"] = ip["amount_requested"] = inv["amount_remaining"]
            e.put(pi)
            e.put(ip)
    if inv["amount_remaining"] == 0:
        billing.mark_paid(e, inv, None, t)


def create_credit_note(e: Engine, params: dict[str, Any], t: int) -> Obj:
    inv_id = get_str(params, "invoice")
    if inv_id is None:
        raise missing("invoice")
    return issue(e, e.load(inv_id, "invoice", "invoice"), params, t)


def preview_credit_note(e: Engine, params: dict[str, Any], t: int) -> Obj:
    """``GET /v1/credit_notes/preview``: the credit note as it would be issued (not stored)."""
    inv_id = get_str(params, "invoice")
    if inv_id is None:
        raise missing("invoice")
    cn = compute(e, e.load(inv_id, "invoice", "invoice"), params, t)
    cn.pop("_outcome")
    return cn


def void_credit_note(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    cn = e.load(id, "credit_note")
    return void(e, cn, e.load(cn["invoice"], "invoice"), t)


def void(e: Engine, cn: Obj, inv: Obj, t: int) -> Obj:
    """Void an issued credit note of ``inv`` and undo its effects."""
    if cn["status"] != "issued":
        raise invalid(f"Credit note {cn['id']} is already void.", param="id")
    if cn["refunds"]:
        raise invalid("A credit note with a refund cannot be voided.", param="id")
    if cn["pre_payment_amount"] and inv["status"] == "paid":
        raise invalid("This credit note paid its invoice and cannot be voided.", param="id")
    if cn["customer_balance_transaction"]:
        _balance_credit(e, cn, -(cn["post_payment_amount"] - (cn["out_of_band_amount"] or 0)), t)
    cn.update(status="void", voided_at=t)
    e.put(cn)
    e.emit("credit_note.voided", cn, t)
    _apply(e, inv, -cn["pre_payment_amount"], -cn["post_payment_amount"], t)
    return cn


def update_credit_note(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    cn = e.load(id, "credit_note")
    previous = {k: cn[k] for k in ("memo", "metadata") if k in params}
    if "memo" in params:
        cn["memo"] = get_str(params, "memo")
    if "metadata" in params:
        cn["metadata"] = {**cn["metadata"], **(get_metadata(params) or {})}
    e.put(cn)
    e.emit("credit_note.updated", cn, t, previous)
    return cn
