"""Posting rules for the balance transactions that are not charges.

The mapping names, for every Stripe reporting category (and a few balance transaction
types), either an account or a posting rule (``domain.mapping.RULES``):

* an account: the general rule.  For a BT with ``amount``, ``fee`` and
  ``net = amount - fee``, Stripe clearing takes ``net`` (debit when positive), the
  account takes ``-amount`` and the fee account ``fee`` (dispute fees for disputes,
  merchant fees otherwise).  The three sum to zero, so the journal balances by
  construction, to the minor unit, in the BT's own currency, dated by the BT's
  ``created`` (the moment Stripe moved the money);
* ``payout``: the general rule with cash in transit as the account (Stripe clearing ->
  cash in transit, with any fee on the payout's own BT, such as the Instant Payout
  fee, to merchant fees), and, once the payout has arrived (status ``paid``), a
  bank deposit from cash in transit into the operating bank dated at its
  ``arrival_date``;
* ``payout_reversal``: a failed or cancelled payout comes back to Stripe clearing from
  cash in transit; when it failed after its arrival date (Stripe can fail a payout days
  after marking it paid), the money had reached the bank: the deposit stands (it is
  posted now if it was not yet) and the failure takes the money out of the bank;
* ``reopen_receivable``: a payment Stripe took back after it succeeded (ACH or SEPA
  ``payment_failure_refund``): a debit memo in the AR sub-ledger (``domain.receivables``,
  called by the builder, which has the charge).

A BT whose type and category the mapping does not name is a :class:`PostingProblem`
(a dead letter naming the BT and its category), never a suspense posting.

Pure functions of the Stripe objects and the mapping: no I/O, no Dagster.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from .erp import BankDeposit, DocKind, Document, JournalEntry, JournalLine
from .mapping import Mapping
from .money import Money, normalize_currency

Obj = dict[str, Any]


class PostingProblem(ValueError):
    """Stripe data that cannot become an ERP document (names the object and field)."""

    def __init__(self, kind: DocKind, external_id: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.external_id, self.message = kind, external_id, message


def utc_date(ts: int) -> date:
    return datetime.fromtimestamp(int(ts), tz=timezone.utc).date()


def ref(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


def category_of(bt: Obj) -> str:
    return bt.get("reporting_category") or bt.get("type") or ""


def journal_lines(legs: list[tuple[str, int]], currency: str, memo: str) -> list[JournalLine]:
    """One-sided lines from signed legs (+ debit, - credit), merged per account."""
    merged: dict[str, int] = {}
    for account, value in legs:
        merged[account] = merged.get(account, 0) + value
    zero = Money(0, currency)
    return [JournalLine(account=a, debit=Money(v, currency) if v > 0 else zero,
                        credit=Money(-v, currency) if v < 0 else zero, memo=memo[:60])
            for a, v in merged.items() if v != 0]


def fee_account(category: str, mapping: Mapping) -> str:
    return mapping.account("dispute_fees" if category.startswith("dispute")
                           else "merchant_fees")


def journal_from_bt(bt: Obj, mapping: Mapping, account_name: str,
                    external_id: str | None = None, memo: str | None = None, tax: int = 0
                    ) -> JournalEntry | None:
    """The general rule (module docstring); None when the BT moves nothing.

    ``tax`` is the part of ``amount`` that is sales tax (a refund of a taxed charge:
    negative): sales tax payable takes it instead of the account."""
    amount, fee = int(bt["amount"]), int(bt["fee"])
    currency = normalize_currency(bt["currency"])
    category = category_of(bt)
    legs = [(mapping.account("stripe_clearing"), amount - fee),
            (mapping.account(account_name), -(amount - tax)),
            (mapping.account("sales_tax_payable"), -tax),
            (fee_account(category, mapping), fee)]
    lines = journal_lines(legs, currency, memo=memo or bt.get("description") or "")
    if not lines:       # a fee refunded on the fee account itself: nothing moves
        return None
    return JournalEntry(external_id=external_id or bt["id"], entry_date=utc_date(bt["created"]),
                        currency=currency, memo=(memo or f"Stripe {category} {bt['id']}")[:60],
                        source=category or "other_adjustment", lines=tuple(lines))


def unmapped(bt: Obj) -> PostingProblem:
    category = bt.get("reporting_category")
    return PostingProblem(
        DocKind.JOURNAL, bt["id"],
        f"balance_transaction {bt['id']}: reporting_category {category!r} (type "
        f"{bt.get('type')!r}) has no account or posting rule in the mapping; add it under "
        f"reporting_categories (or balance_types) and replay")


def tax_journal(external_id: str, day: date, tax: Money, mapping: Mapping,
                memo: str) -> JournalEntry:
    """Tax invoiced gross out of revenue into sales tax payable."""
    lines = journal_lines([(mapping.account("revenue"), tax.amount),
                           (mapping.account("sales_tax_payable"), -tax.amount)],
                          tax.currency, memo)
    return JournalEntry(external_id=external_id, entry_date=day, currency=tax.currency,
                        memo=memo[:60], source="sales_tax", lines=tuple(lines))


def bt_documents(bt: Obj, mapping: Mapping, payouts: dict[str, Obj] | Any, tax: int = 0
                 ) -> list[Document]:
    """The documents of a BT whose rule is not ``receipt`` (raises PostingProblem);
    ``tax``: the sales tax in a refund's amount (see ``journal_from_bt``)."""
    rule = mapping.rule_for(bt.get("type"), bt.get("reporting_category"))
    if rule is None:
        raise unmapped(bt)
    if rule == "payout":
        return payout_documents(bt, mapping, payouts)
    if rule == "payout_reversal":
        return payout_reversal_documents(bt, mapping, payouts)
    if rule in ("receipt", "credit_memo", "reopen_receivable"):   # need the BT's source
        raise PostingProblem(DocKind.JOURNAL, bt["id"],
                             f"balance_transaction {bt['id']}: rule {rule} needs its "
                             f"{category_of(bt)} object")
    journal = journal_from_bt(bt, mapping, rule, tax=tax)
    return [journal] if journal is not None else []


