"""Ground truth for a month-end close, as of a timestamp (``GET /_sandbox/close_truth``).

Each figure is what Stripe's own API gives (the README shows the queries);
this module computes it from the stored objects so tests need not page:

* ``balances`` per currency: Σ ``net`` of the balance transactions created at
  or before ``at`` (Stripe's balance moves only through BTs), split into
  ``available`` (``available_on`` ≤ ``at``) and ``pending``; the same as
  ``GET /v1/balance_transactions?currency=X&created[lte]=at`` summed.
* ``tax`` per currency: tax of invoices finalized at or before ``at`` and not
  voided by then (``total_taxes``), less the refunded share of that tax:
  for each refund created by ``at`` of a charge that paid a taxed invoice,
  ``refund.amount × invoice tax / invoice total`` rounded half-up.
* ``open_invoices``: invoices finalized at or before ``at`` and, as of
  ``at``, neither paid, voided nor marked uncollectible
  (``status_transitions``), with their totals; ``open_totals`` per currency.
"""
from __future__ import annotations

from typing import Any

import orjson

from .store import Store


def close_truth(store: Store, at: int) -> dict[str, Any]:
    return {"at": at, "balances": _balances(store, at), **_invoices(store, at)}


def _balances(store: Store, at: int) -> dict[str, dict[str, int]]:
    rows = store.query(
        "SELECT COALESCE(currency, 'usd'), SUM(net), SUM(CASE WHEN available_on <= ? THEN net "
        "ELSE 0 END) FROM objects WHERE object='balance_transaction' AND created <= ? "
        "GROUP BY 1", (at, at))
    return {cur: {"available": avail, "pending": total - avail, "total": total}
            for cur, total, avail in sorted(rows)}


def _invoices(store: Store, at: int) -> dict[str, Any]:
    tax: dict[str, dict[str, int]] = {}
    open_invoices = []
    taxed: dict[str, tuple[int, int]] = {}  # invoice -> (tax, total)
    for (data,) in store.query("SELECT data FROM objects WHERE object='invoice' "
                               "AND deleted IS NULL ORDER BY created, seq"):
        inv = orjson.loads(data)
        st = inv["status_transitions"]
        if st["finalized_at"] is None or st["finalized_at"] > at:
            continue
        invoice_tax = sum(x["amount"] for x in inv["total_taxes"])
        voided = st["voided_at"] is not None and st["voided_at"] <= at
        if not voided:
            entry = tax.setdefault(inv["currency"], {"collected": 0, "refunded": 0, "net": 0})
            entry["collected"] += invoice_tax
            if invoice_tax:
                taxed[inv["id"]] = (invoice_tax, inv["total"])
        closed = [st[k] for k in ("paid_at", "voided_at", "marked_uncollectible_at")
                  if st[k] is not None and st[k] <= at]
        if not closed:
            open_invoices.append({"id": inv["id"], "number": inv["number"],
                                  "customer": inv["customer"], "currency": inv["currency"],
                                  "total": inv["total"], "tax": invoice_tax,
                                  "finalized_at": st["finalized_at"],
                                  "due_date": inv["due_date"]})
    for currency, share in _refunded_tax(store, at, taxed):
        entry = tax[currency]
        entry["refunded"] += share
    for entry in tax.values():
        entry["net"] = entry["collected"] - entry["refunded"]
    totals: dict[str, int] = {}
    for inv in open_invoices:
        totals[inv["currency"]] = totals.get(inv["currency"], 0) + inv["total"]
    return {"tax": dict(sorted(tax.items())), "open_invoices": open_invoices,
            "open_totals": dict(sorted(totals.items()))}


def _refunded_tax(store: Store, at: int, taxed: dict[str, tuple[int, int]]) -> list[
        tuple[str, int]]:
    """(currency, tax share) of each refund of a charge that paid a taxed invoice."""
    if not taxed:
        return []
    paid_by: dict[str, str] = {}  # payment_intent or charge id -> invoice
    for (data,) in store.query("SELECT data FROM objects WHERE object='invoice_payment' "
                               "AND status='paid'"):
        ip = orjson.loads(data)
        if ip["invoice"] in taxed:
            ref = ip["payment"]["payment_intent"] or ip["payment"]["charge"]
            paid_by[ref] = ip["invoice"]
    out = []
    for (data,) in store.query("SELECT data FROM objects WHERE object='refund' AND created <= ?",
                               (at,)):
        ref = orjson.loads(data)
        invoice = paid_by.get(ref["payment_intent"]) or paid_by.get(ref["charge"])
        if invoice is None or ref["status"] == "failed":
            continue
        invoice_tax, total = taxed[invoice]
        out.append((ref["currency"], (2 * ref["amount"] * invoice_tax + total) // (2 * total)))
    return out
