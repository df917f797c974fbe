"""In-memory TIMS state: the seeded company, its records, sequences and closed periods.

Records are kept in their wire shape (dicts with ``Decimal`` amounts), so rendering is a
copy.  Every mutation happens under ``State.lock`` (taken by the HTTP layer for a whole
request or batch).  Identifiers come from deterministic sequences reset by ``reset()``.
The business rules live with their document family (``sales``, ``receivables``,
``ledger``, ``banking``, ``inventory``); this module holds what they share.
"""
from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from typing import Any

from .checks import Check, Collection, duplicate

ACCOUNTS = [("1010", "Operating bank", "Asset"), ("1200", "Accounts receivable", "Asset"),
            ("1250", "Stripe clearing", "Asset"), ("1999", "Suspense", "Asset"),
            ("2200", "Sales tax payable", "Liability"),
            ("2300", "Unapplied receipts", "Liability"),
            ("2450", "Deferred revenue", "Liability"), ("4000", "Revenue", "Revenue"),
            ("4900", "Sales returns and allowances", "Revenue"),
            ("4910", "Chargebacks", "Revenue"), ("6100", "Merchant fees", "Expense"),
            ("6110", "Dispute fees", "Expense"), ("7900", "FX gain/loss", "Expense"),
            ("1260", "Cash in transit", "Asset"),
            ("1270", "Stripe reserve", "Asset"),
            ("2350", "Customer funds held by Stripe", "Liability"),
            ("2400", "Stripe Capital financing", "Liability"),
            ("4100", "Platform revenue", "Revenue"),
            ("6200", "Connect transfers", "Expense"),
            ("6300", "Climate contributions", "Expense"),
            ("6400", "Issuing spend", "Expense"),
            ("6900", "Stripe adjustments", "Expense")]
BANK_ACCOUNTS = [("STRIPE", "Stripe clearing", "1250"), ("OPER", "Operating account", "1010")]
PAYMENT_METHODS = [("CARD", "Credit card"), ("ACH", "ACH bank transfer")]
LOCATIONS = [("MAIN", "Main warehouse"), ("01", "Branch 01")]
# The accounts TIMS posts sub-ledger documents to (its posting setup; CONTRACT.md).
POSTING_SETUP = {"receivablesAccount": "1200", "salesAccount": "4000",
                 "salesTaxAccount": "2200", "freightAccount": "4000",
                 "unappliedReceiptsAccount": "2300"}
