"""Stripe Revenue Recognition's documented examples, replayed to the minor unit.

Sources: docs.stripe.com/revenue-recognition/examples (and .../examples/subscriptions,
.../examples/credit-notes), .../revenue-settings/examples, .../reports/waterfall.
"""
from __future__ import annotations

from collections import Counter

from domain.revenue.waterfall import deferred_balances, waterfall

from .helpers import Adjustment, Method, date, ledger, line, months, utc


def by_month(built) -> dict[str, int]:
    totals: Counter = Counter()
    for line_id in built.lines["id"]:
        totals.update(months(built, line_id))
    return {m: v for m, v in sorted(totals.items()) if v}


def test_monthly_subscription_17_days_in_january_14_in_february():
    built = ledger([line("il_m", 3100, utc(2019, 1, 15), utc(2019, 2, 15))])
    assert months(built, "il_m") == {"2019-01": 1700, "2019-02": 1400}
    schedule = built.line("il_m")
    assert schedule.deferred_at(date(2019, 1, 31)) == 1400
    days = schedule.daily()
    assert days[0] == (date(2019, 1, 15), 100) and days[-1] == (date(2019, 2, 14), 100)
    assert len(days) == 31                            # the end boundary is cut off


def test_annual_subscription_by_day():
    built = ledger([line("il_y", 36500, utc(2019, 1, 1), utc(2020, 1, 1))])
    got = months(built, "il_y")
    assert (got["2019-01"], got["2019-02"], got["2019-03"]) == (3100, 2800, 3100)
    assert built.line("il_y").deferred_at(date(2019, 1, 31)) == 33400


def test_120_annual_plan_is_10_a_month_by_month_evenly():
    """Stripe states the monthly figure under its "By month evenly" setting; by day a 365-day
    year gives January 31/365 of it."""
    plan = line("il_120", 12000, utc(2026, 1, 1), utc(2027, 1, 1))
    by_month_evenly = ledger([plan], method=Method.MONTH)
    assert months(by_month_evenly, "il_120") == {f"2026-{m:02d}": 1000 for m in range(1, 13)}
    by_day = months(ledger([plan]), "il_120")
    assert by_day["2026-01"] == 12000 * 31 // 365 == 1019
    assert sum(by_day.values()) == 12000 and len(by_day) == 12
    mid_month = line("il_mid", 12000, utc(2026, 1, 15), utc(2027, 1, 15))
    assert set(months(ledger([mid_month], method=Method.MONTH), "il_mid").values()) == {1000}


def test_amortization_granularity_example():
    """June 15 12:00 to October 13 12:00, 120.00: by day 16/31/31/30/12; by month 30 x 4."""
    term = line("il_g", 12000, utc(2024, 6, 15, 12), utc(2024, 10, 13, 12))
    assert months(ledger([term]), "il_g") == {
        "2024-06": 1600, "2024-07": 3100, "2024-08": 3100, "2024-09": 3000, "2024-10": 1200}
    assert months(ledger([term], method=Method.MONTH), "il_g") == {
        "2024-06": 3000, "2024-07": 3000, "2024-08": 3000, "2024-09": 3000}


def test_month_evenly_puts_the_remainder_on_the_last_month():
    term = line("il_r", 9200, utc(2024, 7, 1), utc(2024, 10, 1))
    assert months(ledger([term], method=Method.MONTH), "il_r") == {
        "2024-07": 3066, "2024-08": 3066, "2024-09": 3068}


def upgrade_lines(proration_booked):
    """April 1: 90.00 monthly; April 21: upgrade to 120.00; May 1 invoice with -30.00 unused,
    +40.00 remaining (both April 21 to May 1) and 120.00 for May."""
    may_1 = utc(2019, 5, 1)
    return [line("il_apr", 9000, utc(2019, 4, 1), may_1, invoice="in_apr"),
            line("il_unused", -3000, utc(2019, 4, 21), may_1, proration_booked, invoice="in_may"),
            line("il_remaining", 4000, utc(2019, 4, 21), may_1, proration_booked,
                 invoice="in_may"),
            line("il_may", 12000, may_1, utc(2019, 6, 1), invoice="in_may")]


def test_upgrade_example_with_invoice_items_booked_when_created():
    built = ledger(upgrade_lines(utc(2019, 4, 21)))
    assert by_month(built) == {"2019-04": 10000, "2019-05": 12000}


def test_upgrade_billed_next_period_is_caught_up_on_the_invoice():
    built = ledger(upgrade_lines(utc(2019, 5, 1)))
    assert by_month(built) == {"2019-04": 9000, "2019-05": 13000}
    assert months(built, "il_remaining") == {"2019-05": 4000}


