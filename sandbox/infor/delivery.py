"""Delivering a customer order: its delivery number released for allocation and for
picking (MWS410MI), read back by order (MWS411MI) and by picking list (MWS420MI), and the
picking reported line by line through the warehouse interface (MHS850MI ``AddCOPick``).

Reporting the picking list issues the stock of inventory-accounted items (MITTRA, MITBAL)
and marks the lines delivered (status 66); once every line is delivered the delivery is
ready for invoicing (delivery status 60), which the invoicing job (``invoicing.py``) picks
up.  See README "Fidelity" for the sources of each step.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .common import PARTNERS, Ctx, Nok, fmt_qty, today
from .orders import Orders

CO_CATEGORY = "3"          # RORC: reference order category of customer orders  [A]
CO_ISSUE = "31"            # TTYP of a customer order issue  [A]
FIRST_SUFFIX = "1"         # the first picking list of a delivery has suffix 01


class Deliveries(Orders):
    whs_messages: dict[tuple[str, str], str]     # (partner, PMSN) -> MSGN
    picks: dict[str, dict[str, Any]]             # MSGN -> pending AddCOPick

    def delivery_programs(self) -> dict:
        return {"MWS410MI": {"GetHead": self.mws410_get_head,
                             "RelForAlloc": self.mws410_rel_alloc,
                             "RelForPick": self.mws410_rel_pick},
                "MWS411MI": {"LstDelLnByOrd": self.mws411_lst_by_order},
                "MWS420MI": {"LstPickHeader": self.mws420_lst_pick_header},
                "MHS850MI": {"AddCOPick": self.mhs850_add_co_pick,
                             "GetMvxMsg": self.mhs850_get_msg,
                             "PrcWhsTran": self.mhs850_process}}

    def _delivery(self, dlix: str, field: str = "DLIX") -> dict[str, Any]:
        found = self.deliveries.get(dlix.lstrip("0"))
        if found is None:
            raise Nok(f"Delivery number {dlix} does not exist", "XIM0002", field)
        return found

    # ------------------------------------------------------------------ MWS410MI
    def mws410_get_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        if not rec.get("DLIX"):
            raise Nok("Delivery number must be entered", "WDLIX01", "DLIX")
        dlix = rec["DLIX"].lstrip("0")
        d = self._delivery(dlix)
        head = self._order_head(d["ORNO"])
        return [self._out("MWS410MI", "GetHead", {
            **d, "DLIX": dlix, "RIDN": d["ORNO"], "RORC": CO_CATEGORY, "CUOR": head["OACUOR"],
            "YREF": head["OAYREF"], "BLOP": "0", "CONA": head["OACUNO"]})]

    def mws410_rel_alloc(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        d = self._delivery(rec["DLIX"])
        if d["RLFA"] == "1":
            raise Nok(f"Delivery number {rec['DLIX']} is already released for allocation",
                      "WDLIX10", "DLIX")
        for state in self.orders[d["ORNO"]]["lines"].values():
            rest = state["qty"] - state["delivered"] - state["allocated"]
            item = self._item(state["row"]["OBITNO"])
            if item["MMSTCD"] != "1":
                state["allocated"] += rest          # nothing to allocate on stock
                continue
            bal = self._balance(state["row"]["OBWHLO"], state["row"]["OBITNO"])
            free = Decimal(bal["MBSTQT"]) - Decimal(bal["MBALQT"] or "0")
            take = max(Decimal(0), min(rest, free))
            self.t["MITBAL"].update(bal, ALQT=fmt_qty(Decimal(bal["MBALQT"] or "0") + take))
            state["allocated"] += take
        d["RLFA"] = "1"
        self.order_status(d["ORNO"])
        return []

    def mws410_rel_pick(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        d = self._delivery(rec["DLIX"])
        if d["RLFA"] != "1":
            raise Nok(f"Delivery number {rec['DLIX']} is not released for allocation",
                      "WDLIX11", "DLIX")
        if d["RLTD"] == "1":
            raise Nok(f"Delivery number {rec['DLIX']} is already released for picking",
                      "WDLIX12", "DLIX")
        lines = self.orders[d["ORNO"]]["lines"].values()
        ready = [s for s in lines if s["allocated"] > 0]
        if not ready:
            raise Nok(f"Delivery number {rec['DLIX']} has no allocated lines to pick", "WDLIX13",
                      "DLIX")
        for state in ready:
            state["picked"] = True
        d.update(RLTD="1", PLSX=FIRST_SUFFIX, PGRS="05")
        self.order_status(d["ORNO"])
        return []

    # ------------------------------------------------------------------ MWS411MI / MWS420MI
    def mws411_lst_by_order(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        if not rec.get("RIDN"):
            raise Nok("Order number must be entered", "WRIDN01", "RIDN")
        if rec.get("RORC") and rec["RORC"] != CO_CATEGORY:
            return []
        orno = rec["RIDN"]
        self._order_head(orno, "RIDN")
        order = self.orders[orno]
        out = []
        for ponr, state in order["lines"].items():
            if rec.get("RIDL") and rec["RIDL"].lstrip("0") != ponr:
                continue
            row = state["row"]
            item = self._item(row["OBITNO"])
            rest = state["qty"] - state["delivered"]
            out.append(self._out("MWS411MI", "LstDelLnByOrd", {
                "DLIX": order["dlix"], "RORC": CO_CATEGORY, "RIDN": orno, "RIDL": ponr,
                "RIDX": "0", "ITNO": row["OBITNO"], "FACI": "A01",
                "TRQT": fmt_qty(rest), "PLQT": fmt_qty(rest if state["picked"] else Decimal(0)),
                "STCD": item["MMSTCD"], "PHLD": "0", "BLOP": "0"}))
        return self._limit(out, ctx)

    def mws420_lst_pick_header(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        d = self._delivery(rec["DLIX"])
        if d["RLTD"] != "1" or (rec.get("PLSX") and rec["PLSX"].lstrip("0") != d["PLSX"]):
            return []
        return [{"CONO": ctx.cono, "DLIX": rec["DLIX"].lstrip("0"), "PLSX": d["PLSX"]}]

    # ------------------------------------------------------------------ MHS850MI AddCOPick
    def mhs850_add_co_pick(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        if (rec["E0PA"], rec["E065"]) not in PARTNERS:
            raise Nok(f"Partner {rec['E0PA']} with message type {rec['E065']} does not exist",
                      "XIM0002", "E0PA")
        orno = rec["RIDN"]
        head = self._order_head(orno, "RIDN")
        if head["OACUNO"] != rec["CUNO"]:
            raise Nok(f"Customer number {rec['CUNO']} is not the customer of order {orno}",
                      "WCUNO07", "CUNO")
        order = self.orders[orno]
        state = order["lines"].get(rec["RIDL"].lstrip("0"))
        if state is None:
            raise Nok(f"Order line {rec['RIDL']} does not exist on order {orno}", "XIM0002",
                      "RIDL")
        dlix = (rec.get("DLIX") or order["dlix"]).lstrip("0")
        d = self._delivery(dlix)
        if dlix != order["dlix"] or d["RLTD"] != "1" or rec["PLSX"].lstrip("0") != d["PLSX"] \
                or not state["picked"]:
            raise Nok(f"Picking list {dlix}/{rec['PLSX']} does not exist for order line "
                      f"{orno}/{rec['RIDL']}", "XIM0002", "PLSX")
        if rec["WHLO"] != state["row"]["OBWHLO"]:
            raise Nok(f"Warehouse {rec['WHLO']} is not the warehouse of order line "
                      f"{orno}/{rec['RIDL']}", "WWHLO07", "WHLO")
        key = (rec["E0PA"], rec.get("PMSN", ""))
        if key[1] and key in self.whs_messages:
            raise Nok(f"External message number {key[1]} already exists for partner {key[0]}",
                      "WPMSN04", "PMSN")
        rest = state["qty"] - state["delivered"]
        qty = self._number(rec, "QTYP", "Quantity picked") if rec.get("QTYP") else rest
        if qty <= 0 or qty > rest:
            raise Nok(f"Quantity picked {fmt_qty(qty)} must be between 0 and the quantity left "
                      f"to deliver {fmt_qty(rest)}", "WQTYP02", "QTYP")
        pick = {"orno": orno, "state": state, "dlix": dlix, "qty": qty, "rec": rec,
                "rpdt": rec.get("RPDT") or today()}
        if rec.get("PRFL", "").upper() == "*EXE":
            self._report_pick(pick, ctx)        # refused as a whole: nothing is stored  [A]
        msgn = str(self._next("msnr"))
        pick["done"] = rec.get("PRFL", "").upper() == "*EXE"
        self.picks[msgn] = pick
        if key[1]:
            self.whs_messages[key] = msgn
        return [self._out("MHS850MI", "AddCOPick", {"CONO": ctx.cono, "MSGN": msgn})]

    def _report_pick(self, pick: dict[str, Any], ctx: Ctx) -> None:
        state, qty, rpdt = pick["state"], pick["qty"], pick["rpdt"]
        row = state["row"]
        item = self._item(row["OBITNO"])
        if item["MMSTCD"] == "1":
            self.open_period(rpdt, "RPDT")         # the issue is a stock transaction  [A]
            bal = self._balance(row["OBWHLO"], row["OBITNO"])
            _, now = self._stamp()
            self.t["MITBAL"].update(bal, STQT=fmt_qty(Decimal(bal["MBSTQT"]) - qty),
                                    ALQT=fmt_qty(max(Decimal(0),
                                                     Decimal(bal["MBALQT"] or "0") - qty)),
                                    ODDT=rpdt)
            self.t["MITTRA"].insert(self.t["MITTRA"].new_row(
                CONO=ctx.cono, WHLO=row["OBWHLO"], ITNO=row["OBITNO"],
                WHSL=pick["rec"].get("WHSL", ""), TRDT=rpdt, TRTM=now, TTYP=CO_ISSUE,
                TRQT=fmt_qty(-qty), RIDN=pick["orno"], RIDL=row["OBPONR"], RIDI=pick["dlix"],
                RGDT=today()))
        state["delivered"] += qty
        state["allocated"] = max(Decimal(0), state["allocated"] - qty)
        d = self.deliveries[pick["dlix"]]
        d["TRDT"] = max(d["TRDT"], rpdt)
        if all(s["delivered"] == s["qty"] for s in self.orders[pick["orno"]]["lines"].values()):
            d["PGRS"] = "60"                    # delivery ready for invoicing
        self.order_status(pick["orno"])

    def mhs850_get_msg(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        msgn = self.whs_messages.get((rec["E0PB"], rec["PMSN"]))
        if msgn is None:
            raise Nok(f"Message for partner {rec['E0PB']} and external message number "
                      f"{rec['PMSN']} does not exist", "XIM0002", "PMSN")
        return [self._out("MHS850MI", "GetMvxMsg", {"CONO": ctx.cono, "MSGN": msgn})]

    def mhs850_process(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        pick = self.picks.get(rec["MSGN"])
        if pick is None:
            raise Nok(f"Message number {rec['MSGN']} does not exist", "XIM0002", "MSGN")
        if pick["done"]:
            raise Nok(f"Message number {rec['MSGN']} is already processed", "WMSGN08", "MSGN")
        if pick["qty"] > pick["state"]["qty"] - pick["state"]["delivered"]:
            raise Nok(f"Message number {rec['MSGN']}: the quantity is no longer left to "
                      f"deliver", "WQTYP02", "QTYP")
        self._report_pick(pick, ctx)
        pick["done"] = True
        return []
