"""The revenue ledger: every invoice line's schedule and every adjustment's, in one table.

A line's schedule is a set of *segments*, each a curve (``schedules.curve_cum``) over a window
of days, booked on the day of the event that made it:

* the line itself (kind ``recognition``, booked on the line's booked day);
* per adjustment (booked on its effective day): the contra revenue it books at once against
  what was already recognised (kind ``credit_note``, ``refund``, ...), minus the line's old
  future schedule and plus the new one (kind ``recognition``).

So the revenue *booked* in a month (Stripe's waterfall rows) is the sum of that month's events'
segments, and the revenue *recognised* in a month is the sum of every segment's increments that
fall in it.  The line's original row is never rewritten; an adjustment only adds rows, as in
Stripe's waterfall where a voided invoice keeps its row and the void month gets "net -31 USD"
(docs.stripe.com/revenue-recognition/reports/waterfall).

The per-month table (:meth:`RevenueLedger.months`) is built with numpy in one pass, so that a
million lines are scheduled in seconds; :meth:`RevenueLedger.line` gives one line's daily view.
Bad input never takes good input down: a line or adjustment that cannot be scheduled is left
out and recorded in :attr:`RevenueLedger.problems`, naming the object and the field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Iterable

import numpy as np
import pandas as pd

from domain.money import MoneyError, normalize_currency

from .adjustments import KINDS, Adjustment, Applied, Curve, LineState, Segment, apply
from .schedules import (NO_DAY, InvoiceLine, Method, RevenueError, at_once, check_amounts,
                        curve_cum, curve_last_day, day_date, day_number, month_of, month_start,
                        quantum, windows)

LINE_COLUMNS = ("id", "invoice_id", "currency", "amount", "period_start", "period_end",
                "booked_at", "revenue_key", "customer_id", "subscription_id")
SEGMENT_FIELDS = ("line", "kind", "booked", "method", "start", "n", "amount", "floor",
                  "quantum", "frm", "sign")


@dataclass(frozen=True)
class Problem:
    object_id: str
    message: str


def lines_frame(lines: Iterable[InvoiceLine]) -> pd.DataFrame:
    """Invoice lines as the frame :func:`build_ledger` takes (times as UTC day numbers)."""
    rows = [(line.id, line.invoice_id, line.currency, int(line.amount),
             day_number(line.period_start), day_number(line.period_end),
             day_number(line.booked_at), line.revenue_key, line.customer_id,
             line.subscription_id) for line in lines]
    frame = pd.DataFrame(rows, columns=list(LINE_COLUMNS))
    return frame.astype({"amount": "int64", "period_start": "int64", "period_end": "int64",
                         "booked_at": "int64"})


def build_ledger(lines: pd.DataFrame | Iterable[InvoiceLine],
                 adjustments: Iterable[Adjustment] = (), method: Method = Method.DAY,
                 time_unit: str = "day") -> RevenueLedger:
    """Schedule every line and apply every adjustment in effective order.

    ``lines`` is a frame with :data:`LINE_COLUMNS` (``customer_id``/``subscription_id``
    optional; ``period_start``, ``period_end`` and ``booked_at`` in UTC day numbers, or Unix
    seconds with ``time_unit="s"``) or an iterable of :class:`InvoiceLine`.
    """
    if time_unit not in ("day", "s"):
        raise RevenueError(f"time_unit must be 'day' or 's', not {time_unit!r}")
    frame = lines if isinstance(lines, pd.DataFrame) else lines_frame(lines)
    problems: list[Problem] = []
    frame = _valid_lines(frame, time_unit, problems)
    code, start, n, floor = windows(frame["period_start"].to_numpy(),
                                    frame["period_end"].to_numpy(),
                                    frame["booked_at"].to_numpy(), method)
    quanta = frame["quantum"].to_numpy()
    amount = frame["amount"].to_numpy()
    bad = check_amounts(amount, n, quanta, frame["id"].to_numpy())
    problems.extend(Problem(line_id, message) for line_id, message in bad)
    keep = ~np.isin(frame["id"].to_numpy(), [line_id for line_id, _ in bad])
    frame = frame[keep].reset_index(drop=True)
    code, start, n, floor, quanta, amount = (a[keep] for a in (code, start, n, floor, quanta,
                                                               amount))
    frame["posts_to"] = np.where(at_once(frame["period_start"], frame["period_end"]),
                                 "revenue", "deferred_revenue")
    segments = {
        "line": np.arange(len(frame), dtype="int64"), "kind": np.zeros(len(frame), "int8"),
        "booked": floor, "method": code, "start": start, "n": n, "amount": amount,
        "floor": floor, "quantum": quanta, "frm": np.full(len(frame), NO_DAY, "int64"),
        "sign": np.ones(len(frame), "int64")}
    extra, applied = _apply_all(frame, segments, adjustments, problems)
    if extra:
        more = np.array([(s.line, s.kind, s.booked, *s.curve, s.frm, s.sign) for s in extra],
                        dtype="int64")
        for i, name in enumerate(SEGMENT_FIELDS):
            segments[name] = np.concatenate([segments[name], more[:, i]])
    return RevenueLedger(frame, segments, applied, problems, method)


def _valid_lines(frame: pd.DataFrame, time_unit: str, problems: list[Problem]) -> pd.DataFrame:
    frame = frame.copy()
    for column in ("customer_id", "subscription_id"):
        if column not in frame:
            frame[column] = None
    if time_unit == "s":
        for column in ("period_start", "period_end", "booked_at"):
            frame[column] = frame[column].to_numpy(dtype="int64") // 86400
    currencies = {}
    for code in frame["currency"].unique():
        try:
            currencies[code] = normalize_currency(code)
        except MoneyError as exc:
            currencies[code] = None
            for line_id in frame.loc[frame["currency"] == code, "id"]:
                problems.append(Problem(line_id, f"invoice line {line_id}: currency: {exc}"))
    frame["currency"] = frame["currency"].map(currencies)
    backwards = frame["period_end"] < frame["period_start"]
    for line_id in frame.loc[backwards, "id"]:
        problems.append(Problem(line_id, f"invoice line {line_id}: period.end is before "
                                         f"period.start"))
    duplicate = frame["id"].duplicated()
    for line_id in frame.loc[duplicate, "id"]:
        problems.append(Problem(line_id, f"invoice line {line_id}: id: listed twice; the first "
                                         f"is kept"))
    frame = frame[frame["currency"].notna() & ~backwards & ~duplicate].reset_index(drop=True)
    frame["quantum"] = frame["currency"].map({c: quantum(c) for c in frame["currency"].unique()})
    return frame.astype({"quantum": "int64", "amount": "int64"})


def _apply_all(frame: pd.DataFrame, seg: dict, adjustments: Iterable[Adjustment],
               problems: list[Problem]) -> tuple[list[Segment], dict[str, Applied]]:
    index = {line_id: i for i, line_id in enumerate(frame["id"])}
    ordered = sorted(adjustments, key=lambda a: (day_number(a.effective_at), a.id))
    states: dict[int, LineState] = {}
    applied: dict[str, Applied] = {}
    out: list[Segment] = []
    for adj in ordered:
        i = index.get(adj.line_id)
        if i is None:
            problems.append(Problem(adj.id, f"adjustment {adj.id}: line_id: no schedulable "
                                            f"invoice line {adj.line_id!r}"))
            continue
        if adj.id in applied:
            problems.append(Problem(adj.id, f"adjustment {adj.id}: id: listed twice"))
            continue
        if i not in states:
            curve = Curve(*(int(seg[k][i]) for k in ("method", "start", "n", "amount", "floor",
                                                     "quantum")))
            states[i] = LineState(i, curve, curve.amount)
        state, size = states[i], len(out)
        try:
            applied[adj.id] = apply(adj, state, applied, out)
        except RevenueError as exc:
            del out[size:]
            problems.append(Problem(adj.id, str(exc)))
    return out, applied


@dataclass
class RevenueLedger:
    lines: pd.DataFrame
    segments: dict[str, np.ndarray]
    applied: dict[str, Applied]
    problems: list[Problem]
    method: Method

    def cum(self, x, which=slice(None)) -> np.ndarray:
        """Signed amount each segment (or those selected) recognises through day ``x``."""
        return segment_cum({k: v[which] for k, v in self.segments.items()}, x)

    def totals(self, which=slice(None)) -> np.ndarray:
        """What each segment recognises in all (its booked amount)."""
        return self.cum(self.last_days()[which], which)

    def first_days(self) -> np.ndarray:
        s = self.segments
        return np.maximum(np.maximum(s["start"], s["floor"]), s["frm"])

    def last_days(self) -> np.ndarray:
        s = self.segments
        return np.maximum(curve_last_day(s["method"], s["start"], s["n"]), self.first_days())

    @cached_property
    def months(self) -> pd.DataFrame:
        """Per segment and calendar month: the amount recognised (columns ``line``, ``kind``,
        ``booked`` (day), ``booked_month``, ``month``, ``amount``; months as indexes since
        1970-01, days as day numbers)."""
        first, last = self.first_days(), self.last_days()
        m0, m1 = month_of(first), month_of(last)
        count = m1 - m0 + 1
        seg = np.repeat(np.arange(len(first)), count)
        offset = np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count)
        month = m0[seg] + offset
        s = {k: v[seg] for k, v in self.segments.items()}
        first_day = month_start(month)
        upto = np.minimum(month_start(month + 1) - 1, last[seg])
        amount = segment_cum(s, upto) - segment_cum(s, first_day - 1)
        table = pd.DataFrame({"line": s["line"], "kind": s["kind"], "booked": s["booked"],
                              "booked_month": month_of(s["booked"]), "month": month,
                              "amount": amount})
        return table[table["amount"] != 0].reset_index(drop=True)

    @cached_property
    def totals_by_month(self) -> pd.DataFrame:
        """:attr:`months` summed per ``currency``, ``kind``, ``booked_month`` and ``month``
        (what the waterfall and the deferred balances read; small)."""
        codes, currencies = pd.factorize(self.lines["currency"])
        rows = self.months
        out = rows.groupby([codes[rows["line"].to_numpy()], rows["kind"], rows["booked_month"],
                            rows["month"]])["amount"].sum()
        out.index.names = ["currency", "kind", "booked_month", "month"]
        out = out[out != 0].reset_index()
        out["currency"] = np.asarray(currencies, dtype=object)[out["currency"].to_numpy()]
        return out

    def credited(self, as_of: int) -> np.ndarray:
        """Per line: revenue credited by adjustments effective on or before day ``as_of``."""
        out = np.zeros(len(self.lines), dtype="int64")
        for a in self.applied.values():
            if a.day <= as_of:
                out[a.line] += a.credit
        return out

    def line(self, line_id: str) -> LineSchedule:
        hits = np.flatnonzero(self.lines["id"].to_numpy() == line_id)
        if not len(hits):
            raise RevenueError(f"invoice line {line_id}: not in the ledger")
        return LineSchedule(self, int(hits[0]))


@dataclass
class LineSchedule:
    """One invoice line's schedule: the daily view of the ledger's rows for it.

    Days are dates or UTC day numbers (days since 1970-01-01), never Unix seconds.
    """

    ledger: RevenueLedger
    index: int
    which: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.which = np.flatnonzero(self.ledger.segments["line"] == self.index)

    @property
    def info(self) -> pd.Series:
        return self.ledger.lines.iloc[self.index]

    @property
    def billed(self) -> int:
        return int(self.info["amount"])

    def recognised_through(self, day: date | int) -> int:
        d = day if isinstance(day, int) else day_number(day)
        return int(self.ledger.cum(d, self.which).sum())

    def deferred_at(self, day: date | int) -> int:
        """End of ``day``: what events booked by then still have to recognise."""
        d = day if isinstance(day, int) else day_number(day)
        booked = self.ledger.segments["booked"][self.which] <= d
        totals = self.ledger.totals(self.which)
        return int((totals - self.ledger.cum(d, self.which))[booked].sum())

    def credited_through(self, day: date | int) -> int:
        d = day if isinstance(day, int) else day_number(day)
        return int(self.ledger.credited(d)[self.index])

    def daily(self) -> list[tuple[date, int]]:
        """Every UTC day from the first to the last recognition day with its net amount."""
        first = int(self.ledger.first_days()[self.which].min())
        last = int(self.ledger.last_days()[self.which].max())
        days = np.arange(first - 1, last + 1)
        cum = self.ledger.cum(days[:, None], self.which[None, :]).sum(axis=1)
        return [(day_date(d), int(v)) for d, v in zip(days[1:], np.diff(cum))]

    def monthly(self, by_kind: bool = False) -> dict:
        """``{'YYYY-MM': amount}`` (or ``{('YYYY-MM', kind): amount}``) recognised per month."""
        rows = self.ledger.months
        rows = rows[rows["line"] == self.index]
        keys = ["month", "kind"] if by_kind else ["month"]
        out = {}
        for key, amount in rows.groupby(keys)["amount"].sum().items():
            if not amount:
                continue
            if by_kind:
                out[(str(np.datetime64(int(key[0]), "M")), KINDS[key[1]])] = int(amount)
            else:
                out[str(np.datetime64(int(key), "M"))] = int(amount)
        return out


def segment_cum(s: dict[str, np.ndarray], x) -> np.ndarray:
    """Signed amount segments (arrays of :data:`SEGMENT_FIELDS`) recognise through day ``x``."""
    curve = (s["method"], s["start"], s["n"], s["amount"], s["floor"], s["quantum"])
    x = np.asarray(x, dtype="int64")
    before = curve_cum(*curve, s["frm"] - 1)
    return s["sign"] * np.where(x >= s["frm"], curve_cum(*curve, x) - before, 0)
