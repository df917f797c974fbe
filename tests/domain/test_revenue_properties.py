"""Property checks: every schedule sums exactly to its line, the blocking invariant holds under
any sequence of adjustments, and each day stays within one quantum of the exact pro-rata."""
from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.revenue.adjustments import Adjustment
from domain.revenue.journals import invariant_violations
from domain.revenue.ledger import build_ledger
from domain.revenue.schedules import InvoiceLine, Method, day_number, quantum
from domain.revenue.waterfall import waterfall

from .helpers import utc

SETTINGS = settings(max_examples=30, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
BASE = utc(2025, 1, 1)


@st.composite
def lines(draw, count=st.integers(1, 6)):
    out = []
    for i in range(draw(count)):
        currency = draw(st.sampled_from(["usd", "jpy", "kwd", "isk"]))
        units = draw(st.integers(-50_000, 5_000_000))
        start = BASE + timedelta(days=draw(st.integers(0, 700)), hours=draw(st.integers(0, 23)))
        end = start + timedelta(days=draw(st.sampled_from([0, 0, 1, 7, 30, 31, 92, 365, 366,
                                                           730])),
                                hours=draw(st.integers(-3, 3)))
        end = max(end, start)
        booked = start + timedelta(days=draw(st.integers(-40, 45)))
        out.append(InvoiceLine(f"il_{i}", f"in_{i}", currency, units * quantum(currency),
                               start, end, booked, f"prod_{i % 3}"))
    return out


@st.composite
def adjustments(draw, items):
    out = []
    for line in items:
        q = quantum(line.currency)
        for j in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["credit_note", "refund", "void", "uncollectible",
                                         "credit_note_void", "recovery"]))
            when = line.period_start + timedelta(days=draw(st.integers(-10, 800)))
            adj_id = f"{line.id}:a{j}"
            if kind in ("void", "uncollectible"):
                out.append(Adjustment(adj_id, line.id, kind, when))
            elif kind in ("credit_note", "refund"):
                part = draw(st.fractions(Fraction(0), Fraction(1)))
                amount = int(line.amount // q * part) * q
                out.append(Adjustment(adj_id, line.id, kind, when, amount))
            else:
                undone = "credit_note" if kind == "credit_note_void" else "uncollectible"
                targets = [a.id for a in out if a.line_id == line.id and a.kind == undone]
                if targets:
                    out.append(Adjustment(adj_id, line.id, kind, when,
                                          reverses=draw(st.sampled_from(targets))))
    return out


@SETTINGS
@given(items=lines(), method=st.sampled_from([Method.DAY, Method.MONTH]))
def test_every_schedule_sums_exactly_to_its_line(items, method):
    built = build_ledger(items, method=method)
    assert built.problems == []
    for line in items:
        schedule = built.line(line.id)
        days = schedule.daily()
        assert sum(v for _, v in days) == line.amount
        assert sum(schedule.monthly().values()) == line.amount
        assert all(v * line.amount >= 0 for _, v in days)
        assert days[0][0].toordinal() - 719163 >= day_number(line.booked_at)


@SETTINGS
@given(items=lines())
def test_by_day_each_day_stays_within_one_quantum_of_pro_rata(items):
    built = build_ledger(items)
    for line in items:
        start, end = day_number(line.period_start), day_number(line.period_end)
        booked = day_number(line.booked_at)
        if end - start < 1 or booked > start:
            continue
        q, n = quantum(line.currency), end - start
        cum = 0
        for k, (_, v) in enumerate(built.line(line.id).daily(), start=1):
            cum += v
            assert abs(Fraction(line.amount * k, n) - cum) < q


@settings(SETTINGS, max_examples=25)
@given(data=st.data(), method=st.sampled_from([Method.DAY, Method.MONTH]))
def test_invariant_holds_under_any_adjustments(data, method):
    items = data.draw(lines())
    adjs = data.draw(adjustments(items))
    built = build_ledger(items, adjs, method)
    bad_ids = {p.object_id for p in built.problems}
    assert bad_ids <= {a.id for a in adjs}            # only impossible credits are refused
    for day in range(0, 900, 97):
        as_of = day_number(BASE) + day
        assert invariant_violations(built, as_of).empty
    for line in items:
        credited = sum(a.credit for a in built.applied.values()
                       if built.lines["id"][a.line] == line.id)
        schedule = built.line(line.id)
        assert sum(v for _, v in schedule.daily()) == line.amount - credited
        for day in range(0, 900, 131):
            deferred = schedule.deferred_at(day_number(BASE) + day)
            assert deferred * line.amount >= 0          # deferred never changes sign
    table = waterfall(built, "2028-12")
    if not table.empty:
        assert (table["recognised"] + table["remaining"] == table["billed"]).all()
        assert (table["remaining"] == 0).all()          # everything recognised by 2028-12
