"""Customer order invoicing: M3's invoicing job, and the invoices read back (OIS350MI).

In M3 no MI creates a customer invoice: 'CO Invoice. Print' (OIS180, FAM function OI20)
invoices the deliveries that are ready for invoicing (delivery status 60), run as a
scheduled job.  The sandbox runs the same job on its own schedule (``--invoicing-interval``)
or when asked (``POST /_sandbox/jobs/invoicing``), never when an order is confirmed.  Each
invoice is dated by the job's invoice date (default: the day it runs), goes to the AR
ledger (FSLEDG, transaction code 10) and to the general ledger as one voucher
(Dr accounts receivable, Cr net sales per line), and the delivery reaches status 80
("accounts receivable and general ledger are updated").
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .common import ACCOUNTING, Ctx, Nok, fmt_amount, fmt_qty, quantize, today
from .delivery import Deliveries


class Invoicing(Deliveries):
    invoices: dict[tuple[str, str], dict[str, Any]]       # (IVNO, YEA4)
    job_runs: list[dict[str, Any]]

    def invoicing_programs(self) -> dict:
        return {"OIS350MI": {"GetInvHead": self.ois350_get_inv_head,
                             "LstAllInvByCO": self.ois350_lst_by_co}}

    # ------------------------------------------------------------------ the job
    def run_invoicing(self, invoice_date: str | None = None) -> dict[str, Any]:
        """One run of the invoicing job over every delivery ready for invoicing.  Caller
        holds ``lock``.  A delivery the job cannot invoice (closed period) stays ready and
        is listed with M3's message."""
        idat = invoice_date or today()
        ctx = Ctx(self.cono, self.divi)
        done, skipped = [], []
        for dlix, d in sorted(self.deliveries.items()):
            if d["PGRS"] != "60":
                continue
            try:
                ivno = self._invoice_delivery(dlix, d, idat, ctx)
            except Nok as nok:
                skipped.append({"DLIX": dlix, "ORNO": d["ORNO"], "message": nok.message})
                continue
            done.append({"DLIX": dlix, "ORNO": d["ORNO"], "IVNO": ivno, "YEA4": idat[:4]})
        run = {"invoice_date": idat, "invoiced": done, "skipped": skipped, "ran_at": today()}
        self.job_runs = (self.job_runs + [run])[-20:]
        return run

    def _invoice_delivery(self, dlix: str, d: dict[str, Any], idat: str, ctx: Ctx) -> str:
        orno = d["ORNO"]
        head = self._order_head(orno)
        cucd, cuno = head["OACUCD"], head["OACUNO"]
        pyno = head["OAPYNO"] or cuno
        todo = [(ponr, s) for ponr, s in self.orders[orno]["lines"].items()
                if s["delivered"] > s["invoiced"]]
        amounts = {ponr: (s["amount"] if s["delivered"] == s["qty"] and not s["invoiced"] else
                          quantize((s["delivered"] - s["invoiced"]) * s["price"], cucd))
                   for ponr, s in todo}
        total = sum(amounts.values(), Decimal(0))
        ivno = str(self.seq["ivno"] + 1)
        text = f"Invoice {ivno} {cuno}"
        lines = [{"AIT1": ACCOUNTING[("OI20", "100")], "CUCD": cucd, "CUAM": total,
                  "VTXT": text}]
        lines += [{"AIT1": ACCOUNTING[("OI20", "300")], "CUCD": cucd, "CUAM": -amounts[ponr],
                   "VTXT": text} for ponr, _ in todo if amounts[ponr]]
        rows = self.post_voucher(ctx, idat, "OI20", "Invoice", "10", lines)   # may refuse
        self._next("ivno")
        yea4, ar = idat[:4], rows[0]
        ledger = self.t["FSLEDG"].insert(self.t["FSLEDG"].new_row(
            CONO=ctx.cono, DIVI=ctx.divi, YEA4=yea4, JRNO=ar["EGJRNO"], JSNO=ar["EGJSNO"],
            TRCD="10", PYNO=pyno, CUNO=cuno, CINO=ivno, INYR=yea4, VSER="", VONO=ar["EGVONO"],
            IVTP="", TDSC="Invoice", CUCD=cucd, ARAT=ar["EGARAT"], CUAM=fmt_amount(total, cucd),
            DCAM=str(len(ar["EGCUAM"].partition(".")[2])), VTAM="0", IVDT=idat, DUDT=idat,
            ACDT=idat, TEPY=head["OATEPY"], PYCD=head["OAPYCD"], RECO="0", REDE="0",
            RGDT=today()))
        for ponr, s in todo:
            qty = s["delivered"] - s["invoiced"]
            self.t["OINVOL"].insert(self.t["OINVOL"].new_row(
                CONO=ctx.cono, DIVI=ctx.divi, YEA4=yea4, IVNO=ivno, ORNO=orno, PONR=ponr,
                POSX="0", ITNO=s["row"]["OBITNO"], IVQT=fmt_qty(qty),
                LNAM=fmt_amount(amounts[ponr], cucd), CUCD=cucd))
            s["invoiced"] += qty
        self.invoices[(ivno, yea4)] = {"ORNO": orno, "CUNO": cuno, "PYNO": pyno, "IDAT": idat,
                                       "DUDT": idat, "CUCD": cucd, "IVAV": total,
                                       "ARAT": Decimal(ar["EGARAT"]), "remaining": total,
                                       "ledger": [ledger], "VONO": ar["EGVONO"]}
        d.update(PGRS="80", IVNO=ivno, IVDT=idat)
        self.order_status(orno)
        return ivno

    # ------------------------------------------------------------------ OIS350MI
    def invoice_values(self, key: tuple[str, str]) -> dict[str, str]:
        inv = self.invoices[key]
        cust = self.t["OCUSMA"].first("CUNO", inv["CUNO"]) or {}
        cucd, first = inv["CUCD"], inv["ledger"][0]
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
                "RECO": first["ESRECO"], "REDE": first["ESREDE"], "TRCD": "10",
                "JRNO": first["ESJRNO"], "JSNO": first["ESJSNO"], "VONO": inv["VONO"],
                "ARAT": first["ESARAT"], "CASH": "0", "TDSC": "Invoice", "LOCD": self.local}

    def ois350_lst_by_co(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        keys = sorted({(r["ONIVNO"], r["ONYEA4"])
                       for r in self.t["OINVOL"].lookup("ORNO", rec["ORNO"])})
        return [self._out("OIS350MI", "LstAllInvByCO", self.invoice_values(k))
                for k in self._limit(keys, ctx)]

    def ois350_get_inv_head(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        key = (rec["IVNO"].lstrip("0"), rec["YEA4"])
        if key not in self.invoices:
            raise Nok(f"Invoice {rec['IVNO']} for year {rec['YEA4']} does not exist", "XIM0002",
                      "IVNO")
        return [self._out("OIS350MI", "GetInvHead", self.invoice_values(key))]
