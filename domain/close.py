"""The month-end close, computed: the ERP's ledger against Stripe, per currency, to the minor unit.

Pure: no Dagster, no I/O.  The inputs are read elsewhere (``assets/close.py`` reads the
ERP's trial balance and AR sub-ledger through the adapter, ``warehouse/close_reads.py``
reads Stripe's side from the warehouse); every amount is integer minor units in the
currency's Stripe exponent (``domain/money.py``), signed, debit positive on the ERP side.

Per currency, at the month's last instant:

* clearing: the ERP's Stripe clearing account must equal Stripe's balance (available plus
  pending: the sum of ``net`` of every balance transaction created by then).  The difference
  is broken into reconciling items.  An item that *explains* (a timing difference with a
  known, correct cause: a balance transaction the ERP dates in the other period because the
  posting day is a UTC day and the reporting timezone is not UTC) reduces the difference; an
  item that is only *identified* (a payout in transit still held in clearing because the
  mapping has no cash-in-transit account) is named in the report but stays unexplained,
  since the books need an adjusting entry.  ``unexplained_minor`` = clearing - Stripe balance
  - explained items.
* cash in transit (when the mapping has an in-transit account): that account must equal the
  payouts Stripe has sent and the bank has not yet received; ``in_transit_unexplained_minor``
  is the difference.
* sales tax (when the mapping has a sales tax payable account): its credit balance must
  equal Stripe's tax collected less refunded by then (``tax_unexplained_minor``).
* receivables: the AR control account must equal the ERP's own open-items sub-ledger at that
  date (``ar_difference_minor``), and is shown against Stripe's open invoices
  (``ar_vs_stripe_minor``; informational until invoices reach the ERP when finalized).

The close balances when, in every currency, the three unexplained figures and the AR
difference are 0.  The total ``unexplained_minor`` adds absolute values, so two currencies' errors
never cancel.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from .money import normalize_currency

# reconciling item kinds
POSTING_DAY_CUTOFF = "posting_day_cutoff"      # explains: dated in the other period by the ERP
PAYOUT_IN_CLEARING = "payout_in_transit_in_clearing"  # identified only: needs an adjustment
AR_JOURNAL = "journal_in_ar_control"           # identified only: AR moved without a document


@dataclass(frozen=True)
class CloseAccounts:
    """The ERP accounts the close reads (codes as in the mapping)."""

    clearing: str
    receivable: str
    in_transit: str | None = None   # None: the mapping books payouts on arrival (no transit)
    tax_payable: str | None = None  # None: no sales tax account to compare


@dataclass(frozen=True)
class PayoutInTransit:
    """A payout Stripe had sent (its balance transaction created) and the bank had not
    received at the month's end."""

    payout: str
    currency: str
    amount_minor: int
    arrival: date


@dataclass(frozen=True)
class CutoffTransaction:
    """A balance transaction that Stripe's balance and the ERP's ledger put in different
    periods: ``in_erp`` True when the ERP has it at the month end and Stripe's balance at
    that instant does not (posting day ends before the reporting month), False for the
    reverse."""

    id: str
    currency: str
    net_minor: int
    in_erp: bool


@dataclass(frozen=True)
class ArJournalLine:
    """A line a GL journal (not an AR invoice, receipt or credit memo) posted to the AR
    control account: the open-items sub-ledger never sees it."""

    voucher: str
    currency: str
    amount_minor: int
    posted_on: date


@dataclass(frozen=True)
class ReconcilingItem:
    currency: str
    kind: str
    amount_minor: int       # its effect on clearing - Stripe balance (AR items: on AR control)
    reference: str          # the Stripe object behind it
    note: str
    explains: bool


