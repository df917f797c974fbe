"""An in-memory Infor M3 behind the MI programs the product uses.

Every transaction is checked against its real signature (``spec.py``): unknown
input fields, values longer than the field, and missing required fields are
refused before the program logic runs.  Program logic raises :class:`Nok`,
which the bulk executor turns into an M3 ``ServerReturnedNOK`` result item.

State is plain dicts and :class:`tables.Table` rows guarded by ``lock``; id
sequences are deterministic and restart on :meth:`M3.reset`.
"""
from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .spec import TRANSACTIONS
from .tables import QueryError, Table, select

ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF",
                          "VND", "VUV", "XAF", "XOF", "XPF"})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

ACCOUNTS = {"1010": "Operating bank", "1200": "Accounts receivable", "1250": "Stripe clearing",
            "1999": "Suspense", "2200": "Sales tax payable", "4000": "Revenue",
            "4900": "Sales returns and allowances", "4910": "Chargebacks",
            "6100": "Merchant fees", "6110": "Dispute fees", "7900": "FX gain/loss"}
BANK_ACCOUNTS = {"STRIPE": ("STRIP", "1250", "Stripe clearing"),   # BAAN -> (BKID, AIT1, name)
                 "OPER": ("OPER", "1010", "Operating bank")}
PAYMENT_TYPES = {"CRD": "Card", "ACH": "ACH / bank debit"}        # ARS040 BOPE
ORDER_TYPES = {"A10": "Standard customer order"}
GL_INTERFACES = {"STRIPE": "Stripe postings"}                     # GLS840 INTN
WAREHOUSE = "MAI"                                                 # WHLO is 3 characters
LOCATION_ALIASES = {"MAIN": WAREHOUSE}
TEMPLATE = "TEMPLATE"


def currency_decimals(cucd: str) -> int:
    return 0 if cucd in ZERO_DECIMAL else 3 if cucd in THREE_DECIMAL else 2


def fmt_amount(value: Decimal, cucd: str) -> str:
    n = currency_decimals(cucd)
    value = value.quantize(Decimal(1).scaleb(-n), rounding=ROUND_HALF_UP)
    return format(abs(value) if value == 0 else value, "f")


