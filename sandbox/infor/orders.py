"""OIS100MI (customer order interface): batch orders, confirmed into customer orders.

``Confirm`` turns a batch order into a customer order (OOHEAD/OOLINE) with its lines
left to allocate (status 22) and one delivery number for the order; nothing is
delivered, invoiced or posted.  Delivery and invoicing are ``delivery.py`` and
``invoicing.py``.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .common import ORDER_TYPES, WAREHOUSE, Ctx, Nok, currency_decimals, fmt_amount, fmt_qty, \
    strip_prefix, today
from .ledger import Ledger


def line_status(qty: Decimal, allocated: Decimal, picked: bool, delivered: Decimal,
                invoiced: Decimal) -> str:
    """Two digits: the lowest and the highest step any part of the line has reached
    (2 to allocate, 3 allocated, 4 on a picking list, 6 delivered, 7 invoiced)."""
    steps = []
    if invoiced:
        steps.append(7)
    if delivered > invoiced:
        steps.append(6)
    rest = qty - delivered
    if rest > 0:
        steps.append(4 if picked else 3 if allocated >= rest else 2)
        if 0 < allocated < rest and not picked:
            steps.append(3)
    return f"{min(steps)}{max(steps)}"


class Orders(Ledger):
    batch_orders: dict[str, dict[str, Any]]
    orders: dict[str, dict[str, Any]]        # ORNO -> {"dlix", "lines": {PONR: state}}
    deliveries: dict[str, dict[str, Any]]

    def order_programs(self) -> dict:
        return {"OIS100MI": {"AddBatchHead": self.ois100_add_head,
                             "AddBatchLine": self.ois100_add_line,
                             "Confirm": self.ois100_confirm,
                             "DelBatchHead": self.ois100_del_head,
                             "GetBatchHead": self.ois100_get_batch_head,
                             "GetHead": self.ois100_get_head, "LstHead": self.ois100_lst_head,
                             "LstLine": self.ois100_lst_line}}

    def ois100_add_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        cust = self._customer(rec["CUNO"])
        ortp = rec.get("ORTP") or cust["OKORTP"] or "A10"
        if ortp not in ORDER_TYPES:
            raise Nok(f"Order type {ortp} does not exist", "XIM0002", "ORTP")
        cucd = self._currency(rec.get("CUCD") or cust["OKCUCD"] or self.local)
        whlo = rec.get("WHLO") or cust["OKWHLO"] or WAREHOUSE
        self._warehouse(whlo)
        now = today()
        head = {k: v for k, v in rec.items() if v}
        head.update(CUNO=rec["CUNO"], ORTP=ortp, CUCD=cucd, WHLO=whlo,
                    ORDT=rec.get("ORDT") or now, RLDT=rec.get("RLDT") or now)
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
        except Nok:
            order["errors"] += 1
            raise
        ponr = str(len(order["lines"]) + 1)
        order["lines"].append({"PONR": ponr, "ITNO": rec["ITNO"],
                               "ITDS": rec.get("ITDS") or item["MMITDS"], "ORQT": qty,
                               "SAPR": price, "WHLO": whlo,
                               "DWDT": rec.get("DWDT") or order["head"]["RLDT"]})
        return [self._out("OIS100MI", "AddBatchLine", {"PONR": ponr, "POSX": "0"})]

    def ois100_confirm(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        tmp = rec["ORNO"]
        order = self._batch_order(tmp)
        if order["errors"]:
            raise Nok(f"Batch order {tmp} has {order['errors']} line(s) with errors - correct "
                      f"them in OIS275", "WORNO06", "ORNO")
        if not order["lines"]:
            raise Nok(f"Batch order {tmp} has no lines", "WORNO07", "ORNO")
        head, cucd = order["head"], order["head"]["CUCD"]
        orno, dlix = f"{self._next('orno'):010d}", str(self._next("dlix"))
        total, now, lines = Decimal(0), today(), {}
        for line in order["lines"]:
            amount = (line["ORQT"] * line["SAPR"]).quantize(
                Decimal(1).scaleb(-currency_decimals(cucd)), rounding=ROUND_HALF_UP)
            total += amount
            row = self.t["OOLINE"].insert(self.t["OOLINE"].new_row(
                CONO=ctx.cono, DIVI=ctx.divi, ORNO=orno, PONR=line["PONR"], POSX="0",
                ITNO=line["ITNO"], ITDS=line["ITDS"], ORQT=fmt_qty(line["ORQT"]),
                SAPR=format(line["SAPR"], "f"), NEPR=format(line["SAPR"], "f"),
                LNAM=fmt_amount(amount, cucd), WHLO=line["WHLO"], CUCD=cucd, ORST="22",
                ALQT="0", DLQT="0", IVQT="0", DWDT=line["DWDT"]))
            lines[line["PONR"]] = {"row": row, "qty": line["ORQT"], "allocated": Decimal(0),
                                   "picked": False, "delivered": Decimal(0),
                                   "invoiced": Decimal(0), "price": line["SAPR"],
                                   "amount": amount}
        self.t["OOHEAD"].insert(self.t["OOHEAD"].new_row(
            CONO=ctx.cono, DIVI=ctx.divi, ORNO=orno, ORTP=head["ORTP"], ORDT=head["ORDT"],
            RLDT=head["RLDT"], CUNO=head["CUNO"], PYNO=head.get("PYNO") or head["CUNO"],
            CUOR=head.get("CUOR", ""), YREF=head.get("YREF", ""), OREF=head.get("OREF", ""),
            CUCD=cucd, WHLO=head["WHLO"], FACI=head.get("FACI", "A01"), ORST="22", ORSL="22",
            NTAM=fmt_amount(total, cucd), BRAM=fmt_amount(total, cucd),
            TEPY=head.get("TEPY", ""), PYCD=head.get("PYCD", ""), CUDT=head.get("CUDT", ""),
            RGDT=now, LMDT=now))
        self.orders[orno] = {"dlix": dlix, "lines": lines}
        self.deliveries[dlix] = {"ORNO": orno, "WHLO": head["WHLO"], "RLFA": "0", "RLTD": "0",
                                 "PGRS": "05", "PLSX": "", "IVNO": "", "IVDT": "", "TRDT": "",
                                 "RGDT": now}
        del self.batch_orders[tmp]
        return [self._out("OIS100MI", "Confirm", {"ORNO": orno, "STAT": "22"})]

    def order_status(self, orno: str) -> None:
        """Recompute the line statuses and the head's lowest/highest status."""
        statuses = []
        for state in self.orders[orno]["lines"].values():
            status = line_status(state["qty"], state["allocated"], state["picked"],
                                 state["delivered"], state["invoiced"])
            self.t["OOLINE"].update(state["row"], ORST=status,
                                    ALQT=fmt_qty(state["allocated"]),
                                    DLQT=fmt_qty(state["delivered"]),
                                    IVQT=fmt_qty(state["invoiced"]))
            statuses.append(status)
        head = self.t["OOHEAD"].first("ORNO", orno)
        self.t["OOHEAD"].update(head, ORSL=min(s[0] for s in statuses) * 2,
                                ORST=max(s[1] for s in statuses) * 2, LMDT=today())

    def ois100_del_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        self._batch_order(rec["ORNO"])
        del self.batch_orders[rec["ORNO"]]
        return []

    def ois100_get_batch_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        order = self._batch_order(rec["ORNO"])
        return [self._out("OIS100MI", "GetBatchHead", {**order["head"], "ORNO": rec["ORNO"],
                                                         "STAT": order["STAT"]})]

    def _order_head(self, orno: str, field: str = "ORNO") -> dict[str, str]:
        row = self.t["OOHEAD"].first("ORNO", orno)
        if row is None:
            raise Nok(f"Order number {orno} does not exist", "XIM0002", field)
        return row

    @staticmethod
    def _order_values(row: dict[str, str]) -> dict[str, str]:
        values = strip_prefix(row, "OA")
        values.update(STAT=values["ORST"], TOPY=values["NTAM"], ONET=values["NTAM"],
                      ORVA=values["NTAM"], TOAM=values["NTAM"], VTAM="0")
        return values

    def ois100_get_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        return [self._out("OIS100MI", "GetHead", self._order_values(self._order_head(rec["ORNO"])))]

    def ois100_lst_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        self._customer(rec["CUNO"])
        rows = [r for r in self.t["OOHEAD"].lookup("CUNO", rec["CUNO"])
                if (not rec.get("ORSL") or r["OAORST"] >= rec["ORSL"])
                and (not rec.get("ORST") or r["OAORST"] <= rec["ORST"])]
        return [self._out("OIS100MI", "LstHead", self._order_values(r))
                for r in self._limit(rows, ctx)]

    def ois100_lst_line(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        self._order_head(rec["ORNO"])
        rows = [r for r in self.t["OOLINE"].lookup("ORNO", rec["ORNO"])
                if (not rec.get("ITNO") or r["OBITNO"] == rec["ITNO"])
                and (not rec.get("ORST") or r["OBORST"] <= rec["ORST"])]
        out = []
        for r in self._limit(rows, ctx):
            values = strip_prefix(r, "OB")
            values.update(NLAM=values["LNAM"], SPUN="EA")
            out.append(self._out("OIS100MI", "LstLine", values))
        return out