@dataclass(frozen=True)
class CurrencyClose:
    currency: str
    clearing_minor: int
    stripe_balance_minor: int
    in_transit_stripe_minor: int
    in_transit_gl_minor: int | None          # None: no in-transit account in the mapping
    ar_control_minor: int
    ar_subledger_minor: int
    stripe_open_invoices_minor: int
    tax_payable_gl_minor: int | None = None   # the ERP's balance, debit positive (None: off)
    stripe_tax_minor: int = 0                 # Stripe's tax collected less refunded
    items: tuple[ReconcilingItem, ...] = ()
    ar_items: tuple[ReconcilingItem, ...] = ()      # behind the AR difference

    @property
    def difference_minor(self) -> int:
        return self.clearing_minor - self.stripe_balance_minor

    @property
    def explained_minor(self) -> int:
        return sum(i.amount_minor for i in self.items if i.explains)

    @property
    def identified_minor(self) -> int:
        """Unexplained, but with its cause named (items that need an adjusting entry)."""
        return sum(i.amount_minor for i in self.items if not i.explains)

    @property
    def unexplained_minor(self) -> int:
        return self.difference_minor - self.explained_minor

    @property
    def unidentified_minor(self) -> int:
        return self.unexplained_minor - self.identified_minor

    @property
    def in_transit_unexplained_minor(self) -> int:
        if self.in_transit_gl_minor is None:
            return 0
        return self.in_transit_gl_minor - self.in_transit_stripe_minor

    @property
    def tax_unexplained_minor(self) -> int:
        """The tax liability the ERP holds (its credit balance) less Stripe's."""
        if self.tax_payable_gl_minor is None:
            return 0
        return -self.tax_payable_gl_minor - self.stripe_tax_minor

    @property
    def ar_difference_minor(self) -> int:
        return self.ar_control_minor - self.ar_subledger_minor

    @property
    def ar_vs_stripe_minor(self) -> int:
        return self.ar_control_minor - self.stripe_open_invoices_minor

    @property
    def balanced(self) -> bool:
        return not (self.unexplained_minor or self.in_transit_unexplained_minor
                    or self.tax_unexplained_minor or self.ar_difference_minor)


@dataclass(frozen=True)
class CloseResult:
    period_end: date                      # the ERP's as-of day
    at: int                               # Stripe's instant: the month's last second
    currencies: dict[str, CurrencyClose] = field(default_factory=dict)

    @property
    def unexplained_minor(self) -> int:
        """Sum over currencies of the absolute unexplained minor units (clearing, in
        transit, sales tax): 0 exactly when every currency is explained."""
        return sum(abs(c.unexplained_minor) + abs(c.in_transit_unexplained_minor)
                   + abs(c.tax_unexplained_minor) for c in self.currencies.values())

    @property
    def ar_difference_minor(self) -> int:
        return sum(abs(c.ar_difference_minor) for c in self.currencies.values())

    @property
    def balanced(self) -> bool:
        return all(c.balanced for c in self.currencies.values())

    def off(self) -> list[CurrencyClose]:
        return [c for c in self.currencies.values() if not c.balanced]


