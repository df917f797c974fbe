"""The close as a controller reads it: figures per currency and a markdown report.

Pure (no Dagster): ``assets/close.py`` turns :func:`figures` into materialization metadata
and :func:`markdown` into the report shown in the UI.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .close import CloseResult, CurrencyClose
from .money import format_minor

SHOWN_ITEMS = 20        # reconciling items listed per currency (the rest are counted)


def figures(result: CloseResult) -> dict[str, Any]:
    """Flat metadata: totals, then ``<figure>/<CUR>`` in minor units and formatted."""
    out: dict[str, Any] = {
        "unexplained_minor": result.unexplained_minor,
        "ar_difference_minor": result.ar_difference_minor,
        "balanced": result.balanced,
        "currencies": len(result.currencies),
        "currencies_off": ", ".join(c.currency for c in result.off()) or "none",
    }
    for c in result.currencies.values():
        cur = c.currency
        minor = {
            "unexplained_minor": c.unexplained_minor,
            "clearing_minor": c.clearing_minor,
            "stripe_balance_minor": c.stripe_balance_minor,
            "explained_minor": c.explained_minor,
            "in_transit_minor": c.in_transit_stripe_minor,
            "ar_control_minor": c.ar_control_minor,
            "ar_subledger_minor": c.ar_subledger_minor,
            "ar_difference_minor": c.ar_difference_minor,
            "stripe_open_invoices_minor": c.stripe_open_invoices_minor,
        }
        if c.in_transit_gl_minor is not None:
            minor["in_transit_gl_minor"] = c.in_transit_gl_minor
            minor["in_transit_unexplained_minor"] = c.in_transit_unexplained_minor
        if c.tax_payable_gl_minor is not None:
            minor["tax_payable_minor"] = -c.tax_payable_gl_minor      # a liability: credit
            minor["stripe_tax_minor"] = c.stripe_tax_minor
            minor["tax_unexplained_minor"] = c.tax_unexplained_minor
        for name, value in minor.items():
            out[f"{name}/{cur}"] = value
        for name in ("unexplained", "clearing", "stripe_balance", "in_transit"):
            out[f"{name}/{cur}"] = format_minor(minor[f"{name}_minor"], cur)
    return out


def failures(result: CloseResult) -> list[str]:
    """One sentence per currency that does not balance, naming the currency and amounts."""
    out = []
    for c in result.off():
        parts = []
        if c.unexplained_minor:
            parts.append(f"Stripe clearing {format_minor(c.clearing_minor, c.currency)} vs "
                         f"Stripe balance {format_minor(c.stripe_balance_minor, c.currency)}: "
                         f"{format_minor(c.unexplained_minor, c.currency)} unexplained "
                         f"({c.unexplained_minor} minor units)")
        if c.in_transit_unexplained_minor:
            parts.append(f"cash in transit {format_minor(c.in_transit_gl_minor or 0, c.currency)}"
                         f" vs payouts in transit "
                         f"{format_minor(c.in_transit_stripe_minor, c.currency)}: "
                         f"{format_minor(c.in_transit_unexplained_minor, c.currency)} unexplained")
        if c.tax_unexplained_minor:
            parts.append(f"sales tax payable {format_minor(-(c.tax_payable_gl_minor or 0), c.currency)}"
                         f" vs Stripe's tax collected less refunded "
                         f"{format_minor(c.stripe_tax_minor, c.currency)}: "
                         f"{format_minor(c.tax_unexplained_minor, c.currency)} unexplained")
        if c.ar_difference_minor:
            parts.append(f"AR control {format_minor(c.ar_control_minor, c.currency)} vs open "
                         f"items {format_minor(c.ar_subledger_minor, c.currency)}: "
                         f"{format_minor(c.ar_difference_minor, c.currency)}")
        out.append(f"{c.currency}: " + "; ".join(parts))
    return out


def _row(c: CurrencyClose) -> str:
    f = lambda v: format_minor(v, c.currency)  # noqa: E731 - local shorthand
    transit_gl = "n/a" if c.in_transit_gl_minor is None else f(c.in_transit_gl_minor)
    tax_gl = "n/a" if c.tax_payable_gl_minor is None else f(-c.tax_payable_gl_minor)
    status = "balanced" if c.balanced else "**OFF**"
    return (f"| {c.currency} | {f(c.clearing_minor)} | {f(c.stripe_balance_minor)} | "
            f"{f(c.explained_minor)} | **{f(c.unexplained_minor)}** | {transit_gl} | "
            f"{f(c.in_transit_stripe_minor)} | {f(c.ar_control_minor)} | "
            f"{f(c.ar_subledger_minor)} | {f(c.stripe_open_invoices_minor)} | {tax_gl} | "
            f"{f(c.stripe_tax_minor)} | {status} |")


def _ar_section(c: CurrencyClose) -> list[str]:
    f = lambda v: format_minor(v, c.currency)  # noqa: E731 - local shorthand
    out = [f"## {c.currency}: AR control {f(c.ar_control_minor)} vs open items "
           f"{f(c.ar_subledger_minor)}, difference {f(c.ar_difference_minor)}", ""]
    identified = sum(i.amount_minor for i in c.ar_items)
    if c.ar_items:
        out.append(f"Identified: {f(identified)} in {len(c.ar_items)} GL journal lines on the AR "
                   f"control account (book them as AR documents: invoice, credit memo, "
                   f"receipt).")
    if c.ar_difference_minor - identified:
        out.append(f"**Not identified: {f(c.ar_difference_minor - identified)}** (an AR "
                   f"document changed outside its sub-ledger; the ERP's aging report at the "
                   f"month end shows which).")
    if c.ar_items:
        out += ["", "| kind | voucher | amount | note |", "|---|---|---|---|"]
        out += [f"| {i.kind} | {i.reference} | {f(i.amount_minor)} | {i.note} |"
                for i in c.ar_items[:SHOWN_ITEMS]]
        if len(c.ar_items) > SHOWN_ITEMS:
            out.append(f"| ... | {len(c.ar_items) - SHOWN_ITEMS} more | | |")
    return out


def markdown(result: CloseResult, *, erp: str, timezone: str, accounts: dict[str, str | None],
             dead_letters: Sequence[Any] = ()) -> str:
    """The close report for one month end (see README, Month-end close)."""
    verdict = ("**Balanced**: every currency reconciles to the minor unit."
               if result.balanced else
               f"**Not balanced**: {result.unexplained_minor} minor units unexplained "
               f"(absolute, all currencies), AR off by {result.ar_difference_minor}.")
    lines = [
        f"# Month-end close {result.period_end:%B %Y} ({erp})",
        "",
        f"ERP trial balance as of {result.period_end.isoformat()}; Stripe balance at the "
        f"month's last instant in {timezone} (epoch {result.at}). Accounts: clearing "
        f"{accounts['clearing']}, receivables {accounts['receivable']}, cash in transit "
        f"{accounts['in_transit'] or 'none in the mapping (payouts are booked on arrival)'}.",
        "",
        verdict,
        "",
        "| currency | Stripe clearing (ERP) | Stripe balance | explained | unexplained | "
        "in transit (ERP) | payouts in transit (Stripe) | AR control | AR open items | "
        "Stripe open invoices | sales tax payable (ERP) | Stripe tax less refunded | status |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *(_row(c) for c in result.currencies.values()),
    ]
    problems = failures(result)
    if problems:
        lines += ["", "## What does not balance", "", *(f"- {p}" for p in problems)]
    for c in result.currencies.values():
        # identified items are named only while the difference is unexplained: once the
        # books are adjusted (or balance), they no longer say anything about them
        explained = [i for i in c.items if i.explains]
        identified = [i for i in c.items if not i.explains] if c.unexplained_minor else []
        if not explained and not c.unexplained_minor:
            continue
        f = lambda v, cur=c.currency: format_minor(v, cur)  # noqa: E731
        lines += ["", f"## {c.currency}: behind the difference of {f(c.difference_minor)}", ""]
        if explained:
            lines.append(f"Explained (timing, no entry needed): {f(c.explained_minor)} in "
                         f"{len(explained)} items.")
        if identified:
            lines.append(f"Identified, needs an adjusting entry: {f(c.identified_minor)} in "
                         f"{len(identified)} items.")
        rest = c.unexplained_minor - sum(i.amount_minor for i in identified)
        if rest:
            lines.append(f"**Not identified: {f(rest)}** (a journal outside the product, a day "
                         f"not posted, a dead letter; see below).")
        shown = explained + identified
        if shown:
            lines += ["", "| kind | Stripe object | amount | note |", "|---|---|---|---|"]
            lines += [f"| {i.kind} | {i.reference} | {f(i.amount_minor)} | {i.note} |"
                      for i in shown[:SHOWN_ITEMS]]
            if len(shown) > SHOWN_ITEMS:
                lines.append(f"| ... | {len(shown) - SHOWN_ITEMS} more | | |")
    for c in result.currencies.values():
        if c.ar_difference_minor:
            lines += ["", *_ar_section(c)]
    ar_vs_stripe = [c for c in result.currencies.values() if c.ar_vs_stripe_minor]
    if ar_vs_stripe:
        lines += ["", "## Receivables against Stripe's open invoices (informational)", ""]
        lines += [f"- {c.currency}: AR control {format_minor(c.ar_control_minor, c.currency)}, "
                  f"Stripe open invoices "
                  f"{format_minor(c.stripe_open_invoices_minor, c.currency)}" for c in ar_vs_stripe]
    if dead_letters:
        lines += ["", f"## Open dead letters up to the month end ({len(dead_letters)})", "",
                  "Documents the ERP refused and does not hold; fix the cause, replay "
                  "(erp_replay_dead_letters), then re-run the close.", ""]
        lines += [f"- {d.kind} {d.external_id} ({d.source_day}): {d.message}"
                  for d in dead_letters[:SHOWN_ITEMS]]
        if len(dead_letters) > SHOWN_ITEMS:
            lines.append(f"- ... {len(dead_letters) - SHOWN_ITEMS} more")
    return "\n".join(lines)
