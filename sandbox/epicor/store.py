"""In-memory Epicor company: seeded master data, business rules and UpdateExt.

Everything runs under one lock; sequences (CustNum, OrderNum, InvoiceNum, HeadNum,
JournalNum, bank and part transaction numbers) are deterministic per reset.
"""
from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .errors import (DUPLICATE_EXCEPTION, NOT_FOUND_EXCEPTION, ODATA_EXCEPTION,
                     EpicorError, business)
from .odata import Row, to_decimal
from .tables import D0, KEYS, NAVIGATIONS, TEMPLATES, Table, new_tables, type_name

GL_ACCOUNTS = {
    "1010": "Operating bank", "1200": "Accounts receivable", "1250": "Stripe clearing",
    "1999": "Suspense", "2200": "Sales tax payable", "4000": "Revenue",
    "4900": "Sales returns and allowances", "4910": "Chargebacks", "6100": "Merchant fees",
    "6110": "Dispute fees", "7900": "FX gain/loss",
}
BANKS = {"STRIPE": ("Stripe clearing", "1250"), "OPER": ("Operating", "1010")}
PAY_METHODS = {1: "CARD", 2: "ACH"}
BOOKS = {"MAIN"}
JOURNAL_CODES = {"GJ"}
BASE_CURRENCY = "USD"
WAREHOUSE = "MAIN"
PLANT = "MfgSys"
ON_HAND = Decimal(1_000_000)

# Currency minor units (ISO 4217) for rounding extended amounts.
ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF",
                "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
THREE_DECIMAL = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}

LIMITS = {  # [A] column widths the sandbox enforces (see README)
    ("Customer", "CustID"): 10, ("Customer", "Name"): 50, ("OrderHed", "PONum"): 50,
    ("InvcHead", "PONum"): 50, ("InvcGrp", "GroupID"): 8, ("CashGrp", "GroupID"): 8,
    ("GLJrnGrp", "GroupID"): 8, ("CashHead", "CheckRef"): 30, ("GLJrnHed", "Description"): 60,
    ("InventoryQtyAdj", "Reference"): 50, ("BankFundsTransfer", "TranRef"): 50,
}
TRAN_TYPES = {"PayInv", "MisPay", "PrePay", "CMemo", "Adjust"}
INVOICE_TYPES = {"Shp", "Adv", "Dep", "Mis"}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")


def decimals(currency: str) -> int:
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def round_money(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals(currency)), rounding=ROUND_HALF_UP)


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


def today() -> str:
    return f"{date.today().isoformat()}T00:00:00"