def fmt_qty(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def warehouse_for(location: str) -> str:
    location = (location or WAREHOUSE).strip().upper()
    return LOCATION_ALIASES.get(location, location[:3])


class Nok(Exception):
    """An MI 'not OK' answer: M3's message, message id and the field it concerns."""

    def __init__(self, message: str, code: str = "XIM0002", field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.field = message, code, field


@dataclass
class Ctx:
    cono: str
    divi: str
    maxrecs: int = 100          # 0 = unlimited


class _Discard(Exception):
    """Control failed: the batch is removed, then the Nok is answered."""

    def __init__(self, nok: Nok) -> None:
        super().__init__(nok.message)
        self.nok = nok


def _today() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d")


# ---------------------------------------------------------------------------- tables
def _out_fields(program: str, txn: str) -> list[str]:
    return [f[0] for f in TRANSACTIONS[program][txn]["out"]]


CUSTOMER_COLS = sorted(set(_out_fields("CRS610MI", "LstByNumber"))
                       | set(_out_fields("CRS610MI", "GetBasicData")) | {"RGDT", "LMDT", "CHNO"})


def new_tables() -> dict[str, Table]:
    t = [
        Table("OCUSMA", "OK", CUSTOMER_COLS, keys=("CUNO", "YRE2")),
        Table("MITMAS", "MM", ["CONO", "ITNO", "ITDS", "FUDS", "STAT", "ITTY", "UNMS", "STCD",
                               "ITGR", "ITCL"], keys=("ITNO",)),
        Table("MITWHL", "MW", ["CONO", "WHLO", "WHNM", "DIVI", "FACI"], keys=("WHLO",)),
        Table("MITBAL", "MB", ["CONO", "WHLO", "ITNO", "STQT", "ALQT", "IDDT", "ODDT", "INDT"],
              keys=("ITNO",)),
        Table("MITTRA", "MT", ["CONO", "WHLO", "ITNO", "WHSL", "TRDT", "TRTM", "TTYP", "TRQT",
                               "RSCD", "BREM", "RIDN", "RGDT", "RESP"], keys=("RIDN", "ITNO")),
        Table("OOHEAD", "OA", ["CONO", "DIVI", "ORNO", "ORTP", "ORDT", "RLDT", "CUNO", "PYNO",
                               "CUOR", "YREF", "OREF", "CUCD", "WHLO", "FACI", "ORST", "ORSL",
                               "NTAM", "BRAM", "TEPY", "PYCD", "CUDT", "RGDT", "LMDT"],
              keys=("ORNO", "CUOR", "CUNO")),
        Table("OOLINE", "OB", ["CONO", "DIVI", "ORNO", "PONR", "POSX", "ITNO", "ITDS", "ORQT",
                               "SAPR", "NEPR", "LNAM", "WHLO", "CUCD", "ORST", "IVQT", "DWDT"],
              keys=("ORNO",)),
        Table("OINVOL", "ON", ["CONO", "DIVI", "YEA4", "IVNO", "ORNO", "PONR", "POSX", "ITNO",
                               "IVQT", "LNAM", "CUCD"], keys=("IVNO", "ORNO")),
        Table("FSLEDG", "ES", ["CONO", "DIVI", "PYNO", "CUNO", "CINO", "INYR", "TRCD", "YEA4",
                               "JRNO", "JSNO", "VONO", "CUAM", "CUCD", "IVDT", "DUDT", "ACDT",
                               "DTP5", "RECO", "REDE", "TDSC", "PYCD", "BKID"],
              keys=("CINO", "CUNO")),
        Table("FGLEDG", "EG", ["CONO", "DIVI", "YEA4", "JRNO", "JSNO", "VSER", "VONO", "ACDT",
                               "OCDT", "AIT1", "AIT2", "AIT3", "AIT4", "AIT5", "AIT6", "AIT7",
                               "CUCD", "ARAT", "CUAM", "ACAM", "DBCR", "VTXT", "TRCD", "FEID",
                               "FNCN", "TDSC", "RGDT", "ACQT"],
              keys=("VTXT", "JRNO")),
        Table("FGLEDX", "EG", ["CONO", "DIVI", "YEA4", "JRNO", "JSNO", "GEXN", "GEXI"],
              keys=("JRNO",)),
        Table("FCHACC", "EA", ["CONO", "DIVI", "AITP", "AITM", "TX40", "TX15"], keys=("AITM",)),
        # ARS040MI batch payment file (sandbox name: the real table is not documented)
        Table("FSBPAY", "BP", ["CONO", "DIVI", "PBID", "BOPE", "BAAN", "ACDT", "TRNO", "CINO",
                               "INYR", "CUNO", "PYNO", "PYAM", "CUCD", "ARAT", "LPDT", "CKNO",
                               "IRNO", "BPYS"], keys=("PBID", "IRNO")),
    ]
    return {x.name: x for x in t}


class M3:
    """One M3 tenant: company ``cono``, division ``divi``, local currency ``local``."""

    def __init__(self, cono: str = "100", divi: str = "AAA", local: str = "USD") -> None:
        self.cono, self.divi, self.local = cono, divi, local
        self.lock = threading.RLock()
        self.programs: dict[str, dict[str, Callable[[dict[str, str], Ctx], list[dict]]]] = {
            "CRS610MI": {"Add": self.crs610_add, "ChgBasicData": self.crs610_chg_basic,
                         "ChgFinancial": self.crs610_chg_financial,
                         "GetBasicData": self.crs610_get_basic, "LstByNumber": self.crs610_lst},
            "OIS100MI": {"AddBatchHead": self.ois100_add_head, "AddBatchLine": self.ois100_add_line,
                         "Confirm": self.ois100_confirm, "DelBatchHead": self.ois100_del_head,
                         "GetBatchHead": self.ois100_get_batch_head, "GetHead": self.ois100_get_head,
                         "LstHead": self.ois100_lst_head, "LstLine": self.ois100_lst_line},
            "OIS350MI": {"GetInvHead": self.ois350_get_inv_head,
                         "LstAllInvByCO": self.ois350_lst_by_co},
            "ARS200MI": {"GetInvTotInfo": self.ars200_get_tot, "LstInvoices": self.ars200_lst},
            "ARS040MI": {"AddBatchHead": self.ars040_add_head, "AddBatchLine": self.ars040_add_line,
                         "AddBatchCharge": self.ars040_add_charge,
                         "ControlBatch": self.ars040_control},
            "GLS840MI": {"AddBatchHead": self.gls840_add_head, "AddBatchLine": self.gls840_add_line,
                         "AddBatchLineFld": self.gls840_add_line_fld,
                         "CtrlBatch": self.gls840_ctrl, "UpdBatch": self.gls840_upd},
            "GLS200MI": {"GetVoucherHead": self.gls200_get_head,
                         "LstVoucherLines": self.gls200_lst_lines,
                         "LstVouchersByDt": self.gls200_lst_by_dt},
            "MMS200MI": {"Get": self.mms200_get, "GetItmWhsBal": self.mms200_whs_bal},
            "MMS850MI": {"AddAdjust": self.mms850_add_adjust, "GetMvxMsg": self.mms850_get_msg,
                         "PrcStkTran": self.mms850_process},
            "MMS310MI": {"Update": self.mms310_update},
            "EXPORTMI": {"Select": self.exportmi_select},
        }
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        with self.lock:
            self.t = new_tables()
            self.cunos: list[str] = []               # sorted, for LstByNumber
            self.batch_orders: dict[str, dict[str, Any]] = {}
            self.invoices: dict[tuple[str, str], dict[str, Any]] = {}   # (CINO, INYR)
            self.pay_batches: dict[str, dict[str, Any]] = {}
            self.gl_batches: dict[str, dict[str, Any]] = {}
            self.vouchers: dict[tuple[str, str], list[dict[str, str]]] = {}
            self.messages: dict[tuple[str, str], str] = {}  # (partner, PMSN) -> MSNR
            self.msgs: dict[str, dict[str, Any]] = {}
            self.closed_before: str | None = None
            self.seq = {"cuno": 0, "tmp_orno": 1000000000, "orno": 100000, "ivno": 100000000,
                        "vono": 0, "jrno": 0, "msnr": 1000000, "jsno": 0}
            self._seed()

    def _next(self, name: str) -> int:
        self.seq[name] += 1
        return self.seq[name]

    def _seed(self) -> None:
        for acct, name in ACCOUNTS.items():
            self.t["FCHACC"].insert(self.t["FCHACC"].new_row(
                CONO=self.cono, DIVI=self.divi, AITP="1", AITM=acct, TX40=name, TX15=name[:15]))
        self._insert_customer(self.t["OCUSMA"].new_row(
            CONO=self.cono, CUNO=TEMPLATE, CUNM="Customer template", CUA1="Customer template",
            STAT="20", CUTP="0", CUCD=self.local, LNCD="GB", TXAP="1", ORTP="A10", WHLO=WAREHOUSE,
            RGDT="20200101", LMDT="20200101", CHNO="1"))
        self.t["MITWHL"].insert(self.t["MITWHL"].new_row(
            CONO=self.cono, WHLO=WAREHOUSE, WHNM="MAIN warehouse", DIVI=self.divi, FACI="A01"))
        for n in range(1000, 1100):
            self.set_item(f"SKU-{n:05d}", Decimal(1_000_000), WAREHOUSE, True)
        for n in range(1, 11):
            self.set_item(f"SUB-{n:03d}", Decimal(0), WAREHOUSE, False)
        self.set_item("MISC", Decimal(0), WAREHOUSE, False)

    def set_item(self, itno: str, on_hand: Decimal, whlo: str, stocked: bool) -> None:
        with self.lock:
            items, bal = self.t["MITMAS"], self.t["MITBAL"]
            if self.t["MITWHL"].first("WHLO", whlo) is None:
                self.t["MITWHL"].insert(self.t["MITWHL"].new_row(
                    CONO=self.cono, WHLO=whlo, WHNM=f"Warehouse {whlo}", DIVI=self.divi,
                    FACI="A01"))
            row = items.first("ITNO", itno)
            values = dict(CONO=self.cono, ITNO=itno, ITDS=f"Item {itno}"[:30], FUDS="",
                          STAT="20", ITTY="STK" if stocked else "SRV", UNMS="EA",
                          STCD="1" if stocked else "0", ITGR="STRIPE", ITCL="")
            if row is None:
                items.insert(items.new_row(**values))
            else:
                items.update(row, **values)
            existing = [b for b in bal.lookup("ITNO", itno) if b["MBWHLO"] == whlo]
            if stocked:
                if existing:
                    bal.update(existing[0], STQT=fmt_qty(on_hand))
                else:
                    bal.insert(bal.new_row(CONO=self.cono, WHLO=whlo, ITNO=itno,
                                           STQT=fmt_qty(on_hand), ALQT="0"))
            elif existing:
                bal.rows.remove(existing[0])
                bal.index["MBITNO"][itno].remove(existing[0])

    def close_period(self, before: date) -> None:
        with self.lock:
            self.closed_before = before.strftime("%Y%m%d")

    # ------------------------------------------------------------------ execution
    def has(self, program: str, txn: str | None = None) -> bool:
        return program in self.programs and (txn is None or txn in self.programs[program])

    def execute(self, program: str, txn: str, record: dict[str, Any], ctx: Ctx) -> list[dict]:
        """Run one transaction; raises Nok.  Caller holds ``lock``."""
        spec = TRANSACTIONS[program][txn]
        rec: dict[str, str] = {}
        fields = {f[0]: f for f in spec["in"]}
        for key, value in record.items():
            name = str(key).upper()
            if name not in fields:
                raise Nok(f"Field {name} is not an input field of {program}/{txn}", "XFL0001", name)
            rec[name] = "" if value is None else (value if isinstance(value, str) else str(value))
        for name, maxlen, required, desc in spec["in"]:
            value = rec.get(name, "")
            if len(value) > maxlen:
                raise Nok(f"{desc} is too long - max {maxlen} characters ({name})",
                          f"W{name}05", name)
            if required and not value.strip():
                raise Nok(f"{desc} must be entered", f"W{name}01", name)
            rec[name] = value.strip()
        if rec.get("CONO") and rec["CONO"] != ctx.cono:
            raise Nok(f"Not authorized for company {rec['CONO']}", "XAU0008", "CONO")
        if rec.get("DIVI") and rec["DIVI"] != ctx.divi:
            raise Nok(f"Division {rec['DIVI']} does not exist", "XIM0002", "DIVI")
        return self.programs[program][txn](rec, ctx)

    def _out(self, program: str, txn: str, values: dict[str, Any]) -> dict[str, str]:
        return {f: "" if values.get(f) is None else str(values.get(f))
                for f in _out_fields(program, txn)}

    @staticmethod
    def _strip(row: dict[str, str], prefix: str) -> dict[str, str]:
        n = len(prefix)
        return {k[n:]: v for k, v in row.items()}

    @staticmethod
    def _limit(rows: list, ctx: Ctx) -> list:
        return rows[:ctx.maxrecs] if ctx.maxrecs else rows

    # ------------------------------------------------------------------ validation helpers
    @staticmethod
    def _date(rec: dict[str, str], field: str, desc: str, default: str | None = None) -> str:
        value = rec.get(field) or default or ""
        if not value:
            return ""
        try:
            if len(value) != 8 or not value.isdigit():
                raise ValueError
            datetime.strptime(value, "%Y%m%d")
        except ValueError:
            raise Nok(f"{desc} {value} is invalid - use YYYYMMDD", f"W{field}02", field) from None
        return value

    @staticmethod
    def _number(rec: dict[str, str], field: str, desc: str, default: str | None = None) -> Decimal:
        value = rec.get(field) or (default if default is not None else "")
        if value == "":
            raise Nok(f"{desc} must be entered", f"W{field}01", field)
        try:
            if "," in value or "e" in value.lower():
                raise InvalidOperation
            number = Decimal(value)
        except InvalidOperation:
            raise Nok(f"{desc} {value} is not numeric", f"W{field}02", field) from None
        if not number.is_finite():
            raise Nok(f"{desc} {value} is not numeric", f"W{field}02", field)
        return number

    def _amount(self, rec: dict[str, str], field: str, desc: str, cucd: str) -> Decimal:
        value = self._number(rec, field, desc)
        if -value.as_tuple().exponent > currency_decimals(cucd) and value != value.quantize(
                Decimal(1).scaleb(-currency_decimals(cucd))):
            raise Nok(f"{desc} {rec[field]} has more decimals than currency {cucd} allows "
                      f"({currency_decimals(cucd)})", f"W{field}02", field)
        return value

    @staticmethod
    def _currency(value: str, field: str = "CUCD") -> str:
        if len(value) != 3 or not value.isalpha() or not value.isupper():
            raise Nok(f"Currency {value} does not exist", "XIM0002", field)
        return value

    def _open_period(self, acdt: str, field: str = "ACDT") -> None:
        if self.closed_before and acdt < self.closed_before:
            raise Nok(f"Accounting date {acdt} is in a closed period - the accounting period is "
                      f"closed for dates before {self.closed_before}", "WACDT07", field)

    def _customer(self, cuno: str, field: str = "CUNO", desc: str = "Customer number") -> dict:
        row = self.t["OCUSMA"].first("CUNO", cuno)
        if row is None:
            raise Nok(f"{desc} {cuno} does not exist", "XIM0002", field)
        return row

    def _item(self, itno: str) -> dict[str, str]:
        row = self.t["MITMAS"].first("ITNO", itno)
        if row is None:
            raise Nok(f"Item number {itno} does not exist", "XIM0002", "ITNO")
        return row

    def _warehouse(self, whlo: str) -> dict[str, str]:
        row = self.t["MITWHL"].first("WHLO", whlo)
        if row is None:
            raise Nok(f"Warehouse {whlo} does not exist", "XIM0002", "WHLO")
        return row

    # ------------------------------------------------------------------ CRS610MI customers
    def _insert_customer(self, row: dict[str, str]) -> None:
        self.t["OCUSMA"].insert(row)
        bisect.insort(self.cunos, row["OKCUNO"])

    def crs610_add(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        template = self._customer(rec["CUTM"], "CUTM", "Customer template")
        cuno = rec.get("CUNO") or f"C{self._next('cuno'):09d}"
        if self.t["OCUSMA"].first("CUNO", cuno) is not None:
            raise Nok(f"Customer number {cuno} already exists", "WCUNO04", "CUNO")
        values = {k[2:]: v for k, v in template.items()
                  if k[2:] in ("STAT", "CUTP", "CUCD", "LNCD", "TXAP", "ORTP", "WHLO", "TEPY")}
        values.update({k: v for k, v in rec.items() if k not in ("CUTM", "CONO", "DIVI") and v})
        today = _today()
        values.update(CONO=ctx.cono, CUNO=cuno, RGDT=today, LMDT=today, CHNO="1", PYNO=cuno)
        self._insert_customer(self.t["OCUSMA"].new_row(**values))
        return [self._out("CRS610MI", "Add", {"CUNO": cuno, "ERRM": ""})]

    def _change_customer(self, rec: dict[str, str], allowed: set[str]) -> list[dict]:
        row = self._customer(rec["CUNO"])
        changes = {k: v for k, v in rec.items() if k in allowed and v}
        if "CUCD" in changes:
            self._currency(changes["CUCD"])
        if "TXAP" in changes and changes["TXAP"] not in ("0", "1"):
            raise Nok(f"Tax applicable {changes['TXAP']} is invalid - use 0 or 1", "WTXAP02",
                      "TXAP")
        changes.update(LMDT=_today(), CHNO=str(int(row["OKCHNO"] or "0") + 1))
        self.t["OCUSMA"].update(row, **{k: v for k, v in changes.items()
                                        if "OK" + k in self.t["OCUSMA"].colset})
        return [{"CUNO": rec["CUNO"]}]

    def crs610_chg_basic(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        allowed = {f[0] for f in TRANSACTIONS["CRS610MI"]["ChgBasicData"]["in"]} - {
            "CUNO", "CONO", "DIVI", "PWM1", "PWM2", "CHNO"}
        return self._change_customer(rec, allowed)

    def crs610_chg_financial(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        allowed = {f[0] for f in TRANSACTIONS["CRS610MI"]["ChgFinancial"]["in"]} - {
            "CUNO", "CONO", "DIVI", "CHNO"}
        self._change_customer(rec, allowed)
        return []

    def crs610_get_basic(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        row = self._customer(rec["CUNO"])
        return [self._out("CRS610MI", "GetBasicData", self._strip(row, "OK"))]

    def crs610_lst(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        start = bisect.bisect_left(self.cunos, rec.get("CUNO", ""))
        cunos = self.cunos[start:]
        cunos = cunos[:ctx.maxrecs] if ctx.maxrecs else cunos
        table = self.t["OCUSMA"]
        return [self._out("CRS610MI", "LstByNumber", self._strip(table.first("CUNO", c), "OK"))
                for c in cunos]

    # ------------------------------------------------------------------ OIS100MI orders
    def ois100_add_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        cust = self._customer(rec["CUNO"])
        ortp = rec.get("ORTP") or cust["OKORTP"] or "A10"
        if ortp not in ORDER_TYPES:
            raise Nok(f"Order type {ortp} does not exist", "XIM0002", "ORTP")
        cucd = self._currency(rec.get("CUCD") or cust["OKCUCD"] or self.local)
        whlo = rec.get("WHLO") or cust["OKWHLO"] or WAREHOUSE
        self._warehouse(whlo)
        today = _today()
        head = {k: v for k, v in rec.items() if v}
        head.update(CUNO=rec["CUNO"], ORTP=ortp, CUCD=cucd, WHLO=whlo,
                    ORDT=self._date(rec, "ORDT", "Order date", today),
                    RLDT=self._date(rec, "RLDT", "Requested delivery date", today),
                    CUDT=self._date(rec, "CUDT", "Customer's purchase order date"))
        orno = str(self._next("tmp_orno"))
        self.batch_orders[orno] = {"head": head, "lines": [], "errors": 0, "STAT": "10"}
        return [{"ORNO": orno}]

    def _batch_order(self, orno: str) -> dict[str, Any]:
        order = self.batch_orders.get(orno)
        if order is None:
            raise Nok(f"Order number {orno} does not exist", "XIM0002", "ORNO")
        return order

    def ois100_add_line(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        order = self._batch_order(rec["ORNO"])
        try:
            item = self._item(rec["ITNO"])
            if item["MMSTAT"] >= "90":
                raise Nok(f"Item number {rec['ITNO']} is not active", "WITNO06", "ITNO")
            qty = self._number(rec, "ORQT", "Ordered quantity")
            if qty <= 0:
                raise Nok(f"Ordered quantity {rec['ORQT']} must be greater than zero", "WORQT02",
                          "ORQT")
            price = self._amount(rec, "SAPR", "Sales price", order["head"]["CUCD"]) \
                if rec.get("SAPR") else Decimal(0)
            whlo = rec.get("WHLO") or order["head"]["WHLO"]
            self._warehouse(whlo)
            dwdt = self._date(rec, "DWDT", "Requested delivery date", order["head"]["RLDT"])
        except Nok:
            order["errors"] += 1
            raise
        ponr = str(len(order["lines"]) + 1)
        order["lines"].append({"PONR": ponr, "POSX": "0", "ITNO": rec["ITNO"],
                               "ITDS": rec.get("ITDS") or item["MMITDS"], "ORQT": qty,
                               "SAPR": price, "WHLO": whlo, "DWDT": dwdt})
        return [self._out("OIS100MI", "AddBatchLine", {"PONR": ponr, "POSX": "0"})]

    def ois100_confirm(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        tmp = rec["ORNO"]
        order = self._batch_order(tmp)
        if order["errors"]:
            raise Nok(f"Batch order {tmp} has {order['errors']} line(s) with errors - correct "
                      f"them in OIS275", "WORNO06", "ORNO")
        if not order["lines"]:
            raise Nok(f"Batch order {tmp} has no lines", "WORNO07", "ORNO")
        head = order["head"]
        idat = head["ORDT"]
        self._open_period(idat, "ORDT")     # the sandbox invoices on confirmation
        cucd = head["CUCD"]
        orno = f"{self._next('orno'):010d}"
        total = Decimal(0)
        today = _today()
        oline = self.t["OOLINE"]
        for line in order["lines"]:
            amount = (line["ORQT"] * line["SAPR"]).quantize(
                Decimal(1).scaleb(-currency_decimals(cucd)), rounding=ROUND_HALF_UP)
            total += amount
            oline.insert(oline.new_row(
                CONO=ctx.cono, DIVI=ctx.divi, ORNO=orno, PONR=line["PONR"], POSX="0",
                ITNO=line["ITNO"], ITDS=line["ITDS"], ORQT=fmt_qty(line["ORQT"]),
                SAPR=format(line["SAPR"], "f"), NEPR=format(line["SAPR"], "f"),
                LNAM=fmt_amount(amount, cucd), WHLO=line["WHLO"], CUCD=cucd, ORST="77",
                IVQT=fmt_qty(line["ORQT"]), DWDT=line["DWDT"]))
        self.t["OOHEAD"].insert(self.t["OOHEAD"].new_row(
            CONO=ctx.cono, DIVI=ctx.divi, ORNO=orno, ORTP=head["ORTP"], ORDT=head["ORDT"],
            RLDT=head["RLDT"], CUNO=head["CUNO"], PYNO=head.get("PYNO") or head["CUNO"],
            CUOR=head.get("CUOR", ""), YREF=head.get("YREF", ""), OREF=head.get("OREF", ""),
            CUCD=cucd, WHLO=head["WHLO"], FACI=head.get("FACI", "A01"), ORST="77", ORSL="77",
            NTAM=fmt_amount(total, cucd), BRAM=fmt_amount(total, cucd),
            TEPY=head.get("TEPY", ""), PYCD=head.get("PYCD", ""), CUDT=head.get("CUDT", ""),
            RGDT=today, LMDT=today))
        self._invoice(orno, head, order["lines"], total, idat, ctx)
        del self.batch_orders[tmp]
        return [self._out("OIS100MI", "Confirm", {"ORNO": orno, "STAT": "77"})]

    def _invoice(self, orno: str, head: dict, lines: list, total: Decimal, idat: str,
                 ctx: Ctx) -> None:
        """[A] the sandbox delivers and invoices a confirmed order at once."""
        cucd, cuno = head["CUCD"], head["CUNO"]
        pyno = head.get("PYNO") or cuno
        ivno, yea4 = str(self._next("ivno")), idat[:4]
        for line in lines:
            self.t["OINVOL"].insert(self.t["OINVOL"].new_row(
                CONO=ctx.cono, DIVI=ctx.divi, YEA4=yea4, IVNO=ivno, ORNO=orno,
                PONR=line["PONR"], POSX="0", ITNO=line["ITNO"], IVQT=fmt_qty(line["ORQT"]),
                LNAM=fmt_amount(line["ORQT"] * line["SAPR"], cucd), CUCD=cucd))
        jrno = str(self._next("jrno"))
        ledger = self.t["FSLEDG"].insert(self.t["FSLEDG"].new_row(
            CONO=ctx.cono, DIVI=ctx.divi, PYNO=pyno, CUNO=cuno, CINO=ivno, INYR=yea4, TRCD="10",
            YEA4=yea4, JRNO=jrno, JSNO="1", VONO="", CUAM=fmt_amount(total, cucd), CUCD=cucd,
            IVDT=idat, DUDT=idat, ACDT=idat, RECO="0", REDE="0", TDSC="Invoice"))
        self.invoices[(ivno, yea4)] = {"ORNO": orno, "CUNO": cuno, "PYNO": pyno, "IDAT": idat,
                                       "DUDT": idat, "CUCD": cucd, "IVAV": total,
                                       "remaining": total, "ledger": [ledger]}

    def ois100_del_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        self._batch_order(rec["ORNO"])
        del self.batch_orders[rec["ORNO"]]
        return []

    def ois100_get_batch_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        order = self._batch_order(rec["ORNO"])
        return [self._out("OIS100MI", "GetBatchHead", {**order["head"], "ORNO": rec["ORNO"],
                                                         "STAT": order["STAT"]})]

    def _order_values(self, row: dict[str, str]) -> dict[str, str]:
        values = self._strip(row, "OA")
        values.update(STAT=values["ORST"], TOPY=values["NTAM"], ONET=values["NTAM"],
                      ORVA=values["NTAM"], TOAM=values["NTAM"], VTAM="0")
        return values

    def ois100_get_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        row = self.t["OOHEAD"].first("ORNO", rec["ORNO"])
        if row is None:
            raise Nok(f"Order number {rec['ORNO']} does not exist", "XIM0002", "ORNO")
        return [self._out("OIS100MI", "GetHead", self._order_values(row))]

    def ois100_lst_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        self._customer(rec["CUNO"])
        rows = [r for r in self.t["OOHEAD"].lookup("CUNO", rec["CUNO"])
                if (not rec.get("ORSL") or r["OAORST"] >= rec["ORSL"])
                and (not rec.get("ORST") or r["OAORST"] <= rec["ORST"])]
        return [self._out("OIS100MI", "LstHead", self._order_values(r))
                for r in self._limit(rows, ctx)]

    def ois100_lst_line(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        if self.t["OOHEAD"].first("ORNO", rec["ORNO"]) is None:
            raise Nok(f"Order number {rec['ORNO']} does not exist", "XIM0002", "ORNO")
        rows = [r for r in self.t["OOLINE"].lookup("ORNO", rec["ORNO"])
                if not rec.get("ITNO") or r["OBITNO"] == rec["ITNO"]]
        out = []
        for r in self._limit(rows, ctx):
            values = self._strip(r, "OB")
            values.update(NLAM=values["LNAM"], SPUN="EA")
            out.append(self._out("OIS100MI", "LstLine", values))
        return out

    # ------------------------------------------------------------------ OIS350MI / ARS200MI invoices
    def _invoice_values(self, key: tuple[str, str]) -> dict[str, str]:
        inv = self.invoices[key]
        cust = self.t["OCUSMA"].first("CUNO", inv["CUNO"]) or {}
        cucd = inv["CUCD"]
        return {"IVNO": key[0], "YEA4": key[1], "CINO": key[0], "INYR": key[1],
                "IDAT": inv["IDAT"], "IVDT": inv["IDAT"], "ACDT": inv["IDAT"],
                "DUDT": inv["DUDT"], "CUNO": inv["CUNO"], "PYNO": inv["PYNO"],
                "INRC": inv["PYNO"], "CUNM": cust.get("OKCUNM", ""),
                "CUN1": cust.get("OKCUNM", ""), "PYN1": cust.get("OKCUNM", ""),
                "IVAV": fmt_amount(inv["IVAV"], cucd), "CUAM": fmt_amount(inv["IVAV"], cucd),
                "RAFC": fmt_amount(inv["remaining"], cucd),
                "OCUA": fmt_amount(inv["remaining"], cucd),
                "PCUA": fmt_amount(inv["IVAV"] - inv["remaining"], cucd),
                "CUCD": cucd, "EXIN": key[0], "INST": "90" if inv["remaining"] == 0 else "10",
                "RECO": inv["ledger"][0]["ESRECO"], "REDE": inv["ledger"][0]["ESREDE"],
                "TRCD": "10", "JRNO": inv["ledger"][0]["ESJRNO"], "JSNO": "1", "CASH": "0",
                "TDSC": "Invoice", "LOCD": self.local}

    def ois350_lst_by_co(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        keys = sorted({(r["ONIVNO"], r["ONYEA4"]) for r in self.t["OINVOL"].lookup("ORNO", rec["ORNO"])})
        return [self._out("OIS350MI", "LstAllInvByCO", self._invoice_values(k))
                for k in self._limit(keys, ctx)]

    def ois350_get_inv_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        key = (rec["IVNO"], rec["YEA4"])
        if key not in self.invoices:
            raise Nok(f"Invoice {rec['IVNO']} for year {rec['YEA4']} does not exist", "XIM0002",
                      "IVNO")
        return [self._out("OIS350MI", "GetInvHead", self._invoice_values(key))]

    def ars200_lst(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        self._customer(rec["CUNO"])
        rows = [r for r in self.t["FSLEDG"].lookup("CUNO", rec["CUNO"]) if r["ESTRCD"] == "10"
                and (rec.get("AAC0") != "1" or r["ESRECO"] != "9")
                and (not rec.get("IVDT") or r["ESIVDT"] >= rec["IVDT"])]
        return [self._out("ARS200MI", "LstInvoices", self._strip(r, "ES"))
                for r in self._limit(rows, ctx)]

    def ars200_get_tot(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        key = (rec["CINO"], rec["INYR"])
        inv = self.invoices.get(key)
        if inv is None or inv["CUNO"] != rec["CUNO"] or inv["PYNO"] != rec["PYNO"]:
            raise Nok(f"Invoice {rec['CINO']} does not exist", "XIM0002", "CINO")
        return [self._out("ARS200MI", "GetInvTotInfo", self._invoice_values(key))]

    # ------------------------------------------------------------------ ARS040MI payments
    def _pay_batch(self, pbid: str) -> dict[str, Any]:
        batch = self.pay_batches.get(pbid)
        if batch is None or batch["status"] == "discarded":
            raise Nok(f"Payment batch {pbid} does not exist", "XIM0002", "PBID")
        if batch["status"] == "90":
            raise Nok(f"Payment batch {pbid} is already updated", "WPBID08", "PBID")
        return batch

    def ars040_add_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        pbid = rec["PBID"]
        old = self.pay_batches.get(pbid)
        if old is not None and old["status"] != "discarded":
            raise Nok(f"Payment batch {pbid} already exists", "WPBID04", "PBID")
        if rec["BOPE"] not in PAYMENT_TYPES:
            raise Nok(f"Batch payment type {rec['BOPE']} does not exist", "XIM0002", "BOPE")
        if rec.get("BAAN") and rec["BAAN"] not in BANK_ACCOUNTS:
            raise Nok(f"Bank account {rec['BAAN']} does not exist", "XIM0002", "BAAN")
        acdt = self._date(rec, "ACDT", "Accounting date", _today())
        self.pay_batches[pbid] = {"head": {**rec, "ACDT": acdt}, "lines": [], "charges": [],
                                  "errors": 0, "status": "10"}
        return [{"PBID": pbid}]

    def ars040_add_line(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        batch = self._pay_batch(rec["PBID"])
        try:
            trno = self._number(rec, "TRNO", "Transaction number")
            if any(line["TRNO"] == trno for line in batch["lines"]):
                raise Nok(f"Transaction number {rec['TRNO']} already exists", "WTRNO04", "TRNO")
            self._customer(rec["CUNO"])
            inv = self.invoices.get((rec["CINO"], rec["INYR"]))
            if inv is None or rec["CUNO"] not in (inv["CUNO"], inv["PYNO"]):
                raise Nok(f"Invoice number {rec['CINO']} year {rec['INYR']} does not exist for "
                          f"customer {rec['CUNO']}", "XIM0002", "CINO")
            cucd = rec.get("CUCD") or inv["CUCD"]
            if cucd != inv["CUCD"]:
                raise Nok(f"Currency {cucd} differs from the currency {inv['CUCD']} of invoice "
                          f"{rec['CINO']}", "WCUCD02", "CUCD")
            pyam = self._amount(rec, "PYAM", "Payment amount", cucd)
            if pyam == 0:
                raise Nok("Payment amount must not be zero", "WPYAM02", "PYAM")
            lpdt = self._date(rec, "LPDT", "Payment date", batch["head"]["ACDT"])
        except Nok:
            batch["errors"] += 1
            raise
        batch["lines"].append({**rec, "TRNO": trno, "PYAM": pyam, "CUCD": cucd, "LPDT": lpdt})
        return []

    def ars040_add_charge(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        batch = self._pay_batch(rec["PBID"])
        try:
            cucd = self._currency(rec.get("CUCD") or self.local)
            cham = self._amount(rec, "CHAM", "Charge amount", cucd)
        except Nok:
            batch["errors"] += 1
            raise
        batch["charges"].append({**rec, "CHAM": cham, "CUCD": cucd})
        return []

    def ars040_control(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        pbid = rec.get("PBID", "")
        if not pbid:
            raise Nok("Payment batch must be entered", "WPBID01", "PBID")
        batch = self._pay_batch(pbid)
        try:
            self._control_payment(pbid, batch)
        except _Discard as exc:
            batch["status"] = "discarded"      # [A] rejected batches are removed
            raise exc.nok from None
        head = batch["head"]
        for line in batch["lines"]:
            key = (line["CINO"], line["INYR"])
            inv = self.invoices[key]
            inv["remaining"] -= line["PYAM"]
            cucd = inv["CUCD"]
            ledger = self.t["FSLEDG"].insert(self.t["FSLEDG"].new_row(
                CONO=ctx.cono, DIVI=ctx.divi, PYNO=inv["PYNO"], CUNO=inv["CUNO"],
                CINO=key[0], INYR=key[1], TRCD="20", YEA4=head["ACDT"][:4],
                JRNO=str(self._next("jrno")), JSNO="1", CUAM=fmt_amount(-line["PYAM"], cucd),
                CUCD=cucd, IVDT=inv["IDAT"], DUDT=inv["DUDT"], ACDT=head["ACDT"],
                DTP5=line["LPDT"], RECO="0", REDE="0", TDSC="Payment",
                PYCD=head["BOPE"], BKID=BANK_ACCOUNTS.get(head.get("BAAN", ""), ("",))[0]))
            inv["ledger"].append(ledger)
            if inv["remaining"] == 0:
                for row in inv["ledger"]:
                    self.t["FSLEDG"].update(row, RECO="9", REDE=head["ACDT"])
            self.t["FSBPAY"].insert(self.t["FSBPAY"].new_row(
                CONO=ctx.cono, DIVI=ctx.divi, PBID=pbid, BOPE=head["BOPE"],
                BAAN=head.get("BAAN", ""), ACDT=head["ACDT"], TRNO=str(line["TRNO"]),
                CINO=key[0], INYR=key[1], CUNO=line["CUNO"], PYNO=line.get("PYNO", ""),
                PYAM=fmt_amount(line["PYAM"], cucd), CUCD=cucd, ARAT=line.get("ARAT", ""),
                LPDT=line["LPDT"], CKNO=line.get("CKNO", ""), IRNO=line.get("IRNO", ""),
                BPYS="9"))
        batch["status"] = "90"
        return []

    def _control_payment(self, pbid: str, batch: dict[str, Any]) -> None:
        if batch["errors"]:
            raise _Discard(Nok(f"Payment batch {pbid} contains {batch['errors']} record(s) with "
                               f"errors", "WPBID06", "PBID"))
        if not batch["lines"]:
            raise _Discard(Nok(f"Payment batch {pbid} has no payment lines", "WPBID07", "PBID"))
        try:
            self._open_period(batch["head"]["ACDT"])
        except Nok as nok:
            raise _Discard(nok) from None
        applied: dict[tuple[str, str], Decimal] = {}
        for line in batch["lines"]:
            key = (line["CINO"], line["INYR"])
            applied[key] = applied.get(key, Decimal(0)) + line["PYAM"]
        for key, amount in applied.items():
            inv = self.invoices[key]
            remaining = inv["remaining"]
            if (amount > 0 and amount > remaining) or (amount < 0 and amount < remaining):
                raise _Discard(Nok(
                    f"Payment amount {fmt_amount(amount, inv['CUCD'])} exceeds the remaining "
                    f"amount {fmt_amount(remaining, inv['CUCD'])} {inv['CUCD']} of invoice "
                    f"{key[0]}", "WPYAM07", "PYAM"))

    # ------------------------------------------------------------------ GLS840MI GL interface
    def _gl_batch(self, key1: str) -> dict[str, Any]:
        batch = self.gl_batches.get(key1)
        if batch is None or batch["status"] == "discarded":
            raise Nok(f"Key value {key1} does not exist", "XIM0002", "KEY1")
        return batch

    def gls840_add_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        key1 = rec["KEY1"]
        old = self.gl_batches.get(key1)
        if old is not None and old["status"] != "discarded":
            raise Nok(f"Key value {key1} already exists", "WKEY104", "KEY1")
        if rec["INTN"] not in GL_INTERFACES:
            raise Nok(f"Interface {rec['INTN']} does not exist", "XIM0002", "INTN")
        self.gl_batches[key1] = {"head": rec, "lines": {}, "errors": 0, "status": "10"}
        return [{"CONO": ctx.cono}]

    def gls840_add_line(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        batch = self._gl_batch(rec["KEY1"])
        batch["errors"] += 1
        raise Nok(f"Interface {batch['head']['INTN']} is defined for field input - use "
                  f"AddBatchLineFld", "WPARM02", "PARM")

    def gls840_add_line_fld(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        batch = self._gl_batch(rec["KEY1"])
        if batch["status"] != "10":
            raise Nok(f"Key value {rec['KEY1']} is already processed", "WKEY108", "KEY1")
        try:
            line = self._number(rec, "LINE", "Line number")
            if line in batch["lines"]:
                raise Nok(f"Line number {rec['LINE']} already exists", "WLINE04", "LINE")
            for f, desc in (("CUAM", "Foreign currency amount"), ("ACAM", "Recorded amount"),
                            ("ARAT", "Exchange rate"), ("ACQT", "Quantity")):
                if rec.get(f):
                    self._number(rec, f, desc)
            self._date(rec, "ACDT", "Accounting date")
            self._date(rec, "SHDT", "Reversal date")
            if rec.get("DBCR") not in (None, "", "D", "C"):
                raise Nok(f"Debit/credit code {rec['DBCR']} is invalid - use D or C", "WDBCR02",
                          "DBCR")
            if rec.get("CUCD"):
                self._currency(rec["CUCD"])
        except Nok:
            batch["errors"] += 1
            raise
        batch["lines"][line] = rec
        return []

    def _control_gl(self, key1: str, batch: dict[str, Any]) -> list[dict[str, Any]]:
        """Validate a GL batch; the lines with signed amounts, or _Discard."""
        if batch["errors"]:
            raise _Discard(Nok(f"Batch {key1} contains {batch['errors']} record(s) with errors",
                               "WKEY106", "KEY1"))
        if len(batch["lines"]) < 2:
            raise _Discard(Nok(f"Batch {key1} must contain at least two lines", "WKEY107", "KEY1"))
        lines = []
        try:
            for n in sorted(batch["lines"]):
                rec = batch["lines"][n]
                if not rec.get("AIT1"):
                    raise Nok("Accounting dimension 1 must be entered", "WAIT101", "AIT1")
                if self.t["FCHACC"].first("AITM", rec["AIT1"]) is None:
                    raise Nok(f"Account {rec['AIT1']} does not exist", "XIM0002", "AIT1")
                acdt = rec.get("ACDT")
                if not acdt:
                    raise Nok("Accounting date must be entered", "WACDT01", "ACDT")
                self._open_period(acdt)
                cucd = rec.get("CUCD") or self.local
                if not rec.get("CUAM") and not rec.get("ACAM"):
                    raise Nok("Foreign currency amount must be entered", "WCUAM01", "CUAM")
                cuam = self._amount(rec, "CUAM" if rec.get("CUAM") else "ACAM",
                                    "Foreign currency amount", cucd)
                if rec.get("DBCR") == "C":
                    cuam = -abs(cuam)
                elif rec.get("DBCR") == "D":
                    cuam = abs(cuam)
                arat = Decimal(rec["ARAT"]) if rec.get("ARAT") else Decimal(1)
                acam = Decimal(rec["ACAM"]) if rec.get("ACAM") and rec.get("CUAM") else cuam * arat
                if rec.get("DBCR"):
                    acam = abs(acam) if cuam > 0 else -abs(acam)
                lines.append({**rec, "LINE": n, "CUCD": cucd, "CUAM": cuam, "ACAM": acam,
                              "ARAT": arat, "ACDT": acdt})
        except Nok as nok:
            raise _Discard(nok) from None
        sums: dict[tuple[str, str], Decimal] = {}
        for line in lines:
            key = (line["ACDT"], line["CUCD"])
            sums[key] = sums.get(key, Decimal(0)) + line["CUAM"]
        for (acdt, cucd), diff in sums.items():
            if diff != 0:
                raise _Discard(Nok(f"Voucher is not balanced - difference {fmt_amount(diff, cucd)} "
                                   f"{cucd} for accounting date {acdt}", "WBAL001", "CUAM"))
        return lines

    def gls840_ctrl(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        batch = self._gl_batch(rec["KEY1"])
        if batch["status"] == "10":
            try:
                batch["checked"] = self._control_gl(rec["KEY1"], batch)
            except _Discard as exc:
                batch["status"] = "discarded"   # [A] rejected batches are removed
                raise exc.nok from None
            batch["status"] = "20"
        return [{"CONO": ctx.cono}]

    def gls840_upd(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        key1 = rec["KEY1"]
        batch = self._gl_batch(key1)
        if batch["status"] == "90":
            raise Nok(f"Batch {key1} is already updated", "WKEY108", "KEY1")
        if batch["status"] == "10":
            self.gls840_ctrl(rec, ctx)
        lines = batch["checked"]
        intn = batch["head"]["INTN"]
        by_date: dict[str, list[dict[str, Any]]] = {}
        for line in lines:
            by_date.setdefault(line["ACDT"], []).append(line)
        today = _today()
        gl, glx = self.t["FGLEDG"], self.t["FGLEDX"]
        for acdt, group in sorted(by_date.items()):
            yea4, vono, jrno = acdt[:4], str(self._next("vono")), str(self._next("jrno"))
            rows = []
            for jsno, line in enumerate(group, start=1):
                cucd = line["CUCD"]
                row = gl.insert(gl.new_row(
                    CONO=ctx.cono, DIVI=ctx.divi, YEA4=yea4, JRNO=jrno, JSNO=str(jsno), VSER="",
                    VONO=vono, ACDT=acdt, OCDT=acdt,
                    **{f"AIT{i}": line.get(f"AIT{i}", "") for i in range(1, 8)},
                    CUCD=cucd, ARAT=format(line["ARAT"], "f"),
                    CUAM=fmt_amount(line["CUAM"], cucd), ACAM=fmt_amount(line["ACAM"], cucd),
                    DBCR="D" if line["CUAM"] > 0 else "C", VTXT=line.get("VTXT", ""), TRCD="40",
                    FEID="GL40", FNCN="001", TDSC=intn[:10], RGDT=today,
                    ACQT=line.get("ACQT", "")))
                rows.append(row)
                for n in ("1", "2"):
                    if line.get(f"EXN{n}") or line.get(f"EXI{n}"):
                        glx.insert(glx.new_row(CONO=ctx.cono, DIVI=ctx.divi, YEA4=yea4,
                                               JRNO=jrno, JSNO=str(jsno),
                                               GEXN=line.get(f"EXN{n}") or n,
                                               GEXI=line.get(f"EXI{n}", "")))
            self.vouchers[(yea4, vono)] = rows
        batch["status"] = "90"
        return [{"CONO": ctx.cono}]

    # ------------------------------------------------------------------ GLS200MI GL read
    def _voucher(self, rec: dict[str, str]) -> list[dict[str, str]]:
        rows = self.vouchers.get((rec["YEA4"], rec["VONO"].lstrip("0") or "0"))
        if not rows:
            raise Nok(f"Voucher {rec['VONO']} for year {rec['YEA4']} does not exist", "XIM0002",
                      "VONO")
        return rows

    def gls200_get_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        rows = self._voucher(rec)
        cucd = rows[0]["EGCUCD"]
        debit = sum((Decimal(r["EGACAM"]) for r in rows if Decimal(r["EGACAM"]) > 0), Decimal(0))
        credit = -sum((Decimal(r["EGACAM"]) for r in rows if Decimal(r["EGACAM"]) < 0), Decimal(0))
        cdebit = sum((Decimal(r["EGCUAM"]) for r in rows if Decimal(r["EGCUAM"]) > 0), Decimal(0))
        ccredit = -sum((Decimal(r["EGCUAM"]) for r in rows if Decimal(r["EGCUAM"]) < 0), Decimal(0))
        values = self._strip(rows[0], "EG")
        values.update(DSUM=fmt_amount(debit, cucd), CSUM=fmt_amount(credit, cucd),
                      CUAD=fmt_amount(cdebit, cucd), CUAC=fmt_amount(ccredit, cucd))
        return [self._out("GLS200MI", "GetVoucherHead", values)]

    def gls200_lst_lines(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        rows = self._voucher(rec)
        return [self._out("GLS200MI", "LstVoucherLines", self._strip(r, "EG"))
                for r in self._limit(rows, ctx)]

    def gls200_lst_by_dt(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        frdt = self._date(rec, "FRDT", "From date")
        todt = self._date(rec, "TODT", "To date")
        rows = [r for r in self.t["FGLEDG"].rows if frdt <= r["EGACDT"] <= todt]
        return [self._out("GLS200MI", "LstVouchersByDt", self._strip(r, "EG"))
                for r in self._limit(rows, ctx)]

    # ------------------------------------------------------------------ MMS200MI items
    def _balance(self, whlo: str, itno: str) -> dict[str, str]:
        self._warehouse(whlo)
        self._item(itno)
        for row in self.t["MITBAL"].lookup("ITNO", itno):
            if row["MBWHLO"] == whlo:
                return row
        raise Nok(f"Item number {itno} does not exist in warehouse {whlo}", "XIM0002", "ITNO")

    def mms200_get(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        return [self._out("MMS200MI", "Get", self._strip(self._item(rec["ITNO"]), "MM"))]

    def mms200_whs_bal(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        row = self._balance(rec["WHLO"], rec["ITNO"])
        values = self._strip(row, "MB")
        available = fmt_qty(Decimal(row["MBSTQT"]) - Decimal(row["MBALQT"] or "0"))
        values.update(AV01=available, AVAL=available, AV02=available, QUQT="0", RJQT="0")
        return [self._out("MMS200MI", "GetItmWhsBal", values)]

    # ------------------------------------------------------------------ MMS850MI / MMS310MI stock
    def mms850_add_adjust(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        partner, pmsn = rec["E0PA"], rec.get("PMSN", "")
        if not rec.get("ITNO"):
            raise Nok("Item number must be entered", "WITNO01", "ITNO")
        item = self._item(rec["ITNO"])
        if item["MMSTCD"] != "1":
            raise Nok(f"Item number {rec['ITNO']} is not inventory accounted - no stock "
                      f"transactions allowed", "WITNO08", "ITNO")
        self._balance(rec["WHLO"], rec["ITNO"])
        qty = self._number(rec, "QLQT", "Quantity")
        if qty == 0:
            raise Nok("Quantity must not be zero", "WQLQT02", "QLQT")
        if pmsn and (partner, pmsn) in self.messages:
            raise Nok(f"External message number {pmsn} already exists for partner {partner}",
                      "WPMSN04", "PMSN")
        msnr = str(self._next("msnr"))
        self.msgs[msnr] = {**rec, "QLQT": qty, "processed": False}
        if pmsn:
            self.messages[(partner, pmsn)] = msnr
        if rec.get("PRFL", "").upper() == "*EXE":
            self._process(msnr, ctx)
        return [self._out("MMS850MI", "AddAdjust",
                          {"CONO": ctx.cono, "MSNR": msnr, "MSLN": "1", "MSGS": "1"})]

    def _process(self, msnr: str, ctx: Ctx) -> None:
        msg = self.msgs[msnr]
        row = self._balance(msg["WHLO"], msg["ITNO"])
        today = _today()
        self.t["MITBAL"].update(row, STQT=fmt_qty(Decimal(row["MBSTQT"]) + msg["QLQT"]),
                                **({"IDDT": today} if msg["QLQT"] > 0 else {"ODDT": today}))
        self.t["MITTRA"].insert(self.t["MITTRA"].new_row(
            CONO=ctx.cono, WHLO=msg["WHLO"], ITNO=msg["ITNO"], WHSL=msg.get("WHSL", ""),
            TRDT=msg.get("QLDT") or today, TRTM=msg.get("QLTM") or "000000", TTYP="90",
            TRQT=fmt_qty(msg["QLQT"]), RSCD=msg.get("RSCD", ""), BREM=msg.get("BREM", ""),
            RIDN=msnr, RGDT=today, RESP=msg.get("RESP", "")))
        msg["processed"] = True

    def mms850_get_msg(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        msnr = self.messages.get((rec["E0PB"], rec["PMSN"]))
        if msnr is None:
            raise Nok(f"Message for partner {rec['E0PB']} and external message number "
                      f"{rec['PMSN']} does not exist", "XIM0002", "PMSN")
        return [self._out("MMS850MI", "GetMvxMsg", {"CONO": ctx.cono, "MSGN": msnr})]

    def mms850_process(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        msg = self.msgs.get(rec["MSNR"])
        if msg is None:
            raise Nok(f"Message number {rec['MSNR']} does not exist", "XIM0002", "MSNR")
        if msg["processed"]:
            raise Nok(f"Message number {rec['MSNR']} is already processed", "WMSNR08", "MSNR")
        self._process(rec["MSNR"], ctx)
        return []

    def mms310_update(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        item = self._item(rec["ITNO"])
        if item["MMSTCD"] != "1":
            raise Nok(f"Item number {rec['ITNO']} is not inventory accounted", "WITNO08", "ITNO")
        row = self._balance(rec["WHLO"], rec["ITNO"])
        if rec.get("STQI"):
            new = self._number(rec, "STQI", "Physical inventory quantity")
            delta = new - Decimal(row["MBSTQT"])
            today = _today()
            self.t["MITBAL"].update(row, STQT=fmt_qty(new), INDT=rec.get("STDI") or today)
            self.t["MITTRA"].insert(self.t["MITTRA"].new_row(
                CONO=ctx.cono, WHLO=rec["WHLO"], ITNO=rec["ITNO"], WHSL=rec["WHSL"],
                TRDT=rec.get("STDI") or today, TRTM="000000", TTYP="90", TRQT=fmt_qty(delta),
                RSCD=rec.get("RSCD", ""), BREM=rec.get("BREM", ""), RIDN="", RGDT=today))
        return []

    # ------------------------------------------------------------------ EXPORTMI
    def exportmi_select(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        try:
            cols, rows = select(self.t, rec["QERY"], ctx.maxrecs)
        except QueryError as exc:
            raise Nok(str(exc), "XQRY002", "QERY") from None
        sep = rec.get("SEPC", "")
        out = [{"REPL": sep.join(cols)}] if rec.get("HDRS") == "1" else []
        out.extend({"REPL": sep.join(values)} for values in rows)
        return out
