"""The month-end close computation (domain/close.py) and its report, case by case."""
from __future__ import annotations

from datetime import date

from domain.close import (AR_JOURNAL, PAYOUT_IN_CLEARING, ArJournalLine, POSTING_DAY_CUTOFF, CloseAccounts,
                          CutoffTransaction, PayoutInTransit, compute_close)
from domain.close_report import failures, figures, markdown

END = date(2026, 11, 30)
AT = 1796083199  # 2026-11-30T23:59:59Z
ACCRUAL = CloseAccounts(clearing="1250", receivable="1200", in_transit="1260")
CASH = CloseAccounts(clearing="1250", receivable="1200")
PAYOUTS = [PayoutInTransit("po_1", "usd", 50_000, date(2026, 12, 2)),
           PayoutInTransit("po_2", "EUR", 7_000, date(2026, 12, 1))]


def close(accounts=ACCRUAL, tb=None, stripe=None, ar=None, **kw):
    return compute_close(period_end=END, at=AT, accounts=accounts, trial_balance=tb or {},
                         stripe_balance=stripe or {}, ar_subledger=ar or {}, **kw)


def report(result) -> str:
    return markdown(result, erp="tims", timezone="UTC",
                    accounts={"clearing": "1250", "receivable": "1200", "in_transit": None})


def test_accrual_books_balance_in_every_currency() -> None:
    tb = {("1250", "USD"): 123_456, ("1260", "USD"): 50_000, ("1200", "USD"): 9_900,
          ("1250", "EUR"): 10, ("1260", "EUR"): 7_000, ("4000", "USD"): -183_356,
          ("1250", "JPY"): 5_000, ("4000", "JPY"): -5_000, ("4000", "EUR"): -7_010}
    result = close(tb=tb, stripe={"usd": 123_456, "eur": 10, "jpy": 5_000},
                   ar={"USD": 9_900}, stripe_open_invoices={"usd": 9_900},
                   payouts_in_transit=PAYOUTS)
    assert result.balanced and result.unexplained_minor == 0 and not result.off()
    usd = result.currencies["USD"]
    assert (usd.clearing_minor, usd.stripe_balance_minor, usd.in_transit_gl_minor,
            usd.in_transit_stripe_minor, usd.ar_difference_minor, usd.items) == (
        123_456, 123_456, 50_000, 50_000, 0, ())
    assert set(result.currencies) == {"USD", "EUR", "JPY"}
    # a currency the ledger touched and left at zero everywhere is not reported
    quiet = close(tb={**tb, ("1250", "CAD"): 0, ("4000", "CAD"): 0}, stripe={"usd": 123_456,
                  "eur": 10, "jpy": 5_000, "cad": 0}, ar={"USD": 9_900},
                  payouts_in_transit=PAYOUTS)
    assert set(quiet.currencies) == {"USD", "EUR", "JPY"}
    meta = figures(result)
    assert meta["unexplained_minor"] == 0 and meta["balanced"] is True
    assert meta["clearing/USD"] == "USD 1,234.56" and meta["clearing/JPY"] == "JPY 5,000"
    assert meta["in_transit_minor/EUR"] == 7_000 and meta["in_transit_unexplained_minor/EUR"] == 0
    assert failures(result) == []
    assert "**Balanced**" in report(result)


def test_cash_basis_payouts_in_transit_stay_in_clearing_identified_but_unexplained() -> None:
    tb = {("1250", "USD"): 173_456, ("1250", "EUR"): 7_010}
    result = close(CASH, tb, {"USD": 123_456, "EUR": 10}, payouts_in_transit=PAYOUTS)
    usd, eur = result.currencies["USD"], result.currencies["EUR"]
    assert (usd.unexplained_minor, usd.identified_minor, usd.unidentified_minor) == (50_000, 50_000, 0)
    assert [(i.kind, i.reference, i.amount_minor, i.explains) for i in usd.items] == [
        (PAYOUT_IN_CLEARING, "po_1", 50_000, False)]
    assert eur.unexplained_minor == 7_000 and usd.in_transit_gl_minor is None
    assert not result.balanced and result.unexplained_minor == 57_000
    text = report(result)
    assert "po_1" in text and "USD 500.00" in text and "needs an adjusting entry" in text
    assert "in_transit_gl_minor/USD" not in figures(result)


def test_a_manual_journal_into_clearing_is_unexplained_and_named() -> None:
    tb = {("1250", "GBP"): 10_000 + 1_234, ("1250", "USD"): 500}
    result = close(tb=tb, stripe={"GBP": 10_000, "USD": 500})
    assert [c.currency for c in result.off()] == ["GBP"]
    gbp = result.currencies["GBP"]
    assert (gbp.unexplained_minor, gbp.unidentified_minor, gbp.explained_minor) == (1_234, 1_234, 0)
    assert figures(result)["unexplained_minor/GBP"] == 1_234
    assert figures(result)["unexplained/GBP"] == "GBP 12.34"
    (line,) = failures(result)
    assert line.startswith("GBP: ") and "GBP 12.34 unexplained (1234 minor units)" in line
    assert "**Not identified: GBP 12.34**" in report(result)


def test_errors_in_two_currencies_never_cancel_in_the_total() -> None:
    result = close(tb={("1250", "USD"): 100, ("1250", "EUR"): -100})
    assert result.unexplained_minor == 200
    assert {c.currency: c.unexplained_minor for c in result.off()} == {"USD": 100, "EUR": -100}


