"""Balance transactions and the account balance.

Every money movement is a balance transaction (BT) in a settlement currency
(USD only in the default profile; USD, EUR and GBP with ``--profile
accrual``).  The engine keeps two running totals per currency (available /
pending Σ net) and the set of *unswept* BTs:
available-or-future funds that no automatic payout has paid out yet.  A BT is
swept exactly once (``bt_payout``), which is what makes "nothing is paid out
twice" hold by construction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import render
from .currencies import settle, settlement
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
    currency: str = "usd",
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
        currency=currency,
    )
    e.put(bt)
    net = amount - fee
    balance(e, currency)[status] += net
    if sweepable:
        e.unswept[bt["id"]] = (available_on, net, currency)
        if not e.bulk:  # bulk generation saves the final set once (save_unswept)
            e.op(_INSERT_UNSWEPT, (bt["id"], available_on, net, currency))
    return bt


def settled_bt(
    e: Engine,
    t: int,
    amount: int,
    currency: str,
    *,
    withdraw: bool,
    type: str,
    category: str,
    source: str,
    description: str,
) -> Obj:
    """A fee-free BT available at ``t`` that moves ``amount`` of presentment ``currency``
    into (or, ``withdraw``, out of) the balance, in the settlement currency the account
    uses for it (with ``exchange_rate`` when converted)."""
    settled = settlement(currency, e.settlement_currencies)
    moved, exchange_rate = settle(amount, currency, settled)
    return new_bt(
        e,
        t,
        amount=-moved if withdraw else moved,
        fee=0,
        fee_details=[],
        available_on=t,
        type=type,
        category=category,
        source=source,
        description=description,
        exchange_rate=exchange_rate,
        currency=settled,
    )


_INSERT_UNSWEPT = "INSERT INTO unswept (bt, available_on, net, currency) VALUES (?, ?, ?, ?)"


def balance(e: Engine, currency: str) -> dict[str, int]:
    """The running available / pending totals of ``currency`` (created on first use)."""
    totals = e.bal.get(currency)
    if totals is None:
        totals = e.bal[currency] = {"available": 0, "pending": 0}
    return totals


def available_at(e: Engine, currency: str, t: int) -> int:
    """Available balance of ``currency`` at ``t``: the unswept BTs available by then (swept
    BTs and their payout's own BT net to zero).  Correct in bulk mode too, where BT
    statuses (and so ``balance``) are already those of the end of the history."""
    return sum(net for available_on, net, cur in e.unswept.values()
               if cur == currency and available_on <= t)


def save_unswept(e: Engine) -> None:
    """Persist the whole unswept set (end of a bulk load)."""
    e.op("DELETE FROM unswept", ())
    e.op(_INSERT_UNSWEPT, [(bt, *entry) for bt, entry in e.unswept.items()])


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
        totals = balance(e, bt["currency"])
        totals["pending"] -= bt["net"]
        totals["available"] += bt["net"]
        e.put(bt)
    return len(candidates)


def balance_object(e: Engine) -> Obj:
    """``GET /v1/balance``: Σ net of available and of pending BTs, per settlement currency."""
    currencies = sorted(set(e.settlement_currencies) | set(e.bal))

    def amounts(state: str) -> list[Obj]:
        return [{"amount": balance(e, c)[state], "currency": c,
                 "source_types": {"card": balance(e, c)[state]}} for c in currencies]

    zero = [{"amount": 0, "currency": c} for c in currencies]
    return {
        "object": "balance",
        "available": amounts("available"),
        "connect_reserved": zero,
        "livemode": False,
        "pending": amounts("pending"),
        "refund_and_dispute_prefunding": {"available": zero, "pending": zero},
    }
