"""The general ledger (FGLEDG, FGLEDX), fiscal periods and exchange rates, and the MI
programs on it: GLS840MI (generic GL interface, in) and GLS200MI (GL information, out).

Every posting in the sandbox goes through :meth:`Ledger.post_voucher`: customer invoices
from the invoicing job (FAM function OI20), customer payments from ARS040MI (AR30) and
GLS840MI batches (GL40).  A voucher is refused as a whole when its accounting date lies
in a closed period, and balances in the local currency (ACAM) as well as per foreign
currency (CUAM).
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from .common import (ACCOUNTS, GL_INTERFACES, RATES, Ctx, Discard, Nok, check_date, fmt_amount,
                     quantize, strip_prefix, today)
from .core import Core

Line = dict[str, Any]      # AIT1..AIT7, CUCD, CUAM (signed Decimal), optional ACAM, VTXT, EXI1..


def balanced(acdt: str, lines: Iterable[Line]) -> None:
    """Nok unless the lines' foreign amounts sum to zero in every currency."""
    sums: dict[str, Decimal] = {}
    for x in lines:
        sums[x["CUCD"]] = sums.get(x["CUCD"], Decimal(0)) + x["CUAM"]
    for cucd, diff in sums.items():
        if diff != 0:
            raise Nok(f"Voucher is not balanced - difference {fmt_amount(diff, cucd)} {cucd} "
                      f"for accounting date {acdt}", "WBAL001", "CUAM")


