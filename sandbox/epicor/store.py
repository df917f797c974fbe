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
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .errors import NOT_FOUND_EXCEPTION, ODATA_EXCEPTION, EpicorError, business
from .ledger import BASE_CURRENCY, COA, Ledger
from .odata import Row, to_decimal
from .rules_finance import CashHooks, GroupHooks, JournalHooks
from .rules_sales import CustomerHooks, Hooks, InvoiceHooks, OrderHooks
from .tables import D0, KEYS, NAVIGATIONS, TEMPLATES, Table, new_guid, new_tables, type_name

GL_ACCOUNTS = {
    "1010": "Operating bank", "1200": "Accounts receivable", "1250": "Stripe clearing",
    "1999": "Suspense", "2200": "Sales tax payable", "4000": "Revenue",
    "4900": "Sales returns and allowances", "4910": "Chargebacks", "6100": "Merchant fees",
    "6110": "Dispute fees", "7900": "FX gain/loss", "2150": "Unapplied cash",
}
BANKS = {"STRIPE": ("Stripe clearing", "1250"), "OPER": ("Operating", "1010")}
PAY_METHODS = {1: "CARD", 2: "ACH"}
WAREHOUSE = "MAIN"
PLANT = "MfgSys"
ON_HAND = Decimal(1_000_000)