def test_posting_day_cutoff_is_explained_in_both_directions() -> None:
    # New York: Stripe's November ends after the ERP's last UTC day -> Stripe has it, ERP not
    west = close(tb={("1250", "USD"): 1_000}, stripe={"USD": 1_000 + 300},
                 cutoff=[CutoffTransaction("txn_w", "usd", 300, in_erp=False)])
    # Berlin: the ERP's last UTC day ends after Stripe's November -> ERP has it, Stripe not
    east = close(tb={("1250", "USD"): 1_000 - 40}, stripe={"USD": 1_000},
                 cutoff=[CutoffTransaction("txn_e", "USD", -40, in_erp=True)])
    for result, amount in ((west, -300), (east, -40)):
        usd = result.currencies["USD"]
        assert result.balanced and usd.explained_minor == amount == usd.difference_minor
        assert [(i.kind, i.explains) for i in usd.items] == [(POSTING_DAY_CUTOFF, True)]
    assert "Explained (timing, no entry needed): USD -3.00" in report(west)


def test_cash_in_transit_that_differs_from_stripes_payouts_fails() -> None:
    # the ERP moved a payout into transit that Stripe has not sent: clearing and transit
    # are off by opposite amounts; the total counts both
    tb = {("1250", "USD"): 900, ("1260", "USD"): 50_000 + 100}
    result = close(tb=tb, stripe={"USD": 1_000}, payouts_in_transit=PAYOUTS[:1])
    usd = result.currencies["USD"]
    assert (usd.unexplained_minor, usd.in_transit_unexplained_minor) == (-100, 100)
    assert not result.balanced and result.unexplained_minor == 200
    assert "cash in transit USD 501.00 vs payouts in transit USD 500.00" in failures(result)[0]


def test_receivables_off_from_the_open_items_fail_stripe_open_invoices_inform() -> None:
    tb = {("1200", "KWD"): 12_340, ("1250", "KWD"): 0}
    result = close(tb=tb, ar={"KWD": 12_000}, stripe_open_invoices={"KWD": 20_000})
    kwd = result.currencies["KWD"]
    assert (kwd.ar_difference_minor, kwd.ar_vs_stripe_minor) == (340, -7_660)
    assert not result.balanced and result.unexplained_minor == 0
    assert result.ar_difference_minor == 340
    assert "AR control KWD 12.340 vs open items KWD 12.000: KWD 0.340" in failures(result)[0]
    informational = close(tb={("1200", "KWD"): 12_000}, ar={"KWD": 12_000},
                          stripe_open_invoices={"KWD": 20_000})
    assert informational.balanced
    assert "Stripe open invoices KWD 20.000" in report(informational)


def test_report_lists_at_most_twenty_items_and_counts_the_rest() -> None:
    payouts = [PayoutInTransit(f"po_{i:02d}", "USD", 100, date(2026, 12, 1)) for i in range(25)]
    result = close(CASH, {("1250", "USD"): 2_500}, payouts_in_transit=payouts)
    text = report(result)
    assert "po_19" in text and "po_20" not in text and "| ... | 5 more |" in text


def test_journals_on_the_ar_control_account_are_identified_behind_the_ar_difference() -> None:
    tb = {("1200", "EUR"): 50_000 + 22_379}
    lines = [ArJournalLine("JE-7", "eur", 20_000, date(2026, 11, 12)),
             ArJournalLine("JE-9", "EUR", 2_379, date(2026, 11, 20)),
             ArJournalLine("JE-0", "EUR", 0, date(2026, 11, 21))]
    result = close(tb=tb, ar={"EUR": 50_000}, ar_journal_lines=lines)
    eur = result.currencies["EUR"]
    assert eur.ar_difference_minor == 22_379 and not result.balanced
    assert [(i.kind, i.reference, i.amount_minor, i.explains) for i in eur.ar_items] == [
        (AR_JOURNAL, "JE-7", 20_000, False), (AR_JOURNAL, "JE-9", 2_379, False)]
    assert eur.items == () and eur.unexplained_minor == 0   # clearing is not concerned
    text = report(result)
    assert "## EUR: AR control EUR 723.79 vs open items EUR 500.00, difference EUR 223.79" in text
    assert "Identified: EUR 223.79 in 2 GL journal lines" in text and "Not identified" not in text
    partly = close(tb=tb, ar={"EUR": 50_000}, ar_journal_lines=lines[:1])
    assert "**Not identified: EUR 23.79**" in report(partly)


def test_sales_tax_payable_against_stripes_tax_collected_less_refunded() -> None:
    accounts = CloseAccounts(clearing="1250", receivable="1200", in_transit="1260",
                             tax_payable="2200")
    tb = {("2200", "EUR"): -1_900, ("4000", "EUR"): 1_900}
    assert close(accounts, tb=tb, stripe_tax={"eur": 1_900}).balanced
    off = close(accounts, tb=tb, stripe_tax={"eur": 2_000})
    eur = off.currencies["EUR"]
    assert not off.balanced and off.unexplained_minor == 100
    assert (eur.tax_payable_gl_minor, eur.stripe_tax_minor, eur.tax_unexplained_minor) == (
        -1_900, 2_000, -100)
    meta = figures(off)
    assert (meta["tax_payable_minor/EUR"], meta["stripe_tax_minor/EUR"],
            meta["tax_unexplained_minor/EUR"]) == (1_900, 2_000, -100)
    [line] = failures(off)
    assert line.startswith("EUR: sales tax payable EUR 19.00 vs Stripe's tax collected less "
                           "refunded EUR 20.00: EUR -1.00 unexplained")
    assert "| EUR 19.00 | EUR 20.00 | **OFF** |" in report(off)
    assert "tax_payable_minor/EUR" not in figures(close(tb=tb))     # no account: not compared
