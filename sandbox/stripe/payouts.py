"""Payouts: the daily automatic payout run, manual payouts and their lifecycle.

Automatic payouts run daily at 02:00 UTC (funds become available at 00:00)
and sweep every *unswept* BT whose ``available_on`` has passed (charges,
refunds, dispute adjustments, earlier ``payout_failure`` returns and
manual-payout debits alike), so Σ net of a
payout's BTs, its own ``payout`` BT included, is zero.  A manual payout
debits the balance at once; its BT is netted by the next automatic payout,
which is why funds are never paid out both ways.  No payout is created when
the sweep is ≤ 0 (the funds wait for the next day).

Lifecycle: ``pending`` → ``in_transit`` (+1 h) → ``paid`` at
``arrival_date`` (created + 2 days); a seeded fraction fails, half of them
after first showing ``paid`` (one day later).  A failure creates a
``payout_failure`` BT (``payout_reversal``) that the next automatic payout
pays out again.  Automatic payouts have ``reconciliation_status``
``in_progress`` until they settle (paid or failed), then ``completed`` with a
``payout.reconciliation_completed`` event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import render
from .clock import DAY, midnight
from .errors import StripeError, invalid
from .currencies import from_usd
from .ledger import balance, make_available, new_bt
from .params import get_enum, get_int, get_metadata, get_str, merge_metadata

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]
IN_TRANSIT_AFTER = 3600
# The automatic payout is created at 02:00 UTC and sweeps what is available by
# then; between 00:00 and 02:00 available funds can also be paid out manually.
PAYOUT_CUTOFF = 2 * 3600
FAILURES = {
    "account_closed": "The bank account has been closed.",
    "no_account": "The bank account details on file are probably incorrect. No bank account "
    "could be located with those details.",
    "could_not_process": "The bank could not process this payout.",
    "invalid_account_number": "The bank account number appears to be invalid. Please check "
    "the account number and try again.",
}
_FAILURE_CODES = tuple(FAILURES)


def bank_account(e: Engine, currency: str = "usd") -> str:
    """The external account payouts in ``currency`` go to (one per settlement currency)."""
    offset = e.settlement_currencies.index(currency) if currency != "usd" else 0
    return render.Ids(e.seed + 424242 + offset).new("ba")


def bank_accounts(e: Engine) -> dict[str, str]:
    return {cur: bank_account(e, cur) for cur in e.settlement_currencies}


def daily_run(e: Engine, ref: str, due: int) -> None:
    """00:00 UTC: pending funds become available; the payout run follows at the cut-off."""
    if not e.bulk:
        make_available(e, due)
    e.schedule(due + PAYOUT_CUTOFF, "sweep", "")
    e.schedule(due + DAY, "daily", "")


def sweep_run(e: Engine, ref: str, due: int) -> None:
    sweep(e, due)


def sweep(e: Engine, t: int) -> list[Obj]:
    """Create one automatic payout per settlement currency of every available unswept BT
    in that currency (if Σ net > 0)."""
    due: dict[str, list[tuple[str, int]]] = {}
    for bt, (available_on, net, currency) in e.unswept.items():
        if available_on <= t:
            due.setdefault(currency, []).append((bt, net))
    return [po for currency, swept in sorted(due.items())
            if (po := _sweep_currency(e, t, currency, swept)) is not None]


def _sweep_currency(e: Engine, t: int, currency: str, swept: list[tuple[str, int]]) -> Obj | None:
    total = sum(net for _, net in swept)
    if total <= 0:
        return None
    po_id = e.ids.new("po")
    bt = new_bt(
        e,
        t,
        amount=-total,
        fee=0,
        fee_details=[],
        available_on=t,
        type="payout",
        category="payout",
        source=po_id,
        description="STRIPE PAYOUT",
        sweepable=False,
        currency=currency,
    )
    po = render.payout(
        po_id,
        t,
        amount=total,
        arrival_date=midnight(t) + 2 * DAY,
        automatic=True,
        balance_transaction=bt["id"],
        destination=bank_account(e, currency),
        description="STRIPE PAYOUT",
        metadata={},
        method="standard",
        statement_descriptor=None,
        currency=currency,
    )
    for bt_id, _ in swept:
        del e.unswept[bt_id]
    e.op(
        "INSERT INTO bt_payout VALUES (?, ?)",
        [(bt_id, po_id) for bt_id, _ in swept] + [(bt["id"], po_id)],
    )
    if not e.bulk:
        e.op("DELETE FROM unswept WHERE bt = ?", [(bt_id,) for bt_id, _ in swept])
    e.put(po)
    e.emit("payout.created", po, t)
    e.schedule(t + IN_TRANSIT_AFTER, "payout", po_id)
    return po


def payout_step(e: Engine, id: str, due: int) -> None:
    """Advance a payout one lifecycle step (scheduled)."""
    po = e.load(id, "payout")
    status = po["status"]
    if status == "pending":
        _set(e, po, due, status="in_transit")
        e.schedule(max(po["arrival_date"], due), "payout", id)
    elif status == "in_transit":
        draw = e.rng.random()
        if draw < e.payout_failure_rate / 2:
            _fail(e, po, due)
            return
        _set(e, po, due, status="paid")
        e.emit("payout.paid", po, due)
        _reconciled(e, po, due)
        if draw < e.payout_failure_rate:
            e.schedule(due + DAY, "payout", id)
    elif status == "paid":
        _fail(e, po, due)


def _set(e: Engine, po: Obj, t: int, **changes: Any) -> None:
    previous = {k: po[k] for k in changes}
    po.update(changes)
    e.put(po)
    e.emit("payout.updated", po, t, previous)


def _reconciled(e: Engine, po: Obj, t: int) -> None:
    if po["reconciliation_status"] == "in_progress":
        po["reconciliation_status"] = "completed"
        e.put(po)
        e.emit("payout.reconciliation_completed", po, t)


def _fail(e: Engine, po: Obj, t: int) -> None:
    code = _FAILURE_CODES[e.rng.randrange(len(_FAILURE_CODES))]
    bt = new_bt(
        e,
        t,
        amount=po["amount"],
        fee=0,
        fee_details=[],
        available_on=t,
        type="payout_failure",
        category="payout_reversal",
        source=po["id"],
        description="REFUND FOR PAYOUT (STRIPE PAYOUT)",
        currency=po["currency"],
    )
    po.update(
        failure_balance_transaction=bt["id"], failure_code=code, failure_message=FAILURES[code]
    )
    _set(e, po, t, status="failed")
    e.emit("payout.failed", po, t)
    _reconciled(e, po, t)


def create_payout(e: Engine, params: dict[str, Any], t: int) -> Obj:
    amount = get_int(params, "amount", required=True, minimum=1) or 0
    currency = (get_str(params, "currency", required=True) or "").lower()
    if currency not in e.settlement_currencies:
        raise invalid(
            f"Sorry, you don't have any external accounts in that currency ({currency}).",
            param="currency",
        )
    method = get_enum(params, "method", ("standard", "instant"), "standard") or "standard"
    fee = instant_fee(amount, currency) if method == "instant" else 0
    if amount + fee > balance(e, currency)["available"]:
        raise StripeError(
            400,
            "invalid_request_error",
            "You have insufficient funds in your Stripe account for this transfer. "
            "Your card balance is too low.  You can use the /v1/balance endpoint "
            "to view your Stripe balance (for more details, see "
            "stripe.com/docs/api#balance).",
            code="balance_insufficient",
        )
    return new_manual_payout(e, t, amount, currency, method, fee,
                             description=get_str(params, "description"),
                             metadata=get_metadata(params) or {},
                             statement_descriptor=get_str(params, "statement_descriptor"))


def new_manual_payout(e: Engine, t: int, amount: int, currency: str, method: str, fee: int,
                      description: str | None = None, metadata: dict[str, str] | None = None,
                      statement_descriptor: str | None = None) -> Obj:
    """A manual payout (validated by the caller): its BT debits the balance at once."""
    po_id = e.ids.new("po")
    bt = new_bt(
        e,
        t,
        amount=-amount,
        fee=fee,
        fee_details=[{"amount": fee, "application": None, "currency": currency,
                      "description": "Instant Payout fee", "type": "stripe_fee"}] if fee else [],
        available_on=t,
        type="payout",
        category="payout",
        source=po_id,
        description=description or "STRIPE PAYOUT",
        currency=currency,
    )
    arrival = t if method == "instant" else midnight(t) + 2 * DAY
    po = render.payout(
        po_id,
        t,
        amount=amount,
        arrival_date=arrival,
        automatic=False,
        balance_transaction=bt["id"],
        destination=bank_account(e, currency),
        description=description,
        metadata=metadata or {},
        method=method,
        statement_descriptor=statement_descriptor,
        currency=currency,
    )
    e.put(po)
    e.emit("payout.created", po, t)
    e.schedule(t + IN_TRANSIT_AFTER, "payout", po_id)
    return po


def instant_fee(amount: int, currency: str) -> int:
    """Instant Payout fee on the payout's own BT: 1.5% of the amount, at least 0.50 USD
    (Stripe's US pricing page; converted for other currencies)."""
    return max((2 * amount * 15 + 1000) // 2000, from_usd(50, currency))


def update_payout(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    po = e.load(id, "payout")
    if "metadata" in params:
        _set(e, po, t, metadata=merge_metadata(po["metadata"], get_metadata(params)))
    return po


def cancel_payout(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    po = e.load(id, "payout")
    if po["automatic"]:
        raise invalid("Automatic payouts cannot be canceled.", param="id")
    if po["status"] != "pending":
        raise invalid(
            f"Payouts can only be canceled while they are pending. This payout has "
            f"status {po['status']}.",
            param="id",
        )
    e.unschedule("payout", id)
    new_bt(
        e,
        t,
        amount=po["amount"],
        fee=0,
        fee_details=[],
        available_on=t,
        type="payout_cancel",
        category="payout_reversal",
        source=id,
        description="PAYOUT CANCELLATION",
        currency=po["currency"],
    )
    _set(e, po, t, status="canceled")
    e.emit("payout.canceled", po, t)
    return po


def typed_bt(e: Engine, t: int, type: str, category: str, amount: int, currency: str) -> Obj:
    """One payout-related BT for the control call (``payout``, ``payout_cancel``,
    ``payout_failure``, ``payout_minimum_balance_hold``/``_release``)."""
    if type.startswith("payout_minimum_balance"):
        return new_bt(e, t, amount=amount, fee=0, fee_details=[], available_on=t, type=type,
                      category=category, source=None, description=type.replace("_", " "),
                      currency=currency)
    po = new_manual_payout(e, t, abs(amount), currency, "standard", 0)
    if type == "payout":
        return e.load(po["balance_transaction"], "balance_transaction")
    if type == "payout_cancel":
        cancel_payout(e, po["id"], {}, t)
    else:
        e.unschedule("payout", po["id"])
        _fail(e, po, t)
    bt_id = po["failure_balance_transaction"] if type == "payout_failure" else None
    if bt_id:
        return e.load(bt_id, "balance_transaction")
    return next(o for o, _ in e._dirty.values() if o["object"] == "balance_transaction"
                and o["type"] == "payout_cancel" and o["source"] == po["id"])
