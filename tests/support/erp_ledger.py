"""What a trial balance read through an ERP's GL API must agree with, and how to read it.

* Stripe's side comes from the Stripe API: ``GET /v1/balance`` (available plus pending,
  per currency) taken back to the history's as-of instant by the net of any balance
  transaction created since, and the payouts still travelling to the bank on that day.
* The ERP's side comes only through the adapter: ``gl_lines``/``trial_balance`` (the ERP's
  GL inquiry API) and ``read`` (its sub-ledgers: invoices with their open balance, deposits).

An ERP opts in to the ledger checks by implementing ``ErpAdapter.gl_lines``;
:func:`missing_capability` gives the precise reason a check is skipped until it does.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from connectors.erp import ErpAdapter
from connectors.stripe import StripeApi
from domain.postings import utc_date


def missing_capability(what: str, adapter: ErpAdapter | None = None,
                       control_url: str | None = None, kind: str = "") -> str | None:
    """Why the ``what`` check cannot run against this ERP yet (None: it can).

    ``gl_lines``: the adapter's class does not override ``ErpAdapter.gl_lines``.
    ``periods``: the sandbox does not answer ``POST /_sandbox/periods``.
    """
    if what == "gl_lines":
        assert adapter is not None
        base = getattr(ErpAdapter, "gl_lines", None)
        impl = getattr(type(adapter), "gl_lines", None)
        if impl is None or impl is base:
            return (f"{adapter.erp}: {type(adapter).__name__} does not implement "
                    f"ErpAdapter.gl_lines yet (the ERP's GL inquiry API, TEAM.md)")
        return None
    if what == "periods":
        resp = httpx.post(f"{control_url}/_sandbox/periods", json={"open": "2000-01"}, timeout=30)
        if resp.status_code in (404, 405):
            return f"{kind}: the sandbox has no POST /_sandbox/periods control yet (TEAM.md)"
        resp.raise_for_status()
        return None
    raise ValueError(what)


# ------------------------------------------------------------------------------ Stripe side
@dataclass(frozen=True)
class StripeSide:
    balance: Counter[str]                     # currency -> available + pending, minor units
    in_transit: dict[str, tuple[str, int]]    # payout id -> (currency, amount) not yet arrived


def stripe_side(api_key: str, base_url: str, as_of: int) -> StripeSide:
    """Stripe's balance at the instant ``as_of`` and the payouts in transit on that day."""
    api = StripeApi(api_key, base_url, rate_limit=1000)
    balance: Counter[str] = Counter()
    raw = api.get("/v1/balance")
    for part in ("available", "pending"):
        for amount in raw[part]:
            balance[amount["currency"].upper()] += int(amount["amount"])
    for page in api.pages("/v1/balance_transactions", {"created[gt]": as_of}):
        for bt in page["data"]:                      # created after the as-of instant
            balance[bt["currency"].upper()] -= int(bt["net"])
    day = utc_date(as_of)
    transit: dict[str, tuple[str, int]] = {}
    for page in api.pages("/v1/payouts", {"created[lte]": as_of}):
        for po in page["data"]:
            if po.get("balance_transaction") and utc_date(po["arrival_date"]) > day:
                transit[po["id"]] = (po["currency"].upper(), int(po["amount"]))
    return StripeSide(balance, transit)


# ------------------------------------------------------------------------------ ERP side
def sums(lines: Iterable[Any], key: Any) -> dict[Any, int]:
    out: dict[Any, int] = defaultdict(int)
    for line in lines:
        out[key(line)] += line.amount_minor
    return dict(out)


def unbalanced_vouchers(lines: Iterable[Any]) -> dict[tuple[str, str], int]:
    """(voucher, currency) -> sum, for every voucher whose lines do not sum to zero."""
    return {k: v for k, v in sums(lines, lambda x: (x.voucher, x.currency)).items() if v}


def names_period(message: str, day: date) -> bool:
    """Whether an ERP's message names the accounting period holding ``day`` (``2026-11``,
    ``202611``, ``11/2026``, ``2026/11``, ``period 11 ... 2026``); a date such as
    ``2026-11-09`` names a day, not its period."""
    y, m = day.year, day.month
    forms = (rf"(?<![\d/-]){y}-{m:02d}(?![\d/-])", rf"(?<![\d/-]){y}{m:02d}(?![\d/-])",
             rf"(?<![\d/-])0?{m}/{y}(?![\d/-])", rf"(?<![\d/-]){y}/{m:02d}(?![\d/-])",
             rf"period\D{{0,3}}0?{m}\b.*\b{y}\b", rf"\b{y}\b.*period\D{{0,3}}0?{m}\b")
    return any(re.search(f, message, re.I) for f in forms)
