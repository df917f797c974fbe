"""Ground truth: exact aggregates the warehouse tests compare against.

Computed straight from the indexed columns (never from re-parsed JSON), for
objects whose ``created`` lies in ``[created_gte, created_lt)``.  Deleted
objects are excluded, as they no longer exist on Stripe.
"""

from __future__ import annotations

from typing import Any

from .store import Store

# object -> {output name: column} of summed columns.
_SUMS: dict[str, dict[str, str]] = {
    "customer": {},
    "product": {},
    "price": {},
    "subscription": {},
    "payment_intent": {"amount": "amount", "amount_received": "amount2"},
    "charge": {"amount": "amount", "amount_refunded": "amount2"},
    "refund": {"amount": "amount"},
    "dispute": {"amount": "amount"},
    "payout": {"amount": "amount"},
    "balance_transaction": {"amount": "amount", "fee": "fee", "net": "net"},
    "invoice": {"total": "amount", "amount_paid": "amount2", "lines": "lines"},
    "invoice_payment": {"amount": "amount"},
}


def ground_truth(
    store: Store, now: int, created_gte: int | None, created_lt: int | None
) -> dict[str, Any]:
    where = ["object = ?", "deleted IS NULL"]
    bounds: list[Any] = []
    if created_gte is not None:
        where.append("created >= ?")
        bounds.append(created_gte)
    if created_lt is not None:
        where.append("created < ?")
        bounds.append(created_lt)
    objects: dict[str, Any] = {}
    for object, sums in _SUMS.items():
        cols = ", ".join(["id"] + [f"COALESCE({c}, 0)" for c in sums.values()])
        rows = store.query(
            f"SELECT {cols} FROM objects WHERE {' AND '.join(where)}", [object, *bounds]
        )
        entry: dict[str, Any] = {"count": len(rows)}
        for i, name in enumerate(sums, start=1):
            entry[name] = sum(r[i] for r in rows)
        entry["ids"] = sorted(r[0] for r in rows)
        objects[object] = entry
    return {"clock": now, "objects": objects}