def _by_currency(values: Mapping[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for cur, amount in values.items():
        key = normalize_currency(cur)
        out[key] = out.get(key, 0) + int(amount)
    return out


def compute_close(*, period_end: date, at: int, accounts: CloseAccounts,
                  trial_balance: Mapping[tuple[str, str], int],
                  stripe_balance: Mapping[str, int],
                  ar_subledger: Mapping[str, int],
                  stripe_open_invoices: Mapping[str, int] | None = None,
                  payouts_in_transit: Iterable[PayoutInTransit] = (),
                  cutoff: Iterable[CutoffTransaction] = (),
                  ar_journal_lines: Iterable[ArJournalLine] = (),
                  stripe_tax: Mapping[str, int] | None = None) -> CloseResult:
    """The close at one month end (see the module docstring).

    ``trial_balance``: (account, currency) -> balance as of ``period_end``;
    ``stripe_balance``: currency -> Stripe's balance at ``at``;
    ``ar_subledger``: currency -> the ERP's open AR items at ``period_end``;
    ``ar_journal_lines``: GL journal lines on the AR control account up to ``period_end``;
    ``stripe_tax``: currency -> Stripe's sales tax collected less refunded at ``at``.
    """
    clearing: dict[str, int] = {}
    transit_gl: dict[str, int] = {}
    ar: dict[str, int] = {}
    tax_gl: dict[str, int] = {}
    for (account, cur), amount in trial_balance.items():
        target = (clearing if account == accounts.clearing else
                  transit_gl if account == accounts.in_transit else
                  ar if account == accounts.receivable else
                  tax_gl if account == accounts.tax_payable else None)
        if target is not None:
            key = normalize_currency(cur)
            target[key] = target.get(key, 0) + int(amount)
    stripe = _by_currency(stripe_balance)
    subledger = _by_currency(ar_subledger)
    open_invoices = _by_currency(stripe_open_invoices or {})
    tax = _by_currency(stripe_tax or {})
    transit: dict[str, int] = {}
    items: dict[str, list[ReconcilingItem]] = {}
    for po in payouts_in_transit:
        cur = normalize_currency(po.currency)
        transit[cur] = transit.get(cur, 0) + po.amount_minor
        if accounts.in_transit is None:
            items.setdefault(cur, []).append(ReconcilingItem(
                cur, PAYOUT_IN_CLEARING, po.amount_minor, po.payout,
                f"payout arriving {po.arrival.isoformat()}: sent by Stripe, still in clearing "
                f"(the mapping has no cash-in-transit account)", explains=False))
    for bt in cutoff:
        cur = normalize_currency(bt.currency)
        amount = bt.net_minor if bt.in_erp else -bt.net_minor
        where = ("in the ERP's period, after the month's end in the reporting timezone"
                 if bt.in_erp else
                 "inside the month in the reporting timezone, dated the next day by the ERP")
        items.setdefault(cur, []).append(ReconcilingItem(
            cur, POSTING_DAY_CUTOFF, amount, bt.id, f"posting-day cut-off: {where}",
            explains=True))
    ar_items: dict[str, list[ReconcilingItem]] = {}
    for line in ar_journal_lines:
        if line.amount_minor:
            cur = normalize_currency(line.currency)
            ar_items.setdefault(cur, []).append(ReconcilingItem(
                cur, AR_JOURNAL, line.amount_minor, line.voucher,
                f"GL journal dated {line.posted_on.isoformat()} on the AR control account: "
                f"no AR document, so the open items never see it", explains=False))
    currencies = set(clearing) | set(transit_gl) | set(ar) | set(stripe) | set(subledger) | set(
        open_invoices) | set(transit) | set(items) | set(tax_gl) | set(tax)
    result = {}
    for cur in sorted(currencies):
        figures = (clearing.get(cur), transit_gl.get(cur), ar.get(cur), stripe.get(cur),
                   subledger.get(cur), open_invoices.get(cur), transit.get(cur), items.get(cur),
                   tax_gl.get(cur), tax.get(cur))
        if not any(figures):        # a currency the ledger touched and left at zero
            continue
        result[cur] = CurrencyClose(
            currency=cur, clearing_minor=clearing.get(cur, 0),
            stripe_balance_minor=stripe.get(cur, 0),
            in_transit_stripe_minor=transit.get(cur, 0),
            in_transit_gl_minor=(transit_gl.get(cur, 0) if accounts.in_transit else None),
            ar_control_minor=ar.get(cur, 0), ar_subledger_minor=subledger.get(cur, 0),
            stripe_open_invoices_minor=open_invoices.get(cur, 0),
            tax_payable_gl_minor=(tax_gl.get(cur, 0) if accounts.tax_payable else None),
            stripe_tax_minor=tax.get(cur, 0),
            items=tuple(sorted(items.get(cur, ()), key=lambda i: (i.kind, i.reference))),
            ar_items=tuple(ar_items.get(cur, ())))
    return CloseResult(period_end=period_end, at=at, currencies=result)
