"""CRS610MI (customer interface): customers created from a template, changed and read; their
addresses ('Customer. Connect Addresses', OIS002: table OCUSAD) added and listed."""
from __future__ import annotations

import bisect

from .common import Ctx, Nok, strip_prefix, today
from .core import TRANSACTIONS, Core

# OIS002 address types: 01 delivery, 02 location (service orders), 03 invoice, 04 payment
ADDRESS_TYPES = ("01", "02", "03", "04")


class Customers(Core):
    cunos: list[str]               # sorted, for LstByNumber

    def customer_programs(self) -> dict:
        return {"CRS610MI": {"Add": self.crs610_add, "ChgBasicData": self.crs610_chg_basic,
                             "ChgFinancial": self.crs610_chg_financial,
                             "GetBasicData": self.crs610_get_basic,
                             "LstByNumber": self.crs610_lst,
                             "AddAddress": self.crs610_add_address,
                             "GetAddress": self.crs610_get_address,
                             "LstAddresses": self.crs610_lst_addresses}}

    def insert_customer(self, row: dict[str, str]) -> None:
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
        now = today()
        values.update(CONO=ctx.cono, CUNO=cuno, RGDT=now, LMDT=now, CHNO="1", PYNO=cuno)
        self.insert_customer(self.t["OCUSMA"].new_row(**{
            k: v for k, v in values.items() if "OK" + k in self.t["OCUSMA"].colset}))
        return [self._out("CRS610MI", "Add", {"CUNO": cuno, "ERRM": ""})]

    def _change_customer(self, rec: dict[str, str], allowed: set[str]) -> list[dict]:
        row = self._customer(rec["CUNO"])
        changes = {k: v for k, v in rec.items() if k in allowed and v}
        if "CUCD" in changes:
            self._currency(changes["CUCD"])
        if "TXAP" in changes and changes["TXAP"] not in ("0", "1"):
            raise Nok(f"Tax applicable {changes['TXAP']} is invalid - use 0 or 1", "WTXAP02",
                      "TXAP")
        changes.update(LMDT=today(), CHNO=str(int(row["OKCHNO"] or "0") + 1))
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
        return [self._out("CRS610MI", "GetBasicData", strip_prefix(row, "OK"))]

    def crs610_lst(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        start = bisect.bisect_left(self.cunos, rec.get("CUNO", ""))
        cunos = self.cunos[start:]
        cunos = cunos[:ctx.maxrecs] if ctx.maxrecs else cunos
        table = self.t["OCUSMA"]
        return [self._out("CRS610MI", "LstByNumber", strip_prefix(table.first("CUNO", c), "OK"))
                for c in cunos]

    # ------------------------------------------------------------------ addresses (OIS002)
    def crs610_add_address(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        self._customer(rec["CUNO"])
        if rec["ADRT"] not in ADDRESS_TYPES:
            raise Nok(f"Address type {rec['ADRT']} is invalid", "WADRT02", "ADRT")
        if self._address(rec) is not None:
            raise Nok(f"Address {rec['ADRT']}/{rec['ADID']} already exists for customer "
                      f"{rec['CUNO']}", "WADID03", "ADID")
        table = self.t["OCUSAD"]
        values = {k: v for k, v in rec.items() if v and "OP" + k in table.colset}
        values.update(CONO=ctx.cono, DIVI=ctx.divi, CHNO="1")
        table.insert(table.new_row(**values))
        return [self._out("CRS610MI", "AddAddress", values)]

    def _address(self, rec: dict[str, str]) -> dict[str, str] | None:
        return next((r for r in self.t["OCUSAD"].lookup("CUNO", rec["CUNO"])
                     if r["OPADRT"] == rec["ADRT"] and r["OPADID"] == rec["ADID"]), None)

    def crs610_get_address(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        row = self._address(rec)
        if row is None:
            raise Nok(f"Address {rec['ADRT']}/{rec['ADID']} does not exist for customer "
                      f"{rec['CUNO']}", "WADID03", "ADID")
        return [self._out("CRS610MI", "GetAddress", strip_prefix(row, "OP"))]

    def crs610_lst_addresses(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        self._customer(rec["CUNO"])
        rows = [r for r in self.t["OCUSAD"].lookup("CUNO", rec["CUNO"])
                if not rec.get("ADRT") or r["OPADRT"] == rec["ADRT"]]
        rows.sort(key=lambda r: (r["OPADRT"], r["OPADID"]))
        return self._limit([self._out("CRS610MI", "LstAddresses", strip_prefix(r, "OP"))
                            for r in rows], ctx)
