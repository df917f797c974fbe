"""Bank deposits: money arriving in a bank account from a clearing account (a Stripe
payout), posting Dr the bank account's GL account / Cr the clearing account."""
from __future__ import annotations

from typing import Any

from . import ledger
from .checks import Check, now_iso, zero
from .store import State


def create_deposit(s: State, body: Any) -> dict[str, Any]:
    c = Check(body)
    ext = s.external_ref(c, s.deposits, "deposit")
    bank = s.bank_of(c)
    deposit_date = c.day("depositDate")
    currency = c.currency()
    amount = c.amount("amount", currency, positive=True)
    clearing = s.account_of(c, "clearingAccountNumber")
    status = c.string("status", default="Posted", max_len=10)
    if status not in ("Posted", "Failed"):
        c.err("status", "INVALID", f"status must be Posted or Failed, got {status!r}")
    memo = c.string("memo")
    journal_id = c.string("journalEntryId", max_len=20)
    if journal_id and journal_id not in s.journals.rows:
        c.err("journalEntryId", "UNKNOWN_JOURNAL_ENTRY",
              f"Journal entry {journal_id} does not exist")
    if status == "Posted":
        s.check_period(c, "depositDate", deposit_date)
    c.done()
    dep_id = s.next_id("deposit", "DEP-{:06d}")
    ts = now_iso()
    rec = {"depositId": dep_id, "bankAccountId": bank["bankAccountId"],
           "depositDate": deposit_date.isoformat(), "amount": amount, "currency": currency,
           "clearingAccountNumber": clearing, "status": status, "memo": memo,
           "journalEntryId": journal_id, "externalReference": ext, "createdAt": ts,
           "modifiedAt": ts}
    s.deposits.add(rec)
    if status == "Posted" and not journal_id:   # a linked journal already booked it
        text = memo or f"Deposit {dep_id} {ext or ''}".strip()
        ledger.post(s, "BankDeposit", rec, "depositId", deposit_date, currency, [
            (bank["glAccountNumber"], amount, zero(currency), text),
            (clearing, zero(currency), amount, text)])
    return rec
