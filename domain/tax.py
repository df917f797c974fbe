"""Sales tax Stripe computed: a liability, never revenue.

A charge that pays a Stripe invoice carries that invoice's tax (``total_taxes``) in
proportion to what it pays; a refund of such a charge gives back the same proportion of
what it refunds.  Shares are rounded half-up to the minor unit, as Stripe rounds tax.

Pure functions of the Stripe objects: no I/O, no Dagster.
"""
from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def invoice_tax(invoice: Obj | None) -> int:
    """The tax of a Stripe invoice in its minor units (0 without one)."""
    if not invoice:
        return 0
    return sum(int(t.get("amount") or 0) for t in invoice.get("total_taxes") or [])


def tax_share(amount: int, invoice: Obj | None) -> int:
    """The tax in ``amount`` (minor units of the invoice's currency) paid on ``invoice``."""
    tax, total = invoice_tax(invoice), int((invoice or {}).get("total") or 0)
    if not tax or total <= 0:
        return 0
    if amount == total:
        return tax
    return (2 * abs(amount) * tax + total) // (2 * total) * (1 if amount >= 0 else -1)


def paid_by(invoice: Obj) -> list[tuple[str, str]]:
    """(``charge`` | ``payment_intent``, id) of each payment listed on a Stripe invoice
    (``payments`` is includable: the mirror lists invoices with it expanded)."""
    out = []
    for pay in ((invoice.get("payments") or {}).get("data") or []):
        if pay.get("status") not in (None, "paid"):
            continue
        detail = pay.get("payment") or {}
        for key in ("charge", "payment_intent"):
            value = detail.get(key)
            value = value.get("id") if isinstance(value, dict) else value
            if value:
                out.append((key, value))
                break
    return out


def invoices_by_charge(invoices: list[Obj], charges: dict[str, Obj]) -> dict[str, Obj]:
    """Charge id -> the Stripe invoice it paid, from the invoices' payments."""
    by_intent = {}
    for ch in charges.values():
        pi = ch.get("payment_intent")
        pi = pi.get("id") if isinstance(pi, dict) else pi
        if pi:
            by_intent[pi] = ch["id"]
    out: dict[str, Obj] = {}
    for inv in invoices:
        for key, value in paid_by(inv):
            cid = value if key == "charge" else by_intent.get(value)
            if cid:
                out[cid] = inv
    return out
