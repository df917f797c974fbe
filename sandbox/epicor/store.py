"""In-memory Epicor company: seeded master data and the UpdateExt engine.

Everything runs under one lock; sequences (CustNum, OrderNum, InvoiceNum, HeadNum,
JournalNum, bank and part transaction numbers) are deterministic per reset.  The business
rules per table are in ``rules_sales``/``rules_finance``, the general ledger (fiscal
calendar, exchange rates, posted GL detail) in ``ledger``, the posting processes in
``posting`` and the other business-object methods in ``methods``.
"""
from __future__ import annotations

import re
import threading
from datetime import date
from decimal import Decimal
from typing import Any

from . import updates
from .errors import NOT_FOUND_EXCEPTION, ODATA_EXCEPTION, EpicorError, business
from .ledger import BASE_CURRENCY, COA, Ledger
from .odata import Row, to_decimal
from .tables import COMPUTED, D0, KEYS, TEMPLATES, Table, new_guid, new_tables, type_name

GL_ACCOUNTS = {
    "1010": "Operating bank", "1200": "Accounts receivable", "1250": "Stripe clearing",
    "1999": "Suspense", "2200": "Sales tax payable", "2450": "Deferred revenue",
    "4000": "Revenue",
    "4900": "Sales returns and allowances", "4910": "Chargebacks", "6100": "Merchant fees",
    "6110": "Dispute fees", "7900": "FX gain/loss", "2150": "Unapplied cash",
    "1260": "Cash in transit",
    "1270": "Stripe reserve",
    "2350": "Customer funds held by Stripe",
    "2400": "Stripe Capital financing",
    "4100": "Platform revenue",
    "6200": "Connect transfers",
    "6300": "Climate contributions",
    "6400": "Issuing spend",
    "6900": "Stripe adjustments",
}
BANKS = {"STRIPE": ("Stripe clearing", "1250"), "OPER": ("Operating", "1010"),
         "TRANSIT": ("Cash in transit", "1260")}
PAY_METHODS = {1: "CARD", 2: "ACH"}
WAREHOUSE = "MAIN"
PLANT = "MfgSys"
ON_HAND = Decimal(1_000_000)

LIMITS = {  # [A] column widths the sandbox enforces (see README)
    ("Customer", "CustID"): 10, ("Customer", "Name"): 50, ("OrderHed", "PONum"): 50,
    ("InvcHead", "PONum"): 50, ("InvcGrp", "GroupID"): 8, ("CashGrp", "GroupID"): 8,
    ("GLJrnGrp", "GroupID"): 8, ("CashHead", "CheckRef"): 30, ("GLJrnHed", "Description"): 60,
    ("InventoryQtyAdj", "Reference"): 50, ("BankFundsTransfer", "TranRef"): 50,
    **{(t, f): n for t in ("Customer", "ShipTo") for f, n in (
        ("Address1", 50), ("Address2", 50), ("Address3", 50), ("City", 50), ("State", 50),
        ("Country", 50))},
    ("Customer", "Zip"): 10, ("ShipTo", "ZIP"): 10, ("ShipTo", "Name"): 50,
    ("ShipTo", "ShipToNum"): 14,
}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")


def parse_date(value: Any) -> str | None:
    """Epicor dates: ``YYYY-MM-DDT00:00:00`` (accepts a date or a datetime)."""
    if value in (None, ""):
        return None
    text = str(value)
    m = re.match(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?"
                 r"(?:Z|[+-]\d{2}:?\d{2})?)?$", text)
    if not m:
        raise ValueError(text)
    date.fromisoformat(m.group(1))
    return f"{m.group(1)}T00:00:00"


SEQ_START = {"CustNum": 1001, "OrderNum": 5001, "InvoiceNum": 100001, "HeadNum": 1,
             "JournalNum": 1, "BankTranNum": 1, "PartTranNum": 1}