STOCK_ON_HAND = Decimal(1_000_000)


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def __getstate__(self) -> dict[str, Any]:  # pickled by --state-file, without the lock
        return {k: v for k, v in self.__dict__.items() if k != "lock"}

    def __setstate__(self, saved: dict[str, Any]) -> None:
        self.__dict__.update(saved)
        self.lock = threading.RLock()

    # -------------------------------------------------------------------- seed
    def reset(self) -> None:
        self.accounts = {n: {"accountNumber": n, "name": name, "type": t, "active": True}
                         for n, name, t in ACCOUNTS}
        self.bank_accounts = {i: {"bankAccountId": i, "name": name, "glAccountNumber": gl}
                              for i, name, gl in BANK_ACCOUNTS}
        self.payment_methods = {c: {"code": c, "description": d} for c, d in PAYMENT_METHODS}
        self.locations = {i: {"locationId": i, "name": name} for i, name in LOCATIONS}
        self.posting_setup = dict(POSTING_SETUP)
        self.items: dict[str, dict[str, Any]] = {}
        self.stock: dict[tuple[str, str], Decimal] = {}
        for n in range(1000, 1100):
            self.put_item(f"SKU-{n:05d}", STOCK_ON_HAND, "MAIN", True)
        for n in range(1, 11):
            self.put_item(f"SUB-{n:03d}", None, None, False, "Subscription plan")
        self.put_item("MISC", None, None, False, "Miscellaneous charge")
        self.customers = Collection("customerCode")
        self.orders = Collection("orderNumber")
        self.invoices = Collection("invoiceNumber")
        self.payments = Collection("paymentNumber")
        self.credit_memos = Collection("creditMemoNumber")
        self.refunds = Collection("refundNumber")
        self.journals = Collection("journalEntryId")
        self.adjustments = Collection("adjustmentId")
        self.deposits = Collection("depositId")
        self.gl: list[dict[str, Any]] = []          # general ledger entries, posting order
        self.scratch: dict[str, Any] = {}           # derived data (the last ledger scan)
        self.seq: dict[str, int] = {}
        self.closed_periods: set[str] = set()       # "YYYY-MM"
        self.closed_before: date | None = None

    def put_item(self, sku: str, on_hand: Decimal | None, location: str | None, stocked: bool,
                 description: str | None = None) -> None:
        self.items[sku] = {"sku": sku, "description": description or f"Item {sku}",
                           "uom": "EA", "stocked": stocked, "active": True}
        if stocked and location:
            self.locations.setdefault(location, {"locationId": location, "name": location})
            self.stock[(sku, location)] = Decimal(str(on_hand or 0))

    def next_id(self, name: str, fmt: str, start: int = 1) -> str:
        n = self.seq.get(name, start - 1) + 1
        self.seq[name] = n
        return fmt.format(n)

    # -------------------------------------------------------------------- periods
    def period_closed(self, when: date) -> bool:
        return f"{when:%Y-%m}" in self.closed_periods or (
            self.closed_before is not None and when < self.closed_before)

    def check_period(self, c: Check, f: str, when: date | None) -> None:
        """A document dated in a closed accounting period is refused, naming the period."""
        if when is not None and self.period_closed(when):
            c.err(f, "PERIOD_CLOSED", f"The accounting period {when:%Y-%m} is closed "
                                      f"({f} {when.isoformat()})")

    # -------------------------------------------------------------------- references
    def customer_of(self, c: Check, f: str = "customerCode") -> dict[str, Any] | None:
        code = c.string(f, required=True)
        if code is None:
            return None
        cust = self.customers.get(code)
        if cust is None:
            c.err(f, "UNKNOWN_CUSTOMER", f"Customer {code} does not exist")
        return cust

    def location_of(self, c: Check, default: str | None) -> str | None:
        loc = c.string("locationId", required=default is None, default=default)
        if loc is not None and loc not in self.locations:
            c.err("locationId", "UNKNOWN_LOCATION", f"Location {loc} does not exist")
        return loc

    def account_of(self, c: Check, f: str, default: str | None = None) -> str | None:
        acct = c.string(f, required=default is None, default=default, max_len=10)
        if acct and acct not in self.accounts:
            c.err(f, "UNKNOWN_ACCOUNT", f"Account {acct} does not exist")
        return acct

    def bank_of(self, c: Check) -> dict[str, Any] | None:
        bank = c.string("bankAccountId", required=True)
        if bank and bank not in self.bank_accounts:
            c.err("bankAccountId", "UNKNOWN_BANK_ACCOUNT", f"Bank account {bank} does not exist")
        return self.bank_accounts.get(bank or "")

    @staticmethod
    def document_of(c: Check, f: str, coll: Collection, what: str, number: str | None,
                    cust: dict[str, Any] | None, currency: str | None, this: str
                    ) -> dict[str, Any] | None:
        """The document ``number`` refers to when it exists, is the customer's and in the
        currency; otherwise None, with the error on field ``f``."""
        doc = coll.get(number) if number else None
        code = what.upper().replace(" ", "_")
        if number and doc is None:
            c.err(f, f"UNKNOWN_{code}", f"{what} {number} does not exist")
        elif doc is not None and cust and doc["customerCode"] != cust["customerCode"]:
            c.err(f, f"{code}_CUSTOMER_MISMATCH", f"{what} {number} belongs to customer "
                                                  f"{doc['customerCode']}, not {cust['customerCode']}")
        elif doc is not None and currency and doc["currency"] != currency:
            c.err(f, "CURRENCY_MISMATCH", f"{what} {number} is in {doc['currency']}, the {this} "
                                          f"in {currency}")
        else:
            return doc
        return None

    @staticmethod
    def external_ref(c: Check, coll: Collection, what: str) -> str | None:
        ext = c.string("externalReference")
        if ext and ext in coll.by_ext:  # the duplicate wins over any other error
            raise duplicate(what, ext, coll.by_ext[ext])
        return ext
