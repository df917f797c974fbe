"""Adjustments to a line's schedule from their effective date: credit notes, refunds, disputes,
voids, uncollectible invoices, and the reversals of credit notes and write-offs.

Stripe's methodology, from docs.stripe.com/revenue-recognition/examples (Refund, Partial refund,
Void, Uncollectible, Dispute, Credit note without line items) and .../examples/credit-notes:

* A credit of ``C`` on a line whose net amount is ``N``, effective on day ``E``: "Recognized
  revenue is offset by contra revenue proportionally" and "Deferred revenue ... is reduced
  proportionally".  With ``R`` recognised before ``E`` and ``D = N - R`` still deferred, ``C`` is
  split into ``c_rec + c_def`` in the proportion ``R : D`` (largest remainder, ties to ``c_rec``);
  ``c_rec`` is booked on ``E`` as contra revenue of the adjustment's kind (refunds, credit notes,
  disputes, voids, bad debt) and the remaining schedule from ``E`` carries ``D - c_def``.  Stripe's
  partial refund of 9.00 on a 90.00 three-month plan after January gives 3.10 of refunds and
  5.90 less deferred; the tests replay it.  A void, an uncollectible invoice or a lost dispute
  credits everything still on the line (``amount=None``).
* "a credit note without line items doesn't match with a specific invoice line item. Rather, the
  amount of the credit note is divided proportionally among the invoice line items"
  (:func:`spread_credit`); a credit note line item adjusts its own invoice line.
* Voiding a credit note "reverses the credit notes account ... recognizes the reduced revenue in
  May [the void month] ... reinstates the reduced deferred revenue" (kind ``credit_note_void``).
* An uncollectible invoice that is later paid: "the bad debt account is cleared out using a part
  of the received cash amount. The remaining cash amount goes to the recoverables account"
  (kind ``recovery``): the bad debt is reversed and the rest is a gain, outside revenue.
* A won dispute changes neither revenue nor deferred revenue ("Cash is offset by an increase in
  the recoverables account"), so it is no adjustment here.

A credit takes effect at the start of its UTC day: day ``E`` itself is recognised on the adjusted
schedule.  An effective date before the line was booked is moved to the booked day.

Closed months: Stripe's accounting period control exists so that one can "make adjustments to
past data without creating corrections in the current period" only by reopening a period; with
periods closed, corrections land in the current period.  :func:`first_open_day` is that rule:
an event dated in a closed month takes effect on the first day of the first open month after it.
Apply it once, when an event is first recorded, and keep the result: re-deriving it later with
more months closed would move history.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Iterable, NamedTuple, Sequence

import numpy as np

from .schedules import (NO_DAY, InvoiceLine, RevenueError, curve_cum, day_number, month_of,
                        month_start)

CREDIT_KINDS = ("credit_note", "refund", "dispute", "void", "uncollectible")
REVERSAL_KINDS = {"credit_note_void": "credit_note", "recovery": "uncollectible"}
KINDS = ("recognition",) + CREDIT_KINDS          # what a schedule entry can be (journal kinds)
KIND_CODE = {kind: i for i, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Adjustment:
    """A change to one invoice line's revenue, effective at ``effective_at``.

    ``amount`` is the revenue credited on the line in its currency's minor units (positive
    reduces a positive line); ``None`` credits everything still on it (void, uncollectible, lost
    dispute) or, for a reversal, reverses all of what ``reverses`` did.  ``reverses`` names the
    adjustment a ``credit_note_void`` or ``recovery`` undoes.
    """

    id: str
    line_id: str
    kind: str
    effective_at: int | datetime | date
    amount: int | None = None
    reverses: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in CREDIT_KINDS and self.kind not in REVERSAL_KINDS:
            raise RevenueError(f"adjustment {self.id}: unknown kind {self.kind!r}")
        if self.kind in REVERSAL_KINDS and not self.reverses:
            raise RevenueError(f"adjustment {self.id}: {self.kind} needs `reverses`")

    def in_open_month(self, closed_months: Iterable[str | date]) -> Adjustment:
        """This adjustment, dated on the first open day if its month is closed."""
        day = first_open_day(day_number(self.effective_at), closed_months)
        return replace(self, effective_at=date.fromordinal(date(1970, 1, 1).toordinal() + day))


def first_open_day(day: int, closed_months: Iterable[str | date]) -> int:
    """``day`` if its month is open, else the first day of the first open month after it."""
    closed = {_month_index(m) for m in closed_months}
    month = int(month_of(day))
    if month not in closed:
        return day
    while month in closed:
        month += 1
    return int(month_start(month))


def _month_index(value: str | date) -> int:
    if isinstance(value, str):
        return int(np.datetime64(value[:7], "M").astype("int64"))
    return int(month_of(day_number(value)))


def allocate(total: int, weights: Sequence[int], quantum: int = 1) -> list[int]:
    """Split ``total`` in proportion to ``weights``, in multiples of ``quantum``, exactly.

    Each part is ``floor(total * w / sum(w))`` (in quanta); the units left over go one each to
    the largest fractional remainders, ties to the earlier weight.  Works for any signs as long
    as the weights do not sum to zero.
    """
    units, rest = divmod(total, quantum)
    if rest:
        raise RevenueError(f"allocate: {total} is not a multiple of {quantum}")
    den = sum(weights)
    if den == 0:
        raise RevenueError("allocate: weights sum to zero")
    sign = -1 if den < 0 else 1
    parts, fracs = [], []
    for w in weights:
        q, r = divmod(units * w * sign, den * sign)
        parts.append(q)
        fracs.append(r)
    for i in sorted(range(len(weights)), key=lambda i: (-fracs[i], i))[:units - sum(parts)]:
        parts[i] += 1
    return [p * quantum for p in parts]


def spread_credit(event_id: str, kind: str, amount: int | None, lines: Sequence[InvoiceLine],
                  effective_at, quantum: int = 1) -> list[Adjustment]:
    """One invoice-level credit divided over the invoice's lines in proportion to their amounts
    (a credit note without line items, a refund, a dispute); ``None`` credits every line fully."""
    if amount is None:
        return [Adjustment(f"{event_id}:{line.id}", line.id, kind, effective_at)
                for line in lines]
    if not lines:
        raise RevenueError(f"{kind} {event_id}: the invoice has no lines to credit")
    parts = allocate(amount, [line.amount for line in lines], quantum)
    return [Adjustment(f"{event_id}:{line.id}", line.id, kind, effective_at, part)
            for line, part in zip(lines, parts) if part]


# --------------------------------------------------------------------------- applying them

class Curve(NamedTuple):
    method: int
    start: int
    n: int
    amount: int
    floor: int
    quantum: int

    def cum(self, x: int) -> int:
        return int(curve_cum(self.method, self.start, self.n, self.amount, self.floor,
                             self.quantum, x))

    def remaining_from(self, day: int) -> int:
        return self.amount - self.cum(day - 1)

    def rebased(self, day: int, amount: int) -> Curve:
        """The not yet recognised part of this curve's window from ``day``, carrying ``amount``."""
        if day <= self.floor:                      # nothing recognised yet
            return self._replace(amount=amount, floor=max(day, self.floor))
        if self.method == 0:
            start = max(self.start, day)
            n = self.start + self.n - start
        else:
            passed = int(curve_cum(1, self.start, self.n, self.n, self.floor, 1, day - 1))
            n = self.n - passed
            start = self.start if passed == 0 else int(month_start(month_of(self.start) + passed))
        if n <= 0:
            return self._replace(start=day, n=1, amount=amount, floor=day)
        return Curve(self.method, start, n, amount, day, self.quantum)