class Store:
    def __init__(self, company: str = "EPIC06", user: str = "manager") -> None:
        self.company = company
        self.user = user
        self.lock = threading.RLock()
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        with self.lock:
            self.t: dict[str, Table] = new_tables()
            self.seq = dict(SEQ_START)
            self.ledger = Ledger(self)
            self.bank_gl: dict[str, str] = {}
            self._seed()

    def _next(self, name: str) -> int:
        n = self.seq[name]
        self.seq[name] = n + 1
        return n

    def _row(self, table: str, **values: Any) -> Row:
        row = dict(TEMPLATES[table])
        row["Company"] = self.company
        row["SysRowID"] = new_guid()
        row.update(values)
        return row

    def _seed(self) -> None:
        for acct, desc in GL_ACCOUNTS.items():
            self.t["GLAccount"].insert(self._row(
                "GLAccount", COACode=COA, GLAccount=acct, GLAcctDisp=acct,
                AccountDesc=desc, GLShortAcct=acct, SegValue1=acct))
        for bank, (desc, gl) in BANKS.items():
            self.t["BankAcct"].insert(self._row(
                "BankAcct", BankAcctID=bank, Description=desc, BankName=desc,
                CurrencyCode=BASE_CURRENCY, CheckingAccount=f"{bank}-0001", CRJournalCode="CR"))
            self.bank_gl[bank] = gl
        for pmuid, name in PAY_METHODS.items():
            self.t["PayMethod"].insert(self._row("PayMethod", PMUID=pmuid, Name=name, Type=0))
        for n in range(1000, 1100):
            self.add_item(f"SKU-{n:05d}", ON_HAND, WAREHOUSE, True)
        for n in range(1, 11):
            self.add_item(f"SUB-{n:03d}", D0, WAREHOUSE, False)
        self.add_item("MISC", D0, WAREHOUSE, False)
        self.ledger.seed_rates()

    def add_item(self, sku: str, on_hand: Decimal, location: str, stocked: bool) -> None:
        with self.lock:
            parts = self.t["Part"]
            key = (self.company, sku)
            if key in parts.rows:
                parts.unindex(parts.rows[key])
            parts.insert(self._row("Part", PartNum=sku, PartDescription=f"Item {sku}",
                                   SearchWord=sku[:8], NonStock=not stocked,
                                   TypeCode="P" if stocked else "M"))
            whses = self.t["PartWhse"]
            if stocked:
                wkey = (self.company, sku, PLANT, location)
                if wkey in whses.rows:
                    whses.unindex(whses.rows[wkey])
                whses.insert(self._row("PartWhse", PartNum=sku, WarehouseCode=location,
                                       Plant=PLANT, OnHandQty=on_hand, PrimBinNum="A1"))

    def periods(self, close: str | None = None, open_: str | None = None,
                before: str | None = None) -> list[str]:
        """Close or reopen a fiscal period (``YYYY-MM``), or close every period before a
        date; the explicitly closed periods."""
        with self.lock:
            cal = self.ledger.calendar
            if before:
                cal.close_before(before)
            if close:
                cal.close(close)
            if open_:
                cal.open(open_)
            return cal.closed_months()

    # ------------------------------------------------------------------ helpers
    def check_len(self, table: str, row: Row, fieldname: str) -> None:
        limit = LIMITS.get((table, fieldname))
        value = row.get(fieldname) or ""
        if limit is not None and len(value) > limit:
            raise business(f"{fieldname} '{value}' is longer than {limit} characters.", table,
                           fieldname)

    def check_currency(self, table: str, row: Row) -> None:
        code = row.get("CurrencyCode") or ""
        if not _CURRENCY.match(code):
            raise business(f"Invalid Currency Code: '{code}'.", table, "CurrencyCode")

    def customer(self, cust_num: Any, table: str) -> Row:
        row = self.t["Customer"].get((self.company, cust_num)) if cust_num else None
        if row is None:
            raise business("A valid Customer is required." if not cust_num else
                           f"Customer {cust_num} not found.", table, "CustNum")
        return row

    def part(self, part_num: str, table: str, fieldname: str = "PartNum") -> Row:
        if not part_num:
            raise business("Part is required.", table, fieldname)
        row = self.t["Part"].get((self.company, part_num))
        if row is None:
            raise business(f"Invalid Part: {part_num}.", table, fieldname)
        return row

    def bank(self, bank_id: str, table: str, fieldname: str = "BankAcctID") -> Row:
        row = self.t["BankAcct"].get((self.company, bank_id)) if bank_id else None
        if row is None:
            raise business("Bank Account is required." if not bank_id else
                           f"Invalid Bank Account: {bank_id}.", table, fieldname)
        return row

    def merge(self, table: str, inp: Row, *, base: Row | None = None) -> Row:
        """A row from client JSON: template + values, with Epicor's types (400 on bad input)."""
        template = TEMPLATES[table]
        row = dict(base) if base is not None else dict(template)
        for name, value in inp.items():
            if name not in template:
                raise EpicorError(f"The property '{name}' does not exist on type "
                                  f"'{type_name(table)}'. Make sure to only use property "
                                  f"names that are defined by the type.",
                                  error_type=ODATA_EXCEPTION)
            default = template[name]
            try:
                row[name] = _coerce(name, default, value)
            except (TypeError, ValueError):
                raise EpicorError(f"Unable to deserialize entity: invalid value for "
                                  f"{table}.{name}.", error_type=ODATA_EXCEPTION) from None
        row["Company"] = self.company
        if not (isinstance(row.get("SysRowID"), str) and _GUID.match(row["SysRowID"])):
            row["SysRowID"] = new_guid()
        row["RowMod"] = inp.get("RowMod", "A") or ""
        return row

    # ------------------------------------------------------------------ UpdateExt
    def update_ext(self, service: str, ds: dict[str, Any], continue_on_error: bool,
                   rollback_parent: bool) -> dict[str, Any]:
        """``UpdateExt`` on ``service`` (see ``updates``)."""
        return updates.update_ext(self, service, ds, continue_on_error, rollback_parent)

    def patch(self, table: str, key: tuple, inp: Row) -> None:
        with self.lock:
            tbl = self.t[table]
            row = tbl.get(key)
            if row is None:
                raise EpicorError("Record not found.", status=404,
                                  error_type=NOT_FOUND_EXCEPTION, table=table)
            frozen = set(KEYS[table]) | COMPUTED.get(table, set())
            bad = [k for k in inp if k in frozen and inp[k] != row.get(k)]
            if bad:
                raise business(f"Field {bad[0]} cannot be changed.", table, bad[0])
            merged = self.merge(table, {k: v for k, v in inp.items() if k != "RowMod"},
                                base=row)
            tbl.unindex(row)
            merged["RowMod"], merged["SysRowID"] = "", row["SysRowID"]
            merged["SysRevID"] = row["SysRevID"] + 1
            row.clear()
            row.update(merged)
            tbl.insert(row)


def _coerce(name: str, default: Any, value: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise TypeError(name)
        return value
    if isinstance(default, int):
        if value is None:
            return 0
        if isinstance(value, bool):
            raise TypeError(name)
        if isinstance(value, float):
            if value != int(value):
                raise ValueError(name)
            return int(value)
        return int(value)
    if isinstance(default, Decimal):
        if value is None:
            return D0
        return to_decimal(value)
    if default is None:  # dates
        return parse_date(value)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(name)
    return value


