"""CRS610MI (customer interface): customers created from a template, changed and read."""
from __future__ import annotations

import bisect

from .common import Ctx, Nok, strip_prefix, today
from .core import TRANSACTIONS, Core


class Customers(Core):
    cunos: list[str]               # sorted, for LstByNumber

    def customer_programs(self) -> dict:
        return {"CRS610MI": {"Add": self.crs610_add, "ChgBasicData": self.crs610_chg_basic,
                             "ChgFinancial": self.crs610_chg_financial,
                             "GetBasicData": self.crs610_get_basic,
                             "LstByNumber": self.crs610_lst}}

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