def test_upgrade_on_day_15_of_30_defers_only_the_unused_part_of_the_proration():
    june_16, july_1 = utc(2026, 6, 16), utc(2026, 7, 1)
    built = ledger([line("il_basic", 3000, utc(2026, 6, 1), july_1),
                    line("il_unused", -1500, june_16, july_1, invoice="in_up"),
                    line("il_pro", 3000, june_16, july_1, invoice="in_up")])
    net = Counter()
    for line_id in ("il_basic", "il_unused", "il_pro"):
        net.update(dict(built.line(line_id).daily()))
    assert [net[date(2026, 6, d)] for d in range(1, 16)] == [100] * 15
    assert [net[date(2026, 6, d)] for d in range(16, 31)] == [200] * 15
    deferred = {d: sum(built.line(i).deferred_at(date(2026, 6, d))
                       for i in ("il_basic", "il_unused", "il_pro")) for d in (15, 16, 30)}
    assert deferred == {15: 1500, 16: 14 * 200, 30: 0}
    assert built.line("il_pro").recognised_through(date(2026, 6, 15)) == 0


def test_cancellation_with_a_prorated_credit_stops_revenue_on_the_cancel_day():
    july_1 = utc(2026, 7, 1)
    built = ledger([line("il_plan", 3000, utc(2026, 6, 1), july_1),
                    line("il_credit", -2000, utc(2026, 6, 11), july_1, invoice="in_final")])
    net = Counter(dict(built.line("il_plan").daily()))
    net.update(dict(built.line("il_credit").daily()))
    assert all(net[date(2026, 6, d)] == 100 for d in range(1, 11))
    assert all(net[date(2026, 6, d)] == 0 for d in range(11, 31))
    assert by_month(built) == {"2026-06": 1000}


def test_credit_note_mid_period_and_its_void():
    """Six months for 181.00, a 90.50 credit note on February 1, voided on May 3."""
    plan = line("il_6m", 18100, utc(2019, 1, 1), utc(2019, 7, 1))
    built = ledger([plan], [
        Adjustment("cn_1", "il_6m", "credit_note", utc(2019, 2, 1), 9050),
        Adjustment("cn_1:void", "il_6m", "credit_note_void", utc(2019, 5, 3), reverses="cn_1")])
    assert months(built, "il_6m", by_kind=True) == {
        ("2019-01", "recognition"): 3100, ("2019-02", "recognition"): 1400,
        ("2019-02", "credit_note"): -1550, ("2019-03", "recognition"): 1550,
        ("2019-04", "recognition"): 1500, ("2019-05", "recognition"): 7550,
        ("2019-05", "credit_note"): 1550, ("2019-06", "recognition"): 3000}
    only_credit = ledger([plan], [Adjustment("cn_1", "il_6m", "credit_note", utc(2019, 2, 1),
                                             9050)])
    assert only_credit.line("il_6m").deferred_at(date(2019, 2, 28)) == 7500 - 28 * 50


def test_partial_refund_offsets_recognised_and_deferred_proportionally():
    plan = line("il_3m", 9000, utc(2019, 1, 1), utc(2019, 4, 1))
    built = ledger([plan], [Adjustment("re_1", "il_3m", "refund", utc(2019, 2, 1), 900)])
    assert months(built, "il_3m", by_kind=True) == {
        ("2019-01", "recognition"): 3100, ("2019-02", "recognition"): 2520,
        ("2019-02", "refund"): -310, ("2019-03", "recognition"): 2790}


def test_refund_of_an_annual_plan_after_three_months():
    """120.00 a year from January 1; 90.00 refunded on April 1.  By then 90 days were
    recognised, floor(12000 * 90 / 365) = 2958; the refund splits 2958 : 9042 into 2218.5 and
    6781.5, the tie going to the recognised part: 22.19 of refunds in April, and the 20.61 left
    of the deferred 90.42 spread over the remaining 275 days."""
    plan = line("il_y", 12000, utc(2026, 1, 1), utc(2027, 1, 1))
    built = ledger([plan], [Adjustment("re_y", "il_y", "refund", utc(2026, 4, 1), 9000)])
    got = months(built, "il_y", by_kind=True)
    assert got[("2026-04", "refund")] == -2219
    assert sum(got.values()) == 12000 - 9000
    schedule = built.line("il_y")
    assert schedule.deferred_at(date(2026, 3, 31)) == 12000 - 2958
    assert schedule.deferred_at(date(2026, 4, 30)) == 2261 - 2261 * 30 // 275
    assert schedule.recognised_through(date(2026, 12, 31)) == 3000
    assert applied(built, "re_y") == (9000, -2219)


