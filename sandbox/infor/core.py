"""The base of every program mixin: M3's tables, running one transaction against its real
signature, and the look-ups and value checks the programs share.

A transaction's record is checked before the program runs: every field must be an input
field of the transaction (``spec.py``, ``spec_logistics.py``, ``spec_addresses.py``: published
swagger), values must be JSON strings no longer than the field, required fields must be
present, and date fields must be ``YYYYMMDD``.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from decimal import Decimal, InvalidOperation
from typing import Any

from . import spec, spec_addresses, spec_logistics
from .common import Ctx, Nok, check_date, currency_decimals
from .tables import Table

TRANSACTIONS: dict[str, dict[str, dict[str, list]]] = {**spec.TRANSACTIONS}
for _more in (spec_logistics, spec_addresses):
    for _program, _txns in _more.TRANSACTIONS.items():
        TRANSACTIONS[_program] = {**TRANSACTIONS.get(_program, {}), **_txns}

Handler = Callable[[dict[str, str], Ctx], list[dict]]


def out_fields(program: str, txn: str) -> list[str]:
    return [f[0] for f in TRANSACTIONS[program][txn]["out"]]


def is_date_field(desc: str) -> bool:
    words = desc.lower().replace("-", " ").split()
    return "date" in words


@cache
def signature(program: str, txn: str) -> tuple[dict[str, tuple[int, str, bool]],
                                               tuple[tuple[str, str], ...]]:
    """Input field -> (max length, description, is a date); and the required fields."""
    inputs = TRANSACTIONS[program][txn]["in"]
    fields = {name: (maxlen, desc, is_date_field(desc)) for name, maxlen, _, desc in inputs}
    return fields, tuple((name, desc) for name, _, required, desc in inputs if required)


# AR ledger: what ARS200MI/GetInvoice and LstInvoiceTrans ("records from file FSLEDG10")
# return, plus the entry/change stamps of GetInvTotInfo (m3_transactions.txt)
FSLEDG_COLUMNS = (
    "CONO DIVI YEA4 JRNO JSNO TRCD PYNO CUNO CINO INYR VSER VONO IVTP TDSC SMCD CUCL CUCD CRTP "
    "ARAT CUAM DCAM VTAM IVDT RVDT DUDT ACDT BKID TECD PYTP PYCD TEPY RECO REDE SLOP CRST PYRS "
    "ACBL RMST LRDT RMBL BLBY BLDT RMQT IIST IICD DTP5 IIAM CLST CLCD ARCD SAGS GRPD TXID DFPT "
    "DFPD PAIN IVCL RGDT RGTM LMDT CHNO CHID").split()


def new_tables() -> dict[str, Table]:
    customer_cols = sorted(set(out_fields("CRS610MI", "LstByNumber"))
                           | set(out_fields("CRS610MI", "GetBasicData")))
    t = [
        Table("OCUSMA", "OK", customer_cols, keys=("CUNO", "YRE2")),
        # customer addresses (OIS002): what CRS610MI GetAddress/LstAddresses return
        Table("OCUSAD", "OP", sorted(set(out_fields("CRS610MI", "GetAddress"))
                                     | set(out_fields("CRS610MI", "LstAddresses"))),
              keys=("CUNO",)),
        Table("MITMAS", "MM", ["CONO", "ITNO", "ITDS", "FUDS", "STAT", "ITTY", "UNMS", "STCD",
                               "ITGR", "ITCL"], keys=("ITNO",)),
        Table("MITWHL", "MW", ["CONO", "WHLO", "WHNM", "DIVI", "FACI"], keys=("WHLO",)),
        Table("MITBAL", "MB", ["CONO", "WHLO", "ITNO", "STQT", "ALQT", "IDDT", "ODDT", "INDT"],
              keys=("ITNO",)),
        Table("MITTRA", "MT", ["CONO", "WHLO", "ITNO", "WHSL", "TRDT", "TRTM", "TTYP", "TRQT",
                               "RSCD", "BREM", "RIDN", "RIDL", "RIDI", "RGDT", "RESP"],
              keys=("RIDN", "ITNO")),
        Table("OOHEAD", "OA", ["CONO", "DIVI", "ORNO", "ORTP", "ORDT", "RLDT", "CUNO", "PYNO",
                               "CUOR", "YREF", "OREF", "CUCD", "WHLO", "FACI", "ORST", "ORSL",
                               "NTAM", "BRAM", "TEPY", "PYCD", "CUDT", "RGDT", "LMDT"],
              keys=("ORNO", "CUOR", "CUNO")),
        Table("OOLINE", "OB", ["CONO", "DIVI", "ORNO", "PONR", "POSX", "ITNO", "ITDS", "ORQT",
                               "SAPR", "NEPR", "LNAM", "WHLO", "CUCD", "ORST", "ALQT", "DLQT",
                               "IVQT", "DWDT"], keys=("ORNO",)),
        Table("OINVOL", "ON", ["CONO", "DIVI", "YEA4", "IVNO", "ORNO", "PONR", "POSX", "ITNO",
                               "IVQT", "LNAM", "CUCD"], keys=("IVNO", "ORNO")),
        Table("FSLEDG", "ES", FSLEDG_COLUMNS, keys=("CINO", "CUNO", "JRNO")),
        Table("FSLEDX", "ES", ["CONO", "DIVI", "YEA4", "JRNO", "JSNO", "SEXN", "SEXS", "SEXI"],
              keys=("SEXI", "JRNO")),
        # GL: the columns GLS200MI/LstVoucherLines returns
        Table("FGLEDG", "EG", out_fields("GLS200MI", "LstVoucherLines"), keys=("VTXT", "JRNO")),
        Table("FGLEDX", "EG", ["CONO", "DIVI", "YEA4", "JRNO", "JSNO", "GEXN", "GEXI"],
              keys=("JRNO",)),
        Table("FCHACC", "EA", ["CONO", "DIVI", "AITP", "AITM", "TX40", "TX15"], keys=("AITM",)),
    ]
    return {x.name: x for x in t}


class Core:
    """State and helpers every program mixin uses (set up by :class:`sandbox.infor.m3.M3`)."""

    cono: str
    divi: str
    local: str
    t: dict[str, Table]
    seq: dict[str, int]

    def _next(self, name: str) -> int:
        self.seq[name] += 1
        return self.seq[name]

    def handlers(self) -> dict[str, dict[str, Handler]]:
        raise NotImplementedError

    # ------------------------------------------------------------------ one transaction
    def execute(self, program: str, txn: str, record: dict[str, Any], ctx: Ctx) -> list[dict]:
        """Run one transaction; raises Nok.  Caller holds ``lock``."""
        fields, required = signature(program, txn)
        rec: dict[str, str] = {}
        for key, value in record.items():
            name = str(key).upper()
            field = fields.get(name)
            if field is None:
                raise Nok(f"Field {name} is not an input field of {program}/{txn}", "XFL0001", name)
            if value is not None and not isinstance(value, str):
                raise Nok(f"Field {name}: value must be a string", "XFL0003", name)
            maxlen, desc, is_date = field
            value = value or ""
            if len(value) > maxlen:
                raise Nok(f"{desc} is too long - max {maxlen} characters ({name})",
                          f"W{name}05", name)
            value = value.strip()
            if value and is_date:
                check_date(value, name, desc)
            rec[name] = value
        for name, desc in required:
            if not rec.get(name):
                raise Nok(f"{desc} must be entered", f"W{name}01", name)
        if rec.get("CONO") and rec["CONO"] != ctx.cono:
            raise Nok(f"Not authorized for company {rec['CONO']}", "XAU0008", "CONO")
        if rec.get("DIVI") and rec["DIVI"] != ctx.divi:
            raise Nok(f"Division {rec['DIVI']} does not exist", "XIM0002", "DIVI")
        return self.handlers()[program][txn](rec, ctx)

    @staticmethod
    def _out(program: str, txn: str, values: dict[str, Any]) -> dict[str, str]:
        return {f: "" if values.get(f) is None else str(values.get(f))
                for f in out_fields(program, txn)}

    @staticmethod
    def _limit(rows: list, ctx: Ctx) -> list:
        return rows[:ctx.maxrecs] if ctx.maxrecs else rows

    # ------------------------------------------------------------------ value checks
    @staticmethod
    def _date(rec: dict[str, str], field: str, desc: str, default: str | None = None) -> str:
        value = rec.get(field) or default or ""
        return check_date(value, field, desc) if value else ""

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
        places = currency_decimals(cucd)
        if value != value.quantize(Decimal(1).scaleb(-places)):
            raise Nok(f"{desc} {rec[field]} has more decimals than currency {cucd} allows "
                      f"({places})", f"W{field}02", field)
        return value

    @staticmethod
    def _currency(value: str, field: str = "CUCD") -> str:
        if len(value) != 3 or not value.isalpha() or not value.isupper():
            raise Nok(f"Currency {value} does not exist", "XIM0002", field)
        return value

    # ------------------------------------------------------------------ look-ups
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

    def _balance(self, whlo: str, itno: str) -> dict[str, str]:
        self._warehouse(whlo)
        self._item(itno)
        for row in self.t["MITBAL"].lookup("ITNO", itno):
            if row["MBWHLO"] == whlo:
                return row
        raise Nok(f"Item number {itno} does not exist in warehouse {whlo}", "XIM0002", "ITNO")

    @staticmethod
    def _stamp() -> tuple[str, str]:
        now = datetime.now()
        return now.strftime("%Y%m%d"), now.strftime("%H%M%S")