def payout_documents(bt: Obj, mapping: Mapping, payouts: dict[str, Obj] | Any
                     ) -> list[Document]:
    """Stripe clearing -> cash in transit at the BT; in transit -> bank on arrival."""
    payout = _payout_of(bt, payouts)
    out: list[Document] = []
    sent = journal_from_bt(bt, mapping, "cash_in_transit", external_id=bt["id"],
                           memo=f"Stripe payout {payout['id']} sent")
    if sent is not None:
        out.append(sent)
    if payout.get("status") == "paid":
        out.append(_arrival(payout, mapping))
    return out


def payout_reversal_documents(bt: Obj, mapping: Mapping, payouts: dict[str, Obj] | Any
                              ) -> list[Document]:
    """Back to Stripe clearing: from cash in transit, or from the bank after arrival."""
    payout = _payout_of(bt, payouts)
    arrived = payout.get("arrival_date") and utc_date(bt["created"]) > utc_date(
        payout["arrival_date"])
    out: list[Document] = [_arrival(payout, mapping)] if arrived else []
    back = journal_from_bt(bt, mapping, "operating_bank" if arrived else "cash_in_transit",
                           memo=f"Stripe payout {payout['id']} {payout.get('status')}")
    if back is not None:
        out.append(back)
    return out


def _payout_of(bt: Obj, payouts: dict[str, Obj] | Any) -> Obj:
    pid = ref(bt.get("source"))
    payout = payouts.get(pid or "")
    if payout is None:
        raise PostingProblem(DocKind.DEPOSIT, pid or bt["id"],
                             f"balance_transaction {bt['id']}: payout {pid} is not in the mirror")
    return payout


def _arrival(payout: Obj, mapping: Mapping) -> BankDeposit:
    """In transit -> operating bank, dated at the payout's arrival date."""
    return BankDeposit(external_id=payout["id"], bank_account=mapping.account("operating_bank"),
                       clearing_account=mapping.account("cash_in_transit"),
                       deposit_date=utc_date(payout.get("arrival_date") or payout["created"]),
                       amount=Money(int(payout["amount"]), payout["currency"]))