def new_guid() -> str:
    return str(uuid.uuid4())


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
            self.closed_before: str | None = None
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
                "GLAccount", COACode="MAINCOA", GLAccount=acct, GLAcctDisp=acct,
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

    def close_period(self, before: str) -> None:
        date.fromisoformat(before)
        with self.lock:
            self.closed_before = before

    # ------------------------------------------------------------------ helpers
    def check_open(self, when: str | None, table: str, fieldname: str) -> None:
        if when and self.closed_before and when[:10] < self.closed_before:
            raise business(f"The fiscal period for {when[:10]} is closed: no entries may be "
                           f"dated before {self.closed_before}.", table, fieldname)

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
    def post_group_journals(self, group_id: str) -> dict[str, Any]:
        with self.lock:
            grp = self.t["GLJrnGrp"].get((self.company, group_id))
            if grp is None:
                raise EpicorError(f"Journal group {group_id} not found.", status=404,
                                  error_type=NOT_FOUND_EXCEPTION, table="GLJrnGrp",
                                  field="GroupID")
            journals = self.t["GLJrnHed"].where("GroupID", group_id)
            for j in journals:
                if j["TotDebit"] != j["TotCredit"]:
                    raise business(f"Journal {j['JournalNum']} is out of balance: total debit "
                                   f"{j['TotDebit']} does not equal total credit "
                                   f"{j['TotCredit']}.", "GLJrnHed", "TotDebit")
            stamp = today()
            for j in journals:
                j["Posted"], j["PostedDate"] = True, stamp
                for line in self.t["GLJrnDtlMnl"].where("JournalNum", j["JournalNum"]):
                    line["Posted"] = True
            grp["Posted"] = True
            return {"parameters": {"errorsOccurred": False}}

    def get_inventory_qty_adj(self, part_num: str) -> dict[str, Any]:
        with self.lock:
            part = self.part(part_num, "InventoryQtyAdj")
            whses = self.t["PartWhse"].where("PartNum", part_num)
            whse = whses[0] if whses else None
            row = self._row(
                "InventoryQtyAdj", PartNum=part_num, WareHseCode=whse["WarehouseCode"] if whse
                else "", BinNum=whse["PrimBinNum"] if whse else "",
                OnHandQty=whse["OnHandQty"] if whse else D0, UnitOfMeasure=part["IUM"],
                TransDate=today(), ReasonType="I", PartPartDescription=part["PartDescription"],
                WareHseDescription=whse["WarehouseCode"] if whse else "")
            return {"returnObj": {"InventoryQtyAdj": [row]}}

    def set_inventory_qty_adj(self, ds: dict[str, Any]) -> dict[str, Any]:
        rows_in = ds.get("InventoryQtyAdj") if isinstance(ds, dict) else None
        if not isinstance(rows_in, list) or not rows_in:
            raise EpicorError("InventoryQtyAdj row is required.", table="InventoryQtyAdj")
        with self.lock:
            rows = [self.merge("InventoryQtyAdj", r) for r in rows_in]
            targets = []
            for row in rows:  # validate everything first: the method runs in one transaction
                self.part(row["PartNum"], "InventoryQtyAdj")
                self.check_len("InventoryQtyAdj", row, "Reference")
                if not row["WareHseCode"]:
                    raise business("Warehouse is required.", "InventoryQtyAdj", "WareHseCode")
                whse = next((w for w in self.t["PartWhse"].where("PartNum", row["PartNum"])
                             if w["WarehouseCode"] == row["WareHseCode"]), None)
                if whse is None:
                    raise business(f"Warehouse {row['WareHseCode']} is not valid for part "
                                   f"{row['PartNum']}.", "InventoryQtyAdj", "WareHseCode")
                if row["AdjustQuantity"] == 0:
                    raise business("Adjustment quantity cannot be zero.", "InventoryQtyAdj",
                                   "AdjustQuantity")
                targets.append(whse)
            pks = []
            now = datetime.now()
            sys_date = f"{now.date().isoformat()}T00:00:00"
            sys_time = now.hour * 3600 + now.minute * 60 + now.second
            for row, whse in zip(rows, targets):
                whse["OnHandQty"] = whse["OnHandQty"] + row["AdjustQuantity"]
                tran = self._row(
                    "PartTranHist", SysDate=sys_date, SysTime=sys_time,
                    TranNum=self._next("PartTranNum"), PartNum=row["PartNum"],
                    WareHouseCode=row["WareHseCode"], BinNum=row["BinNum"] or whse["PrimBinNum"],
                    TranType="ADJ-QTY", TranDate=row["TransDate"] or today(),
                    TranQty=row["AdjustQuantity"], ActTranQty=row["AdjustQuantity"],
                    UM=row["UnitOfMeasure"] or "EA", TranReference=row["Reference"],
                    ReasonCode=row["ReasonCode"], EntryPerson=self.user, Plant=whse["Plant"])
                self.t["PartTranHist"].insert(tran)
                pks.append(f"{self.company}~{sys_date[:10]}~{sys_time}~{tran['TranNum']}")
                row["OnHandQty"], row["AdjustQuantity"], row["RowMod"] = (
                    whse["OnHandQty"], D0, "")
            return {"parameters": {"ds": {"InventoryQtyAdj": rows}, "partTranPKs": "|".join(pks)}}

    def create_bank_tran_records(self, ds: dict[str, Any]) -> dict[str, Any]:
        rows_in = ds.get("BankFundsTransfer") if isinstance(ds, dict) else None
        if not isinstance(rows_in, list) or not rows_in:
            raise EpicorError("BankFundsTransfer row is required.", table="BankFundsTransfer")
        with self.lock:
            rows = [self.merge("BankFundsTransfer", r) for r in rows_in]
            for row in rows:
                t = "BankFundsTransfer"
                src = self.bank(row["BankAcctID"], t)
                self.bank(row["ToBankAcctID"], t, "ToBankAcctID")
                if row["BankAcctID"] == row["ToBankAcctID"]:
                    raise business("The target bank account must differ from the source bank "
                                   "account.", t, "ToBankAcctID")
                if row["TranAmt"] <= 0:
                    raise business("Transfer amount must be greater than zero.", t, "TranAmt")
                if not row["TranDate"]:
                    raise business("Transaction date is required.", t, "TranDate")
                self.check_open(row["TranDate"], t, "TranDate")
                self.check_len(t, row, "TranRef")
                row["CurrencyCode"] = row["CurrencyCode"] or src["CurrencyCode"]
                self.check_currency(t, row)
                row["TranAmt"] = round_money(row["TranAmt"], row["CurrencyCode"])
            first = 0
            for row in rows:
                num = self._next("BankTranNum")
                first = first or num
                amt = row["TranAmt"]
                row.update(TranNum=num, DocTranAmt=amt, ToTranAmt=amt, ToDocTranAmt=amt,
                           ToCurrencyCode=row["CurrencyCode"], EntryPerson=self.user,
                           RowMod="")
                d = date.fromisoformat(row["TranDate"][:10])
                for bank_id, sign in ((row["BankAcctID"], -1), (row["ToBankAcctID"], 1)):
                    self.t["BankTran"].insert(self._row(
                        "BankTran", BankAcctID=bank_id, TranNum=num, TranDate=row["TranDate"],
                        TranAmt=amt * sign, DocTranAmt=amt * sign, TranRef=row["TranRef"],
                        CurrencyCode=row["CurrencyCode"], GLAccount=self.bank_gl.get(bank_id, ""),
                        EntryPerson=self.user, EntryDate=today(), FiscalYear=d.year,
                        FiscalPeriod=d.month))
            return {"returnObj": first, "parameters": {"ds": {"BankFundsTransfer": rows}}}

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


