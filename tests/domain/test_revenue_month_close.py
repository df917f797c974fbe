"""The month's revenue journal for the ERP (billing and recognition legs) and late credits."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from domain.revenue.adjustments import allocate
from domain.revenue.month_close import deferred_change, late_adjustments, month_entries
from domain.revenue.schedules import month_end_day, month_number
from domain.revenue.waterfall import deferred_balances

from .helpers import Adjustment, date, ledger, line, utc

MONTHS = ["2026-%02d" % m for m in range(1, 13)]


def account(key: str, kind: str) -> str:
    return f"4000:{key}" if kind == "recognition" else f"4900:{kind}"


def book():
    lines = [line("il_a", 12000, utc(2026, 1, 1), utc(2027, 1, 1), key="prod_annual"),
             line("il_b", 3100, utc(2026, 1, 15), utc(2026, 2, 15), key="prod_monthly"),
             line("il_c", 2500, utc(2026, 2, 3), utc(2026, 2, 3), key="prod_setup"),  # one-off
             line("il_d", 500000, utc(2026, 1, 10), utc(2026, 4, 10), currency="jpy"),
             line("il_e", 90000, utc(2026, 2, 1), utc(2026, 5, 1), currency="kwd")]
    adjustments = [Adjustment("cn_a", "il_a", "credit_note", utc(2026, 2, 15), 6000),
                   Adjustment("re_d", "il_d", "refund", utc(2026, 3, 1), 100000),
                   Adjustment("v_e", "il_e", "void", utc(2026, 3, 20))]
    return ledger(lines, adjustments)


def test_deferred_account_equals_the_schedules_at_every_month_end_from_the_journals_alone():
    built = book()
    balance: dict[str, int] = defaultdict(int)
    expected = deferred_balances(built, MONTHS)
    for month in MONTHS:
        for entry in month_entries(built, month, account, "4000", "2450"):
            assert entry.entry_date == date.fromordinal(719163 + month_end_day(
                month_number(month)))
            balance[entry.currency] += deferred_change(entry, "2450")
        want = {r.currency: r.deferred for r in expected.itertuples() if r.month == month}
        assert {c: v for c, v in balance.items() if v} == {c: v for c, v in want.items() if v}
    assert balance == {"USD": 0, "JPY": 0, "KWD": 0}      # all delivered or credited by 2027


def test_january_defers_what_was_billed_and_recognises_by_product():
    jan = {e.currency: {x.account: x.credit.amount - x.debit.amount for x in e.lines}
           for e in month_entries(book(), "2026-01", account, "4000", "2450")}
    usd = jan["USD"]
    annual_jan = 12000 * 31 // 365
    monthly_jan = 3100 * 17 // 31                          # Jan 15..31 of 31 days
    assert usd["4000:prod_annual"] == annual_jan and usd["4000:prod_monthly"] == monthly_jan
    assert usd["4000"] == -(12000 + 3100)                  # billing: out of revenue...
    assert usd["2450"] == 12000 + 3100 - annual_jan - monthly_jan   # ...into deferred revenue
    assert "4000:prod_setup" not in usd                   # one-offs stay where AR put them


def test_a_credit_books_its_deferred_part_against_deferred_and_the_rest_as_contra():
    feb = {x.account: x.credit.amount - x.debit.amount
           for e in month_entries(book(), "2026-02", account, "4000", "2450")
           if e.currency == "USD" for x in e.lines}
    recognised_before = 12000 * 45 // 365                  # Jan 1 .. Feb 14
    contra, _ = allocate(6000, [recognised_before, 12000 - recognised_before])   # 740
    assert feb["4900:credit_note"] == 6000 - contra        # billing leg less the contra at once


def test_late_credit_moves_to_the_first_month_open_when_it_was_recorded():
    cn = Adjustment("cn_late", "il_a", "credit_note", utc(2026, 1, 20), 900)
    closed = {"2026-01": datetime(2026, 2, 3, tzinfo=timezone.utc),
              "2026-02": datetime(2026, 3, 2, tzinfo=timezone.utc),
              "2026-03": datetime(2026, 4, 2, tzinfo=timezone.utc)}
    recorded_feb_10 = {"cn_late": utc(2026, 2, 10)}
    assert late_adjustments([cn], recorded_feb_10, closed)[0].effective_at == date(2026, 2, 1)
    recorded_jan_25 = {"cn_late": utc(2026, 1, 25)}        # before January was closed
    assert late_adjustments([cn], recorded_jan_25, closed) == [cn]
    recorded_apr = {"cn_late": utc(2026, 4, 5)}
    assert late_adjustments([cn], recorded_apr, closed)[0].effective_at == date(2026, 4, 1)
    # closing more months later does not move it again
    more = {**closed, "2026-04": datetime(2026, 5, 2, tzinfo=timezone.utc)}
    assert late_adjustments([cn], recorded_apr, more)[0].effective_at == date(2026, 4, 1)
