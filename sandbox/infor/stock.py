"""Items and stock: item and balance reads (MMS200MI), stock adjustments through the
internal stock transaction interface (MMS850MI, de-duplicated by partner and external
message number) and counts (MMS310MI).  Customer order issues are ``delivery.py``."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .common import Ctx, Nok, fmt_qty, strip_prefix, today
from .core import Core


class Stock(Core):
    messages: dict[tuple[str, str], str]        # (partner, PMSN) -> MSNR
    msgs: dict[str, dict[str, Any]]

    def stock_programs(self) -> dict:
        return {"MMS200MI": {"Get": self.mms200_get, "GetItmWhsBal": self.mms200_whs_bal},
                "MMS850MI": {"AddAdjust": self.mms850_add_adjust,
                             "GetMvxMsg": self.mms850_get_msg,
                             "PrcStkTran": self.mms850_process},
                "MMS310MI": {"Update": self.mms310_update}}

    def set_item(self, itno: str, on_hand: Decimal, whlo: str, stocked: bool) -> None:
        """Seed or replace an item; ``stocked`` items get a balance at ``whlo``."""
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

    # ------------------------------------------------------------------ MMS200MI items
    def mms200_get(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        return [self._out("MMS200MI", "Get", strip_prefix(self._item(rec["ITNO"]), "MM"))]

    def mms200_whs_bal(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        row = self._balance(rec["WHLO"], rec["ITNO"])
        values = strip_prefix(row, "MB")
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
        now = today()
        self.t["MITBAL"].update(row, STQT=fmt_qty(Decimal(row["MBSTQT"]) + msg["QLQT"]),
                                **({"IDDT": now} if msg["QLQT"] > 0 else {"ODDT": now}))
        self.t["MITTRA"].insert(self.t["MITTRA"].new_row(
            CONO=ctx.cono, WHLO=msg["WHLO"], ITNO=msg["ITNO"], WHSL=msg.get("WHSL", ""),
            TRDT=msg.get("QLDT") or now, TRTM=msg.get("QLTM") or "000000", TTYP="90",
            TRQT=fmt_qty(msg["QLQT"]), RSCD=msg.get("RSCD", ""), BREM=msg.get("BREM", ""),
            RIDN=msnr, RGDT=now, RESP=msg.get("RESP", "")))
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
            now = today()
            self.t["MITBAL"].update(row, STQT=fmt_qty(new), INDT=rec.get("STDI") or now)
            self.t["MITTRA"].insert(self.t["MITTRA"].new_row(
                CONO=ctx.cono, WHLO=rec["WHLO"], ITNO=rec["ITNO"], WHSL=rec["WHSL"],
                TRDT=rec.get("STDI") or now, TRTM="000000", TTYP="90", TRQT=fmt_qty(delta),
                RSCD=rec.get("RSCD", ""), BREM=rec.get("BREM", ""), RIDN="", RGDT=now))
        return []