class Segment(NamedTuple):
    """A piece of schedule: ``sign`` x the curve's increments on days >= ``frm``."""

    line: int
    kind: int
    booked: int
    curve: Curve
    frm: int
    sign: int


@dataclass
class Applied:
    """What an adjustment did: ``credit`` (revenue taken off the line, negative when given back),
    ``contra`` (the part booked at once against revenue already recognised) and ``gain`` (a
    recovery beyond the bad debt, booked outside revenue)."""

    id: str
    line: int
    kind: str
    day: int
    credit: int
    contra: int
    gain: int = 0


class LineState:
    """One line's live curve (its future) and net amount while adjustments are applied."""

    def __init__(self, index: int, billing: Curve, billed: int) -> None:
        self.index = index
        self.billing = billing
        self.live = billing
        self.net = billed
        self.reversed: set[str] = set()             # adjustments already undone


def apply(adj: Adjustment, state: LineState, prior: dict[str, Applied],
          out: list[Segment]) -> Applied:
    """Apply one adjustment (already validated against its line) and emit its segments."""
    day = max(day_number(adj.effective_at), state.billing.floor)
    q = state.billing.quantum
    if adj.kind == "recovery":
        return _recovery(adj, state, prior, day, out)
    if adj.kind in REVERSAL_KINDS:
        undone = _reversed(adj, state, prior)
        credit = -undone.credit if adj.amount is None else -adj.amount
    else:
        credit = state.net if adj.amount is None else adj.amount
        if credit and (np.sign(credit) != np.sign(state.net) or abs(credit) > abs(state.net)):
            raise RevenueError(f"adjustment {adj.id}: credits {credit} but line has "
                               f"{state.net} left")
    if not credit:
        return Applied(adj.id, state.index, adj.kind, day, 0, 0)
    rem = state.live.remaining_from(day)
    rec = state.net - rem
    if state.net:
        if rec and rem and np.sign(rec) != np.sign(rem):
            raise RevenueError(f"adjustment {adj.id}: line recognised {rec} with {rem} "
                               f"deferred; cannot split proportionally")
        c_rec, c_def = allocate(credit, [rec, rem], q)
    else:                                          # fully credited before: use the original shape
        base_rem = state.billing.remaining_from(day)
        c_rec, c_def = allocate(credit, [state.billing.amount - base_rem, base_rem], q)
    kind = REVERSAL_KINDS.get(adj.kind, adj.kind)
    if rem or c_def:
        out.append(Segment(state.index, 0, day, state.live, day, -1))
        state.live = state.live.rebased(day, rem - c_def)
        out.append(Segment(state.index, 0, day, state.live, NO_DAY, 1))
    contra = -c_rec
    if adj.kind in REVERSAL_KINDS:                 # give back the contra first, the rest is revenue
        contra = _toward_zero(-c_rec, -undone.contra)
        _lump(out, state, day, "recognition", -c_rec - contra)
    _lump(out, state, day, kind, contra)
    state.net -= credit
    return Applied(adj.id, state.index, adj.kind, day, credit, contra)