COMPUTED = {
    "OrderHed": {"OrderAmt", "DocOrderAmt", "TotalLines"},
    "InvcHead": {"InvoiceAmt", "DocInvoiceAmt", "InvoiceBal", "DocInvoiceBal", "OpenInvoice"},
    "CashHead": {"AppliedAmt", "DocAppliedAmt", "UnAppliedAmt", "DocUnAppliedAmt"},
    "GLJrnHed": {"TotDebit", "TotCredit", "Balance", "Posted"},
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


# ---------------------------------------------------------------------- business rules
class Hooks:
    def build_header(self, s: Store, row: Row) -> None:
        pass

    def build_child(self, s: Store, row: Row, header: Row, state: dict[str, Any]) -> None:
        raise business("This tableset has no child table.")

    def finish(self, s: Store, header: Row, kids: list[Row], is_new: bool) -> None:
        pass

    def commit(self, s: Store, header: Row, kids: list[Row], is_new: bool) -> None:
        pass


def _fiscal(row: Row, when: str | None) -> None:
    if when:
        d = date.fromisoformat(when[:10])
        row["FiscalYear"], row["FiscalPeriod"] = d.year, d.month


class CustomerHooks(Hooks):
    def build_header(self, s: Store, row: Row) -> None:
        t = "Customer"
        if not row["CustID"]:
            raise business("Customer ID is required.", t, "CustID")
        s.check_len(t, row, "CustID")
        if not row["Name"]:
            raise business("Name is required.", t, "Name")
        s.check_len(t, row, "Name")
        row["CurrencyCode"] = row["CurrencyCode"] or BASE_CURRENCY
        s.check_currency(t, row)
        if row["PMUID"] and s.t["PayMethod"].get((s.company, row["PMUID"])) is None:
            raise business(f"Invalid Payment Method: {row['PMUID']}.", t, "PMUID")
        if s.t["Customer"].where("CustID", row["CustID"]):
            raise EpicorError(f"Customer ID {row['CustID']} already exists.", status=409,
                              error_type=DUPLICATE_EXCEPTION, table=t, field="CustID")
        row["ChangedBy"], row["ChangeDate"] = s.user, today()


class OrderHooks(Hooks):
    def build_header(self, s: Store, row: Row) -> None:
        t = "OrderHed"
        cust = s.customer(row["CustNum"], t)
        row["BTCustNum"] = row["BTCustNum"] or row["CustNum"]
        s.check_len(t, row, "PONum")
        row["OrderDate"] = row["OrderDate"] or today()
        row["RequestDate"] = row["RequestDate"] or row["OrderDate"]
        row["NeedByDate"] = row["NeedByDate"] or row["RequestDate"]
        row["CurrencyCode"] = row["CurrencyCode"] or cust["CurrencyCode"]
        s.check_currency(t, row)
        if cust["CheckDuplicatePO"] and row["PONum"]:
            for other in s.t["OrderHed"].where("PONum", row["PONum"]):
                if other["CustNum"] == row["CustNum"]:
                    raise business(f"PO number {row['PONum']} has already been used on sales "
                                   f"order {other['OrderNum']} for this customer.", t, "PONum")
        row["EntryPerson"] = row["EntryPerson"] or s.user
        row["ChangedBy"], row["ChangeDate"] = s.user, today()

    def build_child(self, s: Store, row: Row, header: Row, state: dict[str, Any]) -> None:
        t = "OrderDtl"
        part = s.part(row["PartNum"], t)
        if row["SellingQuantity"] <= 0:
            raise business("Order quantity must be greater than zero.", t, "SellingQuantity")
        row["LineDesc"] = row["LineDesc"] or part["PartDescription"]
        row["OrderQty"] = row["SellingQuantity"]
        row["UnitPrice"] = row["DocUnitPrice"] * header["ExchangeRate"]
        row["SalesUM"], row["IUM"] = part["SalesUM"], part["IUM"]
        ext = round_money(row["SellingQuantity"] * row["DocUnitPrice"] - row["DocDiscount"],
                          header["CurrencyCode"])
        row["DocExtPriceDtl"] = ext
        row["ExtPriceDtl"] = round_money(ext * header["ExchangeRate"], header["CurrencyCode"])
        row["CustNum"] = header["CustNum"]
        row["NeedByDate"] = row["NeedByDate"] or header["NeedByDate"]
        row["RequestDate"] = row["RequestDate"] or header["RequestDate"]

    def commit(self, s: Store, header: Row, kids: list[Row], is_new: bool) -> None:
        lines = s.t["OrderDtl"].where("OrderNum", header["OrderNum"])
        header["TotalLines"] = len(lines)
        header["DocOrderAmt"] = sum((r["DocExtPriceDtl"] for r in lines), D0)
        header["OrderAmt"] = sum((r["ExtPriceDtl"] for r in lines), D0)


class GroupHooks(Hooks):
    def __init__(self, table: str, date_field: str) -> None:
        self.table, self.date_field = table, date_field

    def build_header(self, s: Store, row: Row) -> None:
        t = self.table
        if not row["GroupID"]:
            raise business("Group ID is required.", t, "GroupID")
        s.check_len(t, row, "GroupID")
        row[self.date_field] = row[self.date_field] or today()
        s.check_open(row[self.date_field], t, self.date_field)
        _fiscal(row, row[self.date_field])
        if t == "CashGrp":
            s.bank(row["BankAcctID"], t)
        if t == "GLJrnGrp":
            if row["BookID"] not in BOOKS:
                raise business(f"Invalid Book: {row['BookID']}.", t, "BookID")
            if row["JournalCode"] not in JOURNAL_CODES:
                raise business(f"Invalid Journal Code: {row['JournalCode']}.", t, "JournalCode")
        if t == "InvcGrp":
            row["ApplyDate"] = row["ApplyDate"] or row["InvoiceDate"]
        if s.t[t].get((s.company, row["GroupID"])) is not None:
            raise EpicorError(f"Group {row['GroupID']} already exists.", status=409,
                              error_type=DUPLICATE_EXCEPTION, table=t, field="GroupID")
        row["CreatedBy"] = s.user


class InvoiceHooks(Hooks):
    def build_header(self, s: Store, row: Row) -> None:
        t = "InvcHead"
        if not row["GroupID"]:
            raise business("Invoice group is required.", t, "GroupID")
        grp = s.t["InvcGrp"].get((s.company, row["GroupID"]))
        if grp is None:
            raise business(f"Invoice group {row['GroupID']} not found.", t, "GroupID")
        if row["InvoiceType"] not in INVOICE_TYPES:
            raise business(f"Invalid Invoice Type: {row['InvoiceType']}.", t, "InvoiceType")
        cust = s.customer(row["CustNum"], t)
        order = None
        if row["InvoiceType"] != "Mis" and not row["OrderNum"]:
            raise business("Sales order is required for this invoice type.", t, "OrderNum")
        if row["OrderNum"]:
            order = s.t["OrderHed"].get((s.company, row["OrderNum"]))
            if order is None:
                raise business(f"Sales order {row['OrderNum']} not found.", t, "OrderNum")
            if order["CustNum"] != row["CustNum"]:
                raise business(f"Sales order {row['OrderNum']} belongs to another customer.",
                               t, "OrderNum")
        s.check_len(t, row, "PONum")
        row["InvoiceDate"] = row["InvoiceDate"] or grp["InvoiceDate"] or today()
        s.check_open(row["InvoiceDate"], t, "InvoiceDate")
        row["DueDate"] = row["DueDate"] or row["InvoiceDate"]
        row["ApplyDate"] = row["ApplyDate"] or row["InvoiceDate"]
        _fiscal(row, row["InvoiceDate"])
        row["CurrencyCode"] = row["CurrencyCode"] or (order or cust)["CurrencyCode"]
        s.check_currency(t, row)
        if order is not None and order["CurrencyCode"] != row["CurrencyCode"]:
            raise business(f"Invoice currency {row['CurrencyCode']} differs from sales order "
                           f"currency {order['CurrencyCode']}.", t, "CurrencyCode")
        row["EntryPerson"] = row["EntryPerson"] or s.user

    def build_child(self, s: Store, row: Row, header: Row, state: dict[str, Any]) -> None:
        t = "InvcDtl"
        if row["PartNum"]:
            part = s.part(row["PartNum"], t)
            row["LineDesc"] = row["LineDesc"] or part["PartDescription"]
            row["SalesUM"], row["IUM"] = part["SalesUM"], part["IUM"]
        elif not row["LineDesc"]:
            raise business("Line description is required for a line without a part.", t,
                           "LineDesc")
        if row["OrderNum"] and row["OrderNum"] != header["OrderNum"]:
            raise business(f"Invoice line references sales order {row['OrderNum']}, not the "
                           f"invoice's order {header['OrderNum']}.", t, "OrderNum")
        if row["OrderLine"]:
            if not header["OrderNum"]:
                raise business("Order line given without a sales order.", t, "OrderLine")
            if s.t["OrderDtl"].get((s.company, header["OrderNum"], row["OrderLine"])) is None:
                raise business(f"Sales order line {header['OrderNum']}/{row['OrderLine']} not "
                               f"found.", t, "OrderLine")
            row["OrderNum"] = header["OrderNum"]
        if row["SellingShipQty"] <= 0:
            raise business("Ship quantity must be greater than zero.", t, "SellingShipQty")
        row["OurShipQty"] = row["SellingShipQty"]
        row["UnitPrice"] = row["DocUnitPrice"] * header["ExchangeRate"]
        ext = round_money(row["SellingShipQty"] * row["DocUnitPrice"] - row["DocDiscount"],
                          header["CurrencyCode"])
        row["DocExtPrice"] = ext
        row["ExtPrice"] = round_money(ext * header["ExchangeRate"], header["CurrencyCode"])
        row["CustNum"] = header["CustNum"]

    def commit(self, s: Store, header: Row, kids: list[Row], is_new: bool) -> None:
        lines = s.t["InvcDtl"].where("InvoiceNum", header["InvoiceNum"])
        doc = sum((r["DocExtPrice"] for r in lines), D0)
        base = sum((r["ExtPrice"] for r in lines), D0)
        applied_doc = header["DocInvoiceAmt"] - header["DocInvoiceBal"]
        applied = header["InvoiceAmt"] - header["InvoiceBal"]
        header["DocInvoiceAmt"], header["InvoiceAmt"] = doc, base
        header["DocInvoiceBal"], header["InvoiceBal"] = doc - applied_doc, base - applied
        header["OpenInvoice"] = header["DocInvoiceBal"] > 0


class CashHooks(Hooks):
    def build_header(self, s: Store, row: Row) -> None:
        t = "CashHead"
        if not row["GroupID"]:
            raise business("Cash receipt group is required.", t, "GroupID")
        grp = s.t["CashGrp"].get((s.company, row["GroupID"]))
        if grp is None:
            raise business(f"Cash receipt group {row['GroupID']} not found.", t, "GroupID")
        row["TranType"] = row["TranType"] or "PayInv"
        if row["TranType"] not in TRAN_TYPES:
            raise business(f"Invalid Transaction Type: {row['TranType']}.", t, "TranType")
        cust = None
        if row["TranType"] != "MisPay" or row["CustNum"]:
            cust = s.customer(row["CustNum"], t)
            row["CustID"] = cust["CustID"]
        row["TranDate"] = row["TranDate"] or grp["TranDate"]
        s.check_open(row["TranDate"], t, "TranDate")
        _fiscal(row, row["TranDate"])
        if row["DocTranAmt"] <= 0:
            raise business("Receipt amount must be greater than zero.", t, "DocTranAmt")
        row["CurrencyCode"] = row["CurrencyCode"] or (cust or {}).get("CurrencyCode", "") \
            or BASE_CURRENCY
        s.check_currency(t, row)
        row["DocTranAmt"] = round_money(row["DocTranAmt"], row["CurrencyCode"])
        row["TranAmt"] = round_money(row["DocTranAmt"] * row["ExchangeRate"],
                                     row["CurrencyCode"])
        row["ReceiptCurrencyCode"] = row["ReceiptCurrencyCode"] or row["CurrencyCode"]
        row["ReceiptAmt"] = row["ReceiptAmt"] or row["DocTranAmt"]
        row["BankAcctID"] = row["BankAcctID"] or grp["BankAcctID"]
        s.bank(row["BankAcctID"], t)
        if row["PMUID"] and s.t["PayMethod"].get((s.company, row["PMUID"])) is None:
            raise business(f"Invalid Payment Method: {row['PMUID']}.", t, "PMUID")
        s.check_len(t, row, "CheckRef")

    def build_child(self, s: Store, row: Row, header: Row, state: dict[str, Any]) -> None:
        t = "CashDtl"
        inv = s.t["InvcHead"].get((s.company, row["InvoiceNum"])) if row["InvoiceNum"] else None
        if inv is None:
            raise business(f"Invoice {row['InvoiceNum']} not found.", t, "InvoiceNum")
        if inv["CustNum"] != header["CustNum"]:
            raise business(f"Invoice {row['InvoiceNum']} does not belong to customer "
                           f"{header['CustID']}.", t, "InvoiceNum")
        if inv["CurrencyCode"] != header["CurrencyCode"]:
            raise business(f"Invoice {row['InvoiceNum']} currency {inv['CurrencyCode']} "
                           f"differs from the receipt currency {header['CurrencyCode']}.", t,
                           "InvoiceNum")
        amt = round_money(row["DocTranAmt"], header["CurrencyCode"])
        if amt <= 0:
            raise business("Applied amount must be greater than zero.", t, "DocTranAmt")
        pending = state.setdefault("pending", {})
        balance = inv["DocInvoiceBal"] - pending.get(inv["InvoiceNum"], D0)
        if amt > balance:
            raise business(f"Amount applied {amt} exceeds the balance {balance} of invoice "
                           f"{inv['InvoiceNum']}.", t, "DocTranAmt")
        applied = state.get("applied", D0) + amt
        already = header["DocAppliedAmt"]  # 0 on a new receipt (computed fields reset)
        if applied + already > header["DocTranAmt"]:
            raise business(f"Total applied {applied + already} exceeds the receipt amount "
                           f"{header['DocTranAmt']}.", t, "DocTranAmt")
        if s.t["CashDtl"].get((s.company, header["GroupID"], header["HeadNum"],
                               row["InvoiceNum"], row["InvoiceRef"])) is not None or \
                inv["InvoiceNum"] in pending:
            raise EpicorError(f"Invoice {row['InvoiceNum']} is already applied on this "
                              f"receipt.", status=409, error_type=DUPLICATE_EXCEPTION,
                              table=t, field="InvoiceNum")
        state["applied"] = applied
        pending[inv["InvoiceNum"]] = pending.get(inv["InvoiceNum"], D0) + amt
        row["DocTranAmt"] = amt
        row["TranAmt"] = round_money(amt * header["ExchangeRate"], header["CurrencyCode"])
        row["TranType"] = header["TranType"]
        row["CustNum"], row["TranDate"] = header["CustNum"], header["TranDate"]
        row["CheckRef"], row["CurrencyCode"] = header["CheckRef"], header["CurrencyCode"]
        row["DocInvoiceAmt"], row["InvoiceAmt"] = inv["DocInvoiceAmt"], inv["InvoiceAmt"]

    def commit(self, s: Store, header: Row, kids: list[Row], is_new: bool) -> None:
        for kid in kids:
            inv = s.t["InvcHead"].get((s.company, kid["InvoiceNum"]))
            assert inv is not None
            inv["DocInvoiceBal"] -= kid["DocTranAmt"]
            inv["InvoiceBal"] -= kid["TranAmt"]
            inv["OpenInvoice"] = inv["DocInvoiceBal"] > 0
            if not inv["OpenInvoice"]:
                inv["ClosedDate"] = header["TranDate"]
            kid["DocInvoiceBal"], kid["InvoiceBal"] = inv["DocInvoiceBal"], inv["InvoiceBal"]
        before_applied = header["AppliedAmt"]
        dtls = [d for d in s.t["CashDtl"].where("HeadNum", header["HeadNum"])
                if d["GroupID"] == header["GroupID"]]
        header["DocAppliedAmt"] = sum((d["DocTranAmt"] for d in dtls), D0)
        header["AppliedAmt"] = sum((d["TranAmt"] for d in dtls), D0)
        header["DocUnAppliedAmt"] = header["DocTranAmt"] - header["DocAppliedAmt"]
        header["UnAppliedAmt"] = header["TranAmt"] - header["AppliedAmt"]
        grp = s.t["CashGrp"].get((s.company, header["GroupID"]))
        if grp is not None:  # group totals, incrementally
            if is_new:
                grp["TotalCashReceived"] += header["TranAmt"]
            grp["TotalApplied"] += header["AppliedAmt"] - before_applied
            grp["UnappliedBalance"] = grp["TotalCashReceived"] - grp["TotalApplied"]


class JournalHooks(Hooks):
    def build_header(self, s: Store, row: Row) -> None:
        t = "GLJrnHed"
        if not row["GroupID"]:
            raise business("Journal group is required.", t, "GroupID")
        grp = s.t["GLJrnGrp"].get((s.company, row["GroupID"]))
        if grp is None:
            raise business(f"Journal group {row['GroupID']} not found.", t, "GroupID")
        if grp["Posted"]:
            raise business(f"Journal group {row['GroupID']} is already posted.", t, "GroupID")
        row["BookID"] = row["BookID"] or grp["BookID"]
        row["JournalCode"] = row["JournalCode"] or grp["JournalCode"]
        if row["BookID"] not in BOOKS:
            raise business(f"Invalid Book: {row['BookID']}.", t, "BookID")
        if row["JournalCode"] not in JOURNAL_CODES:
            raise business(f"Invalid Journal Code: {row['JournalCode']}.", t, "JournalCode")
        row["JEDate"] = row["JEDate"] or grp["JEDate"]
        s.check_open(row["JEDate"], t, "JEDate")
        _fiscal(row, row["JEDate"])
        row["FiscalYearSuffix"], row["FiscalCalendarID"] = (grp["FiscalYearSuffix"],
                                                            grp["FiscalCalendarID"])
        row["CurrencyCode"] = row["CurrencyCode"] or grp["CurrencyCode"] or BASE_CURRENCY
        s.check_currency(t, row)
        s.check_len(t, row, "Description")
        row["EnteredBy"] = s.user

    def build_child(self, s: Store, row: Row, header: Row, state: dict[str, Any]) -> None:
        t = "GLJrnDtlMnl"
        acct = row["GLAccount"]
        if not acct:
            raise business("GL Account is required.", t, "GLAccount")
        found = s.t["GLAccount"].get((s.company, "MAINCOA", acct))
        if found is None or not found["Active"]:
            raise business(f"GL Account {acct} is not valid.", t, "GLAccount")
        cur = header["CurrencyCode"]
        debit, credit = row["DebitAmount"], row["CreditAmount"]
        if debit == 0 and credit == 0 and row["TransAmt"] != 0:
            amt = row["TransAmt"]
            debit, credit = (amt, D0) if amt > 0 else (D0, -amt)
        if debit < 0 or credit < 0:
            raise business("Debit and credit amounts cannot be negative.", t, "DebitAmount")
        if debit != 0 and credit != 0:
            raise business("A journal line is either a debit or a credit.", t, "DebitAmount")
        debit, credit = round_money(debit, cur), round_money(credit, cur)
        row["DebitAmount"], row["CreditAmount"] = debit, credit
        row["TransAmt"] = row["DocTransAmt"] = debit - credit
        row["CurrencyCode"] = cur
        row["SegValue1"] = acct
        row["JEDate"], row["FiscalPeriod"] = header["JEDate"], header["FiscalPeriod"]
        row["GroupID"] = header["GroupID"]

    def finish(self, s: Store, header: Row, kids: list[Row], is_new: bool) -> None:
        lines = kids + (s.t["GLJrnDtlMnl"].where("JournalNum", header["JournalNum"])
                        if not is_new else [])
        debit = sum((r["DebitAmount"] for r in lines), D0)
        credit = sum((r["CreditAmount"] for r in lines), D0)
        if debit != credit and not header["AllowUnbalancedEntries"]:
            raise business(f"Journal is out of balance: total debit {debit} does not equal "
                           f"total credit {credit}.", "GLJrnHed", "TotDebit")
        header["TotDebit"], header["TotCredit"], header["Balance"] = debit, credit, debit - credit


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