LIMITS = {  # [A] column widths the sandbox enforces (see README)
    ("Customer", "CustID"): 10, ("Customer", "Name"): 50, ("OrderHed", "PONum"): 50,
    ("InvcHead", "PONum"): 50, ("InvcGrp", "GroupID"): 8, ("CashGrp", "GroupID"): 8,
    ("GLJrnGrp", "GroupID"): 8, ("CashHead", "CheckRef"): 30, ("GLJrnHed", "Description"): 60,
    ("InventoryQtyAdj", "Reference"): 50, ("BankFundsTransfer", "TranRef"): 50,
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


@dataclass
class UnitError:
    table: str
    row: Row
    err: EpicorError


def bo_update_error(e: UnitError) -> dict[str, Any]:
    return {"TableName": e.table, "ErrorLevel": "Error", "ErrorType": e.err.error_type or "",
            "ErrorText": e.err.message, "ErrorSysRowID": e.row.get("SysRowID", ""),
            "SysRowID": new_guid(), "RowMod": e.row.get("RowMod", "A")}


@dataclass
class Spec:
    """How UpdateExt processes one service's tableset: headers with optional children."""

    header: str
    child: str | None = None
    seq: str | None = None          # header key field the server assigns (OrderNum, ...)
    line: str | None = None         # child line-number field (OrderLine, ...)


SPECS: dict[str, Spec] = {
    "Erp.BO.CustomerSvc": Spec("Customer", seq="CustNum"),
    "Erp.BO.SalesOrderSvc": Spec("OrderHed", "OrderDtl", "OrderNum", "OrderLine"),
    "Erp.BO.InvcGrpSvc": Spec("InvcGrp"),
    "Erp.BO.ARInvoiceSvc": Spec("InvcHead", "InvcDtl", "InvoiceNum", "InvoiceLine"),
    "Erp.BO.CashGrpSvc": Spec("CashGrp"),
    "Erp.BO.CashRecSvc": Spec("CashHead", "CashDtl", "HeadNum"),
    "Erp.BO.GLJrnGrpSvc": Spec("GLJrnGrp"),
    "Erp.BO.GLJournalEntrySvc": Spec("GLJrnHed", "GLJrnDtlMnl", "JournalNum", "JournalLine"),
}
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
        spec = SPECS.get(service)
        if spec is None:
            raise EpicorError(f"Method UpdateExt is not available on {service} in this "
                              f"sandbox.", status=404, error_type="ApiException")
        if not isinstance(ds, dict):
            raise EpicorError("Unable to deserialize entity: 'ds' must be an object.",
                              error_type=ODATA_EXCEPTION)
        allowed = {spec.header, spec.child, "ExtensionTables"}
        for name, rows in ds.items():
            if name not in allowed or not isinstance(rows, list):
                raise EpicorError(f"Table '{name}' is not part of the {service} tableset.",
                                  error_type=ODATA_EXCEPTION)
        with self.lock:
            headers = [self.merge(spec.header, r) for r in ds.get(spec.header, [])]
            children = ([self.merge(spec.child, r) for r in ds.get(spec.child, [])]
                        if spec.child else [])
            units = self._units(spec, headers, children)
            errors: list[UnitError] = []
            out_h: list[Row] = []
            out_c: list[Row] = []
            for header, kids, link_error in units:
                if link_error:
                    errors.append(link_error)
                    if not continue_on_error:
                        break
                    continue
                unit_errors, saved_h, saved_c = self._process(spec, header, kids,
                                                              rollback_parent)
                errors.extend(unit_errors)
                if saved_h is not None:
                    out_h.append(saved_h)
                out_c.extend(saved_c)
                if unit_errors and not continue_on_error:
                    break
            if errors and not continue_on_error:
                first = errors[0].err
                raise EpicorError(first.message, status=first.status,
                                  error_type=first.error_type, table=first.table or
                                  errors[0].table, field=first.field)
            out_ds: dict[str, Any] = {spec.header: [dict(r) for r in out_h]}
            if spec.child:
                out_ds[spec.child] = [dict(r) for r in out_c]
            return {"returnObj": {"BOUpdError": [bo_update_error(e) for e in errors]},
                    "parameters": {"ds": out_ds, "errorsOccurred": bool(errors)}}

    def _units(self, spec: Spec, headers: list[Row], children: list[Row]
               ) -> list[tuple[Row | None, list[Row], UnitError | None]]:
        """Group rows: each header with the children carrying its (temporary) key value.

        New headers (RowMod "A") carry a client-side placeholder in the server-assigned
        key (0 or a negative number, unique per call); their children carry the same
        value.  Children of a stored header carry its real key (the header may be left
        out of the call).
        """
        units: list[tuple[Row | None, list[Row], UnitError | None]] = []
        by_temp: dict[Any, int] = {}
        ambiguous: set[Any] = set()
        for h in headers:
            units.append((h, [], None))
            if spec.seq:
                v = h.get(spec.seq)
                if v in by_temp:
                    ambiguous.add(v)
                by_temp[v] = len(units) - 1
        existing: dict[tuple, int] = {}
        for c in children:
            assert spec.child and spec.seq
            v = c.get(spec.seq)
            if v in ambiguous:
                units.append((None, [], UnitError(spec.child, c, business(
                    f"Cannot link the {spec.child} row to its parent: {spec.seq} {v} is used "
                    f"by several new {spec.header} rows.", spec.child, spec.seq))))
                continue
            if v in by_temp:
                units[by_temp[v]][1].append(c)
                continue
            pkey = tuple(c.get(f) if f != "Company" else self.company
                         for f in KEYS[spec.header])
            parent = self.t[spec.header].get(pkey)
            if parent is None:
                units.append((None, [], UnitError(spec.child, c, EpicorError(
                    f"{spec.header} record not found for the {spec.child} row "
                    f"({spec.seq} {v}).", table=spec.child, field=spec.seq,
                    error_type=NOT_FOUND_EXCEPTION))))
                continue
            if pkey not in existing:
                existing[pkey] = len(units)
                units.append((dict(parent, RowMod=""), [], None))
            units[existing[pkey]][1].append(c)
        return units

    def _process(self, spec: Spec, header: Row, kids: list[Row], rollback_parent: bool
                 ) -> tuple[list[UnitError], Row | None, list[Row]]:
        hooks = HOOKS[spec.header]
        errors: list[UnitError] = []
        is_new = header.get("RowMod") == "A"
        try:
            if is_new:
                for f in COMPUTED.get(spec.header, ()):
                    header[f] = TEMPLATES[spec.header][f]
                hooks.build_header(self, header)
            elif header.get("RowMod") == "U":
                raise business(f"RowMod 'U' on {spec.header} is not supported by the sandbox "
                               f"UpdateExt; use PATCH on the entity.", spec.header)
            else:
                stored = self.t[spec.header].get(self.t[spec.header].key_of(header))
                if stored is None:
                    raise EpicorError(f"{spec.header} record not found.", status=404,
                                      error_type=NOT_FOUND_EXCEPTION, table=spec.header)
                header = stored
        except EpicorError as err:
            return [UnitError(spec.header, header, err)], None, []
        state: dict[str, Any] = {}
        good: list[Row] = []
        for kid in kids:
            try:
                hooks.build_child(self, kid, header, state)
                good.append(kid)
            except EpicorError as err:
                errors.append(UnitError(spec.child or "", kid, err))
        if errors and rollback_parent:
            return errors, None, []
        try:
            hooks.finish(self, header, good, is_new)
        except EpicorError as err:
            errors.append(UnitError(spec.header, header, err))
            return errors, None, []
        # commit
        if is_new:
            if spec.seq:
                header[spec.seq] = self._next(spec.seq)
            header["RowMod"] = ""
            self.t[spec.header].insert(header)
        if spec.child:
            nav_fields = NAVIGATIONS[spec.header][2]
            used = {c[spec.line] for c in self.t[spec.child].where(spec.seq, header[spec.seq])
                    } if spec.line else set()
            for kid in good:
                for f in nav_fields:
                    kid[f] = header[f]
                if spec.line:
                    if not kid.get(spec.line) or kid[spec.line] in used:
                        kid[spec.line] = max(used, default=0) + 1
                    used.add(kid[spec.line])
                kid["RowMod"] = ""
                self.t[spec.child].insert(kid)
        hooks.commit(self, header, good, is_new)
        return errors, header, good

    # ------------------------------------------------------------------ methods
    # ------------------------------------------------------------------ OData CRUD
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


HOOKS: dict[str, Hooks] = {
    "Customer": CustomerHooks(),
    "OrderHed": OrderHooks(),
    "InvcGrp": GroupHooks("InvcGrp", "InvoiceDate"),
    "InvcHead": InvoiceHooks(),
    "CashGrp": GroupHooks("CashGrp", "TranDate"),
    "CashHead": CashHooks(),
    "GLJrnGrp": GroupHooks("GLJrnGrp", "JEDate"),
    "GLJrnHed": JournalHooks(),
}
COMPUTED = {
    "OrderHed": {"OrderAmt", "DocOrderAmt", "TotalLines"},
    "InvcHead": {"InvoiceAmt", "DocInvoiceAmt", "InvoiceBal", "DocInvoiceBal", "OpenInvoice",
                 "UnpostedBal", "DocUnpostedBal", "Posted", "GLPosted", "JournalNum",
                 "JournalCode"},
    "CashHead": {"AppliedAmt", "DocAppliedAmt", "UnAppliedAmt", "DocUnAppliedAmt", "Posted"},
    "GLJrnHed": {"TotDebit", "TotCredit", "Balance", "Posted"},
    "GLJrnGrp": {"Posted", "PostErrorLog"},
    "InvcGrp": {"PostErrorLog"},
    "CashGrp": {"PostErrorLog"},
    "PartWhse": {"OnHandQty"},
}


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


