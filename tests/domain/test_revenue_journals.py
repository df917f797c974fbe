"""Recognition journals, the billing-account rule, closed months and the blocking check."""
from __future__ import annotations

from collections import defaultdict

import pytest

from domain.revenue.adjustments import first_open_day
from domain.revenue.journals import (DEFERRED_REVENUE, REVENUE, billing_account,
                                     invariant_violations, journal_lines, recognition_journal)
from domain.revenue.schedules import day_number, month_end_day, month_number
from domain.revenue.waterfall import deferred_balances, month_summary

from .helpers import Adjustment, date, ledger, line, utc


def account(key: str, kind: str) -> str:
    return f"4000:{key}" if kind == "recognition" else f"4900:{kind}"


@pytest.fixture(scope="module")
def book():
    lines = [
        line("il_a", 12000, utc(2026, 1, 1), utc(2027, 1, 1), key="prod_annual"),
        line("il_b", 3100, utc(2026, 1, 15), utc(2026, 2, 15), key="prod_monthly"),
        line("il_c", 2500, utc(2026, 2, 3), utc(2026, 2, 3), key="prod_setup"),   # one-off
        line("il_d", 500000, utc(2026, 1, 10), utc(2026, 4, 10), currency="jpy",
             key="prod_monthly"),
        line("il_e", 90000, utc(2026, 2, 1), utc(2026, 5, 1), currency="kwd", key="prod_q")]
    adjustments = [Adjustment("cn_a", "il_a", "credit_note", utc(2026, 2, 15), 6000),
                   Adjustment("re_d", "il_d", "refund", utc(2026, 3, 1), 100000),
                   Adjustment("v_e", "il_e", "void", utc(2026, 3, 20))]
    return ledger(lines, adjustments), lines, adjustments


def test_billing_account_rule():
    assert billing_account(utc(2026, 1, 1), utc(2026, 2, 1)) == DEFERRED_REVENUE
    assert billing_account(utc(2026, 1, 1, 3), utc(2026, 1, 1, 3)) == REVENUE
    assert billing_account(utc(2026, 1, 1, 3), utc(2026, 1, 1, 20)) == REVENUE


def test_month_journal_is_balanced_per_currency_and_leaves_one_offs_out(book):
    built, _, _ = book
    entries = {e.currency: e for e in recognition_journal(built, "2026-02", account, "2450")}
    assert set(entries) == {"USD", "JPY", "KWD"}
    usd = {ln.account: ln.credit.amount - ln.debit.amount for ln in entries["USD"].lines}
    assert "4000:prod_setup" not in usd                  # posted straight to revenue
    feb = journal_lines(built, "2026-02")
    usd_rows = feb[feb["currency"] == "USD"]
    assert usd["4900:credit_note"] == usd_rows.loc[usd_rows["kind"] == "credit_note",
                                                   "amount"].sum() < 0
    assert usd["2450"] == -usd_rows["amount"].sum()
    assert entries["USD"].entry_date == date(2026, 2, 28)
    assert entries["USD"].external_id == "revrec:2026-02:USD"


def test_erp_deferred_revenue_equals_the_schedules_at_every_month_end(book):
    """Post what the AR side posts (lines at full amount to the account the rule names, credits
    against the same account) and the monthly recognition journals; the deferred revenue account
    must equal :func:`deferred_balances` at each month end, per currency."""
    built, lines, adjustments = book
    by_id = {ln.id: ln for ln in lines}
    gl: dict[tuple[str, int], int] = defaultdict(int)           # (currency, day) -> credit
    for ln in lines:
        if billing_account(ln.period_start, ln.period_end) == DEFERRED_REVENUE:
            gl[(ln.currency.upper(), day_number(ln.booked_at))] += ln.amount
    for a in built.applied.values():
        ln = by_id[built.lines["id"][a.line]]
        if billing_account(ln.period_start, ln.period_end) == DEFERRED_REVENUE:
            gl[(ln.currency.upper(), a.day)] -= a.credit
    months = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-12"]
    for month in ["2026-%02d" % m for m in range(1, 13)]:
        for entry in recognition_journal(built, month, account, "2450"):
            for jl in entry.lines:
                if jl.account == "2450":
                    gl[(entry.currency, day_number(entry.entry_date))] += (
                        jl.credit.amount - jl.debit.amount)
    expected = deferred_balances(built, months)
    for row in expected.to_dict("records"):
        end = month_end_day(month_number(row["month"]))
        balance = sum(v for (cur, day), v in gl.items() if cur == row["currency"] and day <= end)
        assert balance == row["deferred"], row
    summary = month_summary(built, "2026-03")
    assert summary["KWD"]["deferred_end"] == 0                  # voided on March 20


