"""Generator profiles: which account the sandbox models and what history it generates.

* ``default`` - one US account settling in USD only (the history wave-1 tests
  were written against; unchanged).
* ``accrual`` - the same account with bank accounts in USD, EUR and GBP, and
  the month-end activity of :mod:`.accrual` (tax, open invoices, bank-debit
  failures, Connect, reserves, fees, instant payouts, 20+ currencies).
* ``subscriptions`` - the accrual profile's bank accounts and a SaaS subscription business
  (:mod:`.subscription_history`: trials, coupons, prorations, cancellations, pauses, credit
  notes, dunning) on top of the default activity.

The profile is stored in the database (``meta``), so a restarted sandbox on
the same ``--db`` keeps it.
"""
from __future__ import annotations

from typing import Any

from .accrual import SETTLEMENT_CURRENCIES

PROFILES = ("default", "accrual", "subscriptions")


def apply(e: Any, name: str) -> None:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; expected one of {', '.join(PROFILES)}")
    e.profile = name
    e.settlement_currencies = list(SETTLEMENT_CURRENCIES) if name != "default" else ["usd"]
    e.op("INSERT OR REPLACE INTO meta VALUES ('profile', ?)", (name.encode(),))


def restore(e: Any) -> None:
    """Adopt the profile a reused database was generated with."""
    stored = e.store.meta_get("profile")
    if stored is not None:
        apply(e, bytes(stored).decode())
        e.flush()
