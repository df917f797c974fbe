"""Balance transactions and the account balance.

Every money movement is a balance transaction (BT) in USD.  The engine keeps
two running totals (available / pending Σ net) and the set of *unswept* BTs:
available-or-future funds that no automatic payout has paid out yet.  A BT is
swept exactly once (``bt_payout``), which is what makes "nothing is paid out
twice" hold by construction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import render
from .render import loads

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]


def horizon(e: Engine) -> int:
    """Time up to which BT availability is already decided when a BT is created.

    Live operations use the clock (new charges are pending); bulk history uses
    the end of the generated period, so a historic BT is stored directly in
    the state it has at "now" instead of being rewritten later.
    """
    return e.horizon if e.bulk else e.now()


def new_bt(
    e: Engine,
    t: int,
    *,
    amount: int,
    fee: int,
    fee_details: list[Obj],
    available_on: int,
    type: str,
    category: str,
    source: str,
    description: str | None,
    exchange_rate: float | None = None,
    sweepable: bool = True,
) -> Obj:
    """Create a BT; sweepable BTs wait in ``unswept`` for the next automatic payout."""
    status = "available" if available_on <= horizon(e) else "pending"
    bt = render.balance_transaction(
        e.ids.new("txn"),
        t,
        amount=amount,
        fee=fee,
        fee_details=fee_details,
        available_on=available_on,
        status=status,
        type=type,
        reporting_category=category,
        source=source,
        description=description,
        exchange_rate=exchange_rate,
    )
    e.put(bt)
    net = amount - fee
    e.bal[status] += net
    if sweepable:
        e.unswept[bt["id"]] = (available_on, net)
        if not e.bulk:  # bulk generation saves the final set once (save_unswept)
            e.op("INSERT INTO unswept VALUES (?, ?, ?)", (bt["id"], available_on, net))
    return bt


def save_unswept(e: Engine) -> None:
    """Persist the whole unswept set (end of a bulk load)."""
    e.op("DELETE FROM unswept", ())
    e.op(
        "INSERT INTO unswept VALUES (?, ?, ?)",
        [(bt, available_on, net) for bt, (available_on, net) in e.unswept.items()],
    )


def make_available(e: Engine, t: int) -> int:
    """Flip pending BTs whose ``available_on`` has passed; returns how many."""
    rows = e.store.query(
        "SELECT id, data FROM objects WHERE object='balance_transaction' "
        "AND status='pending' AND available_on <= ?",
        (t,),
    )
    # Objects changed earlier in this operation are newer than the store: use those.
    candidates = [loads(data) for id, data in rows if id not in e._dirty]
    candidates += [
        obj
        for obj, _ in e._dirty.values()
        if obj["object"] == "balance_transaction"
        and obj["status"] == "pending"
        and obj["available_on"] <= t
    ]
    for bt in candidates:
        bt["status"] = "available"
        e.bal["pending"] -= bt["net"]
        e.bal["available"] += bt["net"]
        e.put(bt)
    return len(candidates)


def balance_object(e: Engine) -> Obj:
    """``GET /v1/balance``: Σ net of available and of pending BTs, in USD."""

    def amounts(value: int) -> list[Obj]:
        return [{"amount": value, "currency": "usd", "source_types": {"card": value}}]

    return {
        "object": "balance",
        "available": amounts(e.bal["available"]),
        "connect_reserved": [{"amount": 0, "currency": "usd"}],
        "livemode": False,
        "pending": amounts(e.bal["pending"]),
        "refund_and_dispute_prefunding": {
            "available": [{"amount": 0, "currency": "usd"}],
            "pending": [{"amount": 0, "currency": "usd"}],
        },
    }