def _recovery(adj: Adjustment, state: LineState, prior: dict[str, Applied], day: int,
              out: list[Segment]) -> Applied:
    written_off = _reversed(adj, state, prior)
    paid = written_off.credit if adj.amount is None else adj.amount
    back = _toward_zero(paid, -written_off.contra)
    _lump(out, state, day, "uncollectible", back)
    state.net += back
    return Applied(adj.id, state.index, adj.kind, day, -back, back, gain=paid - back)


def _reversed(adj: Adjustment, state: LineState, prior: dict[str, Applied]) -> Applied:
    undone = prior.get(adj.reverses or "")
    if undone is None or undone.line != state.index:
        raise RevenueError(f"adjustment {adj.id}: reverses {adj.reverses!r}, which is not an "
                           f"applied adjustment of line {adj.line_id}")
    if undone.kind != REVERSAL_KINDS[adj.kind]:
        raise RevenueError(f"adjustment {adj.id}: a {adj.kind} cannot reverse a {undone.kind}")
    if undone.id in state.reversed:
        raise RevenueError(f"adjustment {adj.id}: {undone.id} was already reversed")
    state.reversed.add(undone.id)
    return undone


def _toward_zero(value: int, limit: int) -> int:
    """``value`` capped at ``limit`` in magnitude (both taken as having ``limit``'s sign)."""
    return int(np.sign(limit)) * min(abs(value), abs(limit))


def _lump(out: list[Segment], state: LineState, day: int, kind: str, amount: int) -> None:
    if amount:
        curve = Curve(0, day, 1, amount, day, state.billing.quantum)
        out.append(Segment(state.index, KIND_CODE[kind], day, curve, NO_DAY, 1))