def test_blocking_check_passes_and_catches_a_broken_schedule(book):
    built, _, _ = book
    for as_of in (date(2026, 1, 1), date(2026, 2, 14), date(2026, 2, 15), date(2026, 3, 20),
                  date(2026, 12, 31), date(2027, 6, 1)):
        assert invariant_violations(built, as_of).empty, as_of
    broken = ledger([line("il_x", 3100, utc(2026, 1, 15), utc(2026, 2, 15))])
    broken.months.loc[broken.months["month"] == broken.months["month"].max(), "amount"] -= 1
    bad = invariant_violations(broken, date(2026, 1, 31))
    assert bad.to_dict("records") == [{"line_id": "il_x", "currency": "USD", "recognised": 1700,
                                       "deferred": 1399, "billed": 3100, "credited": 0}]


def test_late_credit_note_for_a_closed_month_posts_in_the_first_open_month():
    plan = line("il_q", 9000, utc(2026, 1, 1), utc(2026, 4, 1))
    late = Adjustment("cn_late", "il_q", "credit_note", utc(2026, 1, 20), 900)
    moved = late.in_open_month({"2026-01", "2026-02"})
    assert moved.effective_at == date(2026, 3, 1)
    before = ledger([plan])
    after = ledger([plan], [moved])
    for month in ("2026-01", "2026-02"):                # closed months are not touched
        assert journal_lines(after, month).equals(journal_lines(before, month))
    march = journal_lines(after, "2026-03").set_index("kind")["amount"]
    assert march["credit_note"] == -(900 * 5900 // 9000)
    assert first_open_day(day_number(date(2026, 3, 5)), ["2026-01"]) == day_number(
        date(2026, 3, 5))


def test_problems_name_the_object_and_keep_the_rest():
    from domain.revenue.ledger import build_ledger
    built = build_ledger([line("il_ok", 100, utc(2026, 1, 1), utc(2026, 1, 2)),
                          line("il_back", 100, utc(2026, 2, 1), utc(2026, 1, 1)),
                          line("il_isk", 150, utc(2026, 1, 1), utc(2026, 1, 2), currency="isk")],
                         [Adjustment("cn_over", "il_ok", "credit_note", utc(2026, 1, 1), 101),
                          Adjustment("cn_lost", "il_nope", "refund", utc(2026, 1, 1), 1),
                          Adjustment("cn_ok", "il_ok", "credit_note", utc(2026, 1, 1), 10),
                          Adjustment("cn_ok:void", "il_ok", "credit_note_void", utc(2026, 1, 1),
                                     reverses="cn_ok"),
                          Adjustment("cn_ok:void2", "il_ok", "credit_note_void",
                                     utc(2026, 1, 1), reverses="cn_ok")])
    messages = {p.object_id: p.message for p in built.problems}
    assert set(messages) == {"il_back", "il_isk", "cn_over", "cn_lost", "cn_ok:void2"}
    assert "already reversed" in messages["cn_ok:void2"]
    assert "period.end" in messages["il_back"] and "quantum" in messages["il_isk"]
    assert list(built.lines["id"]) == ["il_ok"]
    assert built.line("il_ok").recognised_through(date(2026, 1, 1)) == 100