class Ledger(Core):
    """Mixin of :class:`sandbox.infor.m3.M3`: the GL and what posts to it."""

    def ledger_programs(self) -> dict[str, dict[str, Any]]:
        return {"GLS840MI": {"AddBatchHead": self.gls840_add_head,
                             "AddBatchLine": self.gls840_add_line,
                             "AddBatchLineFld": self.gls840_add_line_fld,
                             "CtrlBatch": self.gls840_ctrl, "UpdBatch": self.gls840_upd},
                "GLS200MI": {"GetVoucherHead": self.gls200_get_head,
                             "LstVoucherLines": self.gls200_lst_lines,
                             "LstVouchersByDt": self.gls200_lst_by_dt}}

    # ------------------------------------------------------------------ periods and rates
    def set_period(self, period: str, closed: bool) -> None:
        (self.closed_periods.add if closed else self.closed_periods.discard)(period)

    def open_period(self, acdt: str, field: str = "ACDT") -> None:
        if acdt[:6] in self.closed_periods or acdt < self.closed_before:
            raise Nok(f"Accounting period {acdt[:6]} is closed - accounting date {acdt} cannot "
                      f"be used", "WACDT07", field)

    def rate(self, cucd: str, field: str = "CUCD") -> Decimal:
        if cucd == self.local:
            return Decimal(1)
        if cucd not in RATES:
            raise Nok(f"Exchange rate for currency {cucd} does not exist", "XIM0002", field)
        return Decimal(RATES[cucd]) / Decimal(RATES.get(self.local, "1"))

    def account(self, ait1: str, field: str = "AIT1") -> str:
        if not ait1:
            raise Nok("Accounting dimension 1 must be entered", "WAIT101", field)
        if self.t["FCHACC"].first("AITM", ait1) is None:
            raise Nok(f"Account {ait1} does not exist", "XIM0002", field)
        return ait1

    # ------------------------------------------------------------------ posting
    def post_voucher(self, ctx: Ctx, acdt: str, feid: str, tdsc: str, trcd: str,
                     lines: Iterable[Line]) -> list[dict[str, str]]:
        """Book one voucher; returns its FGLEDG rows.  Raises Nok (nothing booked)."""
        self.open_period(acdt)
        lines = [dict(x) for x in lines]
        for x in lines:
            self.account(x.get("AIT1", ""))
            x["ARAT"] = x.get("ARAT") or self.rate(x["CUCD"])
            if x.get("ACAM") is None:
                x["ACAM"] = quantize(x["CUAM"] * x["ARAT"], self.local)
        balanced(acdt, lines)
        local_diff = sum((x["ACAM"] for x in lines), Decimal(0))
        if local_diff:   # rounding of the recorded amounts: on the largest line  [A]
            largest = max(lines, key=lambda x: abs(x["ACAM"]))
            largest["ACAM"] -= local_diff
        yea4, vono, jrno = acdt[:4], str(self._next("vono")), str(self._next("jrno"))
        gl, glx, now = self.t["FGLEDG"], self.t["FGLEDX"], today()
        rows = []
        for jsno, x in enumerate(lines, start=1):
            cucd = x["CUCD"]
            rows.append(gl.insert(gl.new_row(
                CONO=ctx.cono, DIVI=ctx.divi, YEA4=yea4, JRNO=jrno, JSNO=str(jsno), VSER="",
                VONO=vono, ACDT=acdt, OCDT=acdt, ACYP=acdt[:6],
                **{f"AIT{i}": x.get(f"AIT{i}", "") for i in range(1, 8)},
                CUCD=cucd, ARAT=format(x["ARAT"].normalize(), "f"),
                CUAM=fmt_amount(x["CUAM"], cucd), ACAM=fmt_amount(x["ACAM"], self.local),
                DBCR="D" if x["CUAM"] > 0 or (x["CUAM"] == 0 and x["ACAM"] > 0) else "C",
                VTXT=x.get("VTXT", ""), TRCD=trcd, FEID=feid, FNCN="001", TDSC=tdsc[:10],
                RGDT=now, ACQT=x.get("ACQT", ""))))
            for n in ("1", "2"):
                if x.get(f"EXN{n}") or x.get(f"EXI{n}"):
                    glx.insert(glx.new_row(CONO=ctx.cono, DIVI=ctx.divi, YEA4=yea4, JRNO=jrno,
                                           JSNO=str(jsno), GEXN=x.get(f"EXN{n}") or n,
                                           GEXI=x.get(f"EXI{n}", "")))
        self.vouchers[(yea4, vono)] = rows
        return rows

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

    def _control_gl(self, key1: str, batch: dict[str, Any]) -> dict[str, list[Line]]:
        """Validate a GL batch; its lines with signed amounts per accounting date, or Discard."""
        if batch["errors"]:
            raise Discard(Nok(f"Batch {key1} contains {batch['errors']} record(s) with errors",
                              "WKEY106", "KEY1"))
        if len(batch["lines"]) < 2:
            raise Discard(Nok(f"Batch {key1} must contain at least two lines", "WKEY107", "KEY1"))
        by_date: dict[str, list[Line]] = {}
        try:
            for n in sorted(batch["lines"]):
                rec = batch["lines"][n]
                self.account(rec.get("AIT1", ""))
                if not rec.get("ACDT"):
                    raise Nok("Accounting date must be entered", "WACDT01", "ACDT")
                acdt = rec["ACDT"]
                self.open_period(acdt)
                cucd = rec.get("CUCD") or self.local
                if not rec.get("CUAM") and not rec.get("ACAM"):
                    raise Nok("Foreign currency amount must be entered", "WCUAM01", "CUAM")
                cuam = self._amount(rec, "CUAM" if rec.get("CUAM") else "ACAM",
                                    "Foreign currency amount", cucd)
                sign = -1 if rec.get("DBCR") == "C" else 1 if rec.get("DBCR") == "D" else 0
                cuam = abs(cuam) * sign if sign else cuam
                arat = Decimal(rec["ARAT"]) if rec.get("ARAT") else self.rate(cucd)
                acam = None
                if rec.get("ACAM") and rec.get("CUAM"):
                    acam = abs(Decimal(rec["ACAM"])) * (1 if cuam > 0 else -1)
                by_date.setdefault(acdt, []).append({
                    **{k: v for k, v in rec.items() if k.startswith(("AIT", "EX")) or k in (
                        "VTXT", "ACQT")}, "CUCD": cucd, "CUAM": cuam, "ACAM": acam,
                    "ARAT": arat})
            for acdt, lines in by_date.items():
                balanced(acdt, lines)
        except Nok as nok:
            raise Discard(nok) from None
        return by_date

    def gls840_ctrl(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        batch = self._gl_batch(rec["KEY1"])
        if batch["status"] == "10":
            try:
                batch["checked"] = self._control_gl(rec["KEY1"], batch)
            except Discard as exc:
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
        intn = batch["head"]["INTN"]
        for acdt, lines in sorted(batch["checked"].items()):   # checked: nothing can fail now
            self.post_voucher(ctx, acdt, "GL40", intn, "40", lines)
        batch["status"] = "90"
        return [{"CONO": ctx.cono}]

    # ------------------------------------------------------------------ GLS200MI GL read
    def _voucher(self, rec: dict[str, str]) -> list[dict[str, str]]:
        rows = self.vouchers.get((rec["YEA4"], rec["VONO"].lstrip("0") or "0"))
        if not rows or (rec.get("JRNO") and rows[0]["EGJRNO"] != rec["JRNO"].lstrip("0")):
            raise Nok(f"Voucher {rec['VONO']} for year {rec['YEA4']} does not exist", "XIM0002",
                      "VONO")
        return rows

    def gls200_get_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        rows = self._voucher(rec)
        cucd = rows[0]["EGCUCD"]
        acam = [Decimal(r["EGACAM"]) for r in rows]
        cuam = [Decimal(r["EGCUAM"]) for r in rows if r["EGCUCD"] == cucd]
        values = strip_prefix(rows[0], "EG")
        values.update(DSUM=fmt_amount(sum(a for a in acam if a > 0), self.local),
                      CSUM=fmt_amount(-sum(a for a in acam if a < 0), self.local),
                      CUAD=fmt_amount(sum(a for a in cuam if a > 0), cucd),
                      CUAC=fmt_amount(-sum(a for a in cuam if a < 0), cucd), VDSC="")
        return [self._out("GLS200MI", "GetVoucherHead", values)]

    def gls200_lst_lines(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        rows = self._voucher(rec)
        return [self._out("GLS200MI", "LstVoucherLines", strip_prefix(r, "EG"))
                for r in self._limit(rows, ctx)]

    def gls200_lst_by_dt(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        frdt = check_date(rec["FRDT"], "FRDT", "From date")
        todt = check_date(rec["TODT"], "TODT", "To date")
        rows = [r for r in self.t["FGLEDG"].rows if frdt <= r["EGACDT"] <= todt]
        return [self._out("GLS200MI", "LstVouchersByDt", strip_prefix(r, "EG"))
                for r in self._limit(rows, ctx)]


def seed_accounts(m3: Any) -> None:
    for acct, name in ACCOUNTS.items():
        m3.t["FCHACC"].insert(m3.t["FCHACC"].new_row(
            CONO=m3.cono, DIVI=m3.divi, AITP="1", AITM=acct, TX40=name, TX15=name[:15]))