def applied(built, adj_id: str) -> tuple[int, int]:
    a = built.applied[adj_id]
    return a.credit, a.contra


def test_void_clears_deferred_and_offsets_recognised_revenue():
    plan = line("il_3m", 9000, utc(2019, 1, 1), utc(2019, 4, 1))
    built = ledger([plan], [Adjustment("in_3m:void", "il_3m", "void", utc(2019, 2, 1))])
    assert months(built, "il_3m", by_kind=True) == {("2019-01", "recognition"): 3100,
                                                    ("2019-02", "void"): -3100}
    assert built.line("il_3m").deferred_at(date(2019, 2, 1)) == 0


def test_uncollectible_then_paid_reverses_the_bad_debt_and_the_rest_is_a_gain():
    plan = line("il_3m", 9000, utc(2019, 1, 1), utc(2019, 4, 1))
    built = ledger([plan], [
        Adjustment("u", "il_3m", "uncollectible", utc(2019, 2, 1)),
        Adjustment("u:paid", "il_3m", "recovery", utc(2019, 4, 10), reverses="u")])
    assert months(built, "il_3m", by_kind=True) == {
        ("2019-01", "recognition"): 3100, ("2019-02", "uncollectible"): -3100,
        ("2019-04", "uncollectible"): 3100}
    assert built.applied["u:paid"].gain == 5900


def test_catch_up_of_a_period_before_the_booked_date():
    built = ledger([line("il_late", 3100, utc(2026, 3, 1), utc(2026, 4, 1), utc(2026, 4, 15))])
    assert months(built, "il_late") == {"2026-04": 3100}
    assert built.line("il_late").daily()[0] == (date(2026, 4, 15), 3100)


def test_line_without_a_period_is_recognised_when_booked():
    built = ledger([line("il_once", 4999, utc(2026, 5, 3, 10), utc(2026, 5, 3, 10),
                         utc(2026, 5, 4, 9))])
    assert built.line("il_once").daily() == [(date(2026, 5, 4), 4999)]


def test_waterfall_void_books_its_own_row():
    """Finalized July 14, service July 21 to August 20, voided September 12."""
    built = ledger([line("il_w", 3100, utc(2025, 7, 21), utc(2025, 8, 21), utc(2025, 7, 14))],
                   [Adjustment("v", "il_w", "void", utc(2025, 9, 12))])
    table = waterfall(built, "2025-09")
    rows = {r["billed_month"]: r for r in table.to_dict("records")}
    assert (rows["2025-07"]["billed"], rows["2025-07"]["2025-07"],
            rows["2025-07"]["2025-08"]) == (3100, 1100, 2000)
    assert (rows["2025-09"]["billed"], rows["2025-09"]["2025-09"]) == (-3100, -3100)
    assert (table["recognised"] + table["remaining"] == table["billed"]).all()


def test_waterfall_invoice_item_booked_in_the_month_it_first_appears():
    built = ledger([line("il_ii", 3100, utc(2025, 5, 14), utc(2025, 6, 14), utc(2025, 5, 14))])
    row = waterfall(built, "2025-07").to_dict("records")[0]
    assert (row["billed_month"], row["2025-05"], row["2025-06"], row["remaining"]) == (
        "2025-05", 1800, 1300, 0)
    assert deferred_balances(built, ["2025-05"]).to_dict("records") == [
        {"month": "2025-05", "currency": "USD", "deferred": 1300}]


def test_zero_decimal_jpy_and_three_decimal_kwd():
    year = (utc(2026, 1, 1), utc(2027, 1, 1))
    built = ledger([line("il_jpy", 10000, *year, currency="jpy"),
                    line("il_kwd", 120000, *year, currency="kwd")])
    jpy = [v for _, v in built.line("il_jpy").daily()]
    assert sum(jpy) == 10000 and set(jpy) == {27, 28}
    assert months(built, "il_jpy")["2026-01"] == 10000 * 31 // 365 == 849
    assert sum(months(built, "il_kwd").values()) == 120000
    assert months(ledger([line("il_kwd", 120000, *year, currency="kwd")], method=Method.MONTH),
                  "il_kwd")["2026-07"] == 10000          # 10.000 KWD a month


def test_whole_hundred_currencies_are_spread_in_hundreds():
    built = ledger([line("il_isk", 1_200_000, utc(2026, 1, 1), utc(2027, 1, 1),
                         currency="isk")])
    daily = [v for _, v in built.line("il_isk").daily()]
    assert all(v % 100 == 0 for v in daily) and sum(daily) == 1_200_000
