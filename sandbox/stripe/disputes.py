"""Disputes: chargebacks and inquiries, evidence, and their outcome.

Dispute policy (documented choice): opening withdraws the disputed amount plus
a 15.00 USD dispute fee (``adjustment``/``dispute``; converted when the charge
settled in EUR or GBP); a won dispute reinstates the amount only
(``adjustment``/``dispute_reversal``, fee not returned, as for US accounts
since 2023).  Disputes are resolved 15 days after opening: won if evidence
containing ``winning_evidence`` was submitted, otherwise lost; inquiries
close without moving money.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import render
from .clock import DAY, midnight
from .currencies import from_usd, settle, settlement
from .errors import invalid
from .ledger import new_bt, settled_bt
from .params import get_bool, get_metadata, merge_metadata

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]
DISPUTE_FEE = 1500
DISPUTE_RESOLUTION = 15 * DAY


def open_dispute(e: Engine, ch: Obj, t: int, reason: str, inquiry: bool = False) -> Obj:
    """Open a dispute on ``ch``; a chargeback withdraws funds plus the dispute fee."""
    dp_id = e.ids.new("dp")
    amount = ch["amount_captured"] - ch["amount_refunded"]
    bts: list[Obj] = []
    if not inquiry:
        settled = settlement(ch["currency"], e.settlement_currencies)
        withdrawn, exchange_rate = settle(amount, ch["currency"], settled)
        fee = from_usd(DISPUTE_FEE, settled)
        bts.append(
            new_bt(
                e,
                t,
                amount=-withdrawn,
                fee=fee,
                fee_details=[
                    {
                        "amount": fee,
                        "application": None,
                        "currency": settled,
                        "description": "Dispute fee",
                        "type": "stripe_fee",
                    }
                ],
                available_on=t,
                type="adjustment",
                category="dispute",
                source=dp_id,
                description=f"Chargeback withdrawal for {ch['id']}",
                exchange_rate=exchange_rate,
                currency=settled,
            )
        )
    dp = render.dispute(
        dp_id,
        t,
        amount=amount,
        currency=ch["currency"],
        charge=ch["id"],
        payment_intent=ch["payment_intent"],
        reason=reason,
        brand=ch["payment_method_details"]["card"]["brand"],
        due_by=midnight(t) + 8 * DAY - 1,
        balance_transactions=bts,
        status="warning_needs_response" if inquiry else "needs_response",
        case_type="inquiry" if inquiry else "chargeback",
    )
    e.put(dp)
    ch["disputed"] = True
    e.put(ch)
    e.emit("charge.dispute.created", dp, t)
    if not inquiry:
        e.emit("charge.dispute.funds_withdrawn", dp, t)
    e.schedule(t + DISPUTE_RESOLUTION, "dispute", dp_id)
    return dp


_CLOSED = ("won", "lost", "warning_closed", "prevented")


def update_dispute(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    dp = e.load(id, "dispute")
    if dp["status"] in _CLOSED:
        raise invalid(f"This dispute is already closed ({dp['status']}).", code="charge_disputed")
    previous: dict[str, Any] = {}
    evidence = params.get("evidence")
    if evidence:
        unknown = [k for k in evidence if k not in render.EVIDENCE]
        if unknown:
            raise invalid(
                f"Received unknown parameter: evidence[{unknown[0]}]",
                param=f"evidence[{unknown[0]}]",
                code="parameter_unknown",
            )
        previous["evidence"] = dp["evidence"]
        dp["evidence"] = {**dp["evidence"], **evidence}
    if "metadata" in params:
        previous["metadata"] = dp["metadata"]
        dp["metadata"] = merge_metadata(dp["metadata"], get_metadata(params))
    if get_bool(params, "submit", True) and evidence:
        previous["status"] = dp["status"]
        previous["evidence_details"] = dp["evidence_details"]
        dp["status"] = (
            "warning_under_review" if dp["status"].startswith("warning") else "under_review"
        )
        details = dp["evidence_details"]
        dp["evidence_details"] = {
            **details,
            "has_evidence": True,
            "submission_count": details["submission_count"] + 1,
        }
    e.put(dp)
    if previous:
        e.emit("charge.dispute.updated", dp, t, previous)
    return dp


def close_dispute(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    """Accept the dispute: it is lost (an inquiry is simply closed)."""
    dp = e.load(id, "dispute")
    if dp["status"] in _CLOSED:
        raise invalid(f"This dispute is already closed ({dp['status']}).", code="charge_disputed")
    e.unschedule("dispute", id)
    _close(e, dp, "warning_closed" if dp["status"].startswith("warning") else "lost", t)
    return dp


def resolve_dispute(e: Engine, id: str, due: int) -> None:
    """Scheduled outcome: won only with submitted ``winning_evidence``."""
    dp = e.load(id, "dispute")
    if dp["status"] in _CLOSED:
        return
    if dp["status"].startswith("warning"):
        _close(e, dp, "warning_closed", due)
        return
    won = "winning_evidence" in (dp["evidence"].get("uncategorized_text") or "")
    if won:
        bt = settled_bt(
            e,
            due,
            dp["amount"],
            dp["currency"],
            withdraw=False,
            type="adjustment",
            category="dispute_reversal",
            source=id,
            description=f"Chargeback reversal for {dp['charge']}",
        )
        dp["balance_transactions"] = dp["balance_transactions"] + [bt]
        dp["status"] = "won"
        e.put(dp)
        e.emit("charge.dispute.funds_reinstated", dp, due)
        e.emit("charge.dispute.closed", dp, due)
        return
    _close(e, dp, "lost", due)


def _close(e: Engine, dp: Obj, status: str, t: int) -> None:
    dp["status"] = status
    e.put(dp)
    e.emit("charge.dispute.closed", dp, t)
