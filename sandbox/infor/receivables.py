"""Accounts receivable: the AR ledger read back (ARS200MI), customer payments in batches
(ARS040MI) and the AR ledger's additional information (ARS251MI, table FSLEDX).

``ControlBatch`` validates a payment batch and books it: one voucher (FAM function AR30;
per payment Dr the batch's bank account, Cr accounts receivable at the invoice's rate, a
currency difference to the realised-difference account) and one AR ledger record per
payment (FSLEDG, transaction code 20) on the invoice it pays.  An invoice whose remaining
amount reaches zero is reconciled (RECO 9) with its payments.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .common import (ACCOUNTING, AR_INFO_CATEGORIES, BANK_ACCOUNTS, PAYMENT_TYPES, Ctx, Discard,
                     Nok, fmt_amount, quantize, strip_prefix, today)
from .invoicing import Invoicing


class Receivables(Invoicing):
    pay_batches: dict[str, dict[str, Any]]

    def receivable_programs(self) -> dict:
        return {"ARS200MI": {"GetInvTotInfo": self.ars200_get_tot, "LstInvoices": self.ars200_lst},
                "ARS040MI": {"AddBatchHead": self.ars040_add_head,
                             "AddBatchLine": self.ars040_add_line,
                             "AddBatchCharge": self.ars040_add_charge,
                             "ControlBatch": self.ars040_control},
                "ARS251MI": {"AddInfoCat": self.ars251_add_info, "LstInfo": self.ars251_lst_info}}

    # ------------------------------------------------------------------ ARS200MI
    def ars200_lst(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        self._customer(rec["CUNO"])
        rows = [r for r in self.t["FSLEDG"].lookup("CUNO", rec["CUNO"]) if r["ESTRCD"] == "10"
                and (rec.get("AAC0") != "1" or r["ESRECO"] != "9")
                and (not rec.get("IVDT") or r["ESIVDT"] >= rec["IVDT"])]
        return [self._out("ARS200MI", "LstInvoices", strip_prefix(r, "ES"))
                for r in self._limit(rows, ctx)]

    def ars200_get_tot(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        key = (rec["CINO"], rec["INYR"])
        inv = self.invoices.get(key)
        if inv is None or inv["CUNO"] != rec["CUNO"] or inv["PYNO"] != rec["PYNO"]:
            raise Nok(f"Invoice {rec['CINO']} does not exist", "XIM0002", "CINO")
        return [self._out("ARS200MI", "GetInvTotInfo", self.invoice_values(key))]

    # ------------------------------------------------------------------ ARS040MI
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
        if not rec.get("BAAN"):
            raise Nok("Bank account number must be entered", "WBAAN01", "BAAN")
        if rec["BAAN"] not in BANK_ACCOUNTS:
            raise Nok(f"Bank account {rec['BAAN']} does not exist", "XIM0002", "BAAN")
        self.pay_batches[pbid] = {"head": {**rec, "ACDT": rec.get("ACDT") or today()},
                                  "lines": [], "charges": [], "errors": 0, "status": "10"}
        return [{"PBID": pbid}]

    def ars040_add_line(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        batch = self._pay_batch(rec["PBID"])
        try:
            trno = self._number(rec, "TRNO", "Transaction number")
            if any(line["TRNO"] == trno for line in batch["lines"]):
                raise Nok(f"Transaction number {rec['TRNO']} already exists", "WTRNO04", "TRNO")
            self._customer(rec["CUNO"])
            inv = self.invoices.get((rec["CINO"].lstrip("0"), rec["INYR"]))
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
        except Nok:
            batch["errors"] += 1
            raise
        batch["lines"].append({**rec, "TRNO": trno, "PYAM": pyam, "CUCD": cucd,
                               "CINO": rec["CINO"].lstrip("0"),
                               "LPDT": rec.get("LPDT") or batch["head"]["ACDT"]})
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

    def _control_payment(self, pbid: str, batch: dict[str, Any]) -> None:
        if batch["errors"]:
            raise Discard(Nok(f"Payment batch {pbid} contains {batch['errors']} record(s) with "
                              f"errors", "WPBID06", "PBID"))
        if not batch["lines"]:
            raise Discard(Nok(f"Payment batch {pbid} has no payment lines", "WPBID07", "PBID"))
        applied: dict[tuple[str, str], Decimal] = {}
        for line in batch["lines"]:
            key = (line["CINO"], line["INYR"])
            applied[key] = applied.get(key, Decimal(0)) + line["PYAM"]
        for key, amount in applied.items():
            inv = self.invoices[key]
            remaining = inv["remaining"]
            if (amount > 0 and amount > remaining) or (amount < 0 and amount < remaining):
                raise Discard(Nok(
                    f"Payment amount {fmt_amount(amount, inv['CUCD'])} exceeds the remaining "
                    f"amount {fmt_amount(remaining, inv['CUCD'])} {inv['CUCD']} of invoice "
                    f"{key[0]}", "WPYAM07", "PYAM"))

    def ars040_control(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        pbid = rec.get("PBID", "")
        if not pbid:
            raise Nok("Payment batch must be entered", "WPBID01", "PBID")
        batch = self._pay_batch(pbid)
        head = batch["head"]
        acdt = head["ACDT"]
        bkid, bank, _ = BANK_ACCOUNTS[head["BAAN"]]
        lines: list[dict[str, Any]] = []
        for line in batch["lines"]:
            inv = self.invoices[(line["CINO"], line["INYR"])]
            cucd, pyam = line["CUCD"], line["PYAM"]
            bank_acam = quantize(pyam * self.rate(cucd), self.local)
            ar_acam = -quantize(pyam * inv["ARAT"], self.local)
            text = f"Payment {pbid} {line['CUNO']}"
            lines.append({"AIT1": bank, "CUCD": cucd, "CUAM": pyam, "ACAM": bank_acam,
                          "VTXT": text})
            lines.append({"AIT1": ACCOUNTING[("AR30", "100")], "CUCD": cucd, "CUAM": -pyam,
                          "ACAM": ar_acam, "ARAT": inv["ARAT"], "VTXT": text, "payment": line})
            if bank_acam + ar_acam:
                lines.append({"AIT1": ACCOUNTING[("AR30", "180")], "CUCD": self.local,
                              "CUAM": Decimal(0), "ACAM": -(bank_acam + ar_acam), "VTXT": text})
        for charge in batch["charges"]:
            text = f"Charge {pbid}"
            lines.append({"AIT1": ACCOUNTING[("AR30", "190")], "CUCD": charge["CUCD"],
                          "CUAM": charge["CHAM"], "VTXT": text})
            lines.append({"AIT1": bank, "CUCD": charge["CUCD"], "CUAM": -charge["CHAM"],
                          "VTXT": text})
        try:
            self._control_payment(pbid, batch)
            rows = self.post_voucher(ctx, acdt, "AR30", "Payment", "20", lines)
        except (Discard, Nok) as exc:
            batch["status"] = "discarded"      # [A] rejected batches are removed
            raise (exc.nok if isinstance(exc, Discard) else exc) from None
        for row, line in zip(rows, lines):
            if "payment" in line:
                self._ledger_payment(ctx, line["payment"], row, acdt, bkid)
        batch["status"] = "90"
        return []

    def _ledger_payment(self, ctx: Ctx, line: dict[str, Any], row: dict[str, str], acdt: str,
                        bkid: str) -> None:
        key = (line["CINO"], line["INYR"])
        inv = self.invoices[key]
        inv["remaining"] -= line["PYAM"]
        inv["ledger"].append(self.t["FSLEDG"].insert(self.t["FSLEDG"].new_row(
            CONO=ctx.cono, DIVI=ctx.divi, YEA4=row["EGYEA4"], JRNO=row["EGJRNO"],
            JSNO=row["EGJSNO"], TRCD="20", PYNO=inv["PYNO"], CUNO=inv["CUNO"], CINO=key[0],
            INYR=key[1], VSER="", VONO=row["EGVONO"], TDSC="Payment", CUCD=inv["CUCD"],
            ARAT=row["EGARAT"], CUAM=fmt_amount(-line["PYAM"], inv["CUCD"]),
            IVDT=inv["IDAT"], DUDT=inv["DUDT"], ACDT=acdt, DTP5=line["LPDT"], BKID=bkid,
            PYTP=line.get("PYTP", ""), RECO="0", REDE="0", RGDT=today())))
        if inv["remaining"] == 0:
            for ledger in inv["ledger"]:
                self.t["FSLEDG"].update(ledger, RECO="9", REDE=acdt)

    # ------------------------------------------------------------------ ARS251MI / FSLEDX
    def _ar_record(self, rec: dict[str, str]) -> dict[str, str]:
        key = (rec["YEA4"], rec["JRNO"].lstrip("0"), rec["JSNO"].lstrip("0"))
        for row in self.t["FSLEDG"].lookup("JRNO", key[1]):
            if (row["ESYEA4"], row["ESJRNO"], row["ESJSNO"]) == key:
                return row
        raise Nok(f"AR ledger record {'/'.join(key)} does not exist", "XIM0002", "JRNO")

    def ars251_add_info(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        row = self._ar_record(rec)
        if rec["SEXN"] not in AR_INFO_CATEGORIES:
            raise Nok(f"AR information category {rec['SEXN']} does not exist", "XIM0002", "SEXN")
        mine = [x for x in self.t["FSLEDX"].lookup("JRNO", row["ESJRNO"])
                if (x["ESYEA4"], x["ESJSNO"], x["ESSEXN"]) == (row["ESYEA4"], row["ESJSNO"],
                                                               rec["SEXN"])]
        sexs = rec.get("SEXS") or str(len(mine) + 1)
        if any(x["ESSEXS"] == sexs for x in mine):
            raise Nok(f"AR information category {rec['SEXN']} sequence {sexs} already exists",
                      "WSEXS04", "SEXS")
        self.t["FSLEDX"].insert(self.t["FSLEDX"].new_row(
            CONO=ctx.cono, DIVI=ctx.divi, YEA4=row["ESYEA4"], JRNO=row["ESJRNO"],
            JSNO=row["ESJSNO"], SEXN=rec["SEXN"], SEXS=sexs, SEXI=rec["SEXI"]))
        return []

    def ars251_lst_info(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        row = self._ar_record(rec)
        rows = [x for x in self.t["FSLEDX"].lookup("JRNO", row["ESJRNO"])
                if (x["ESYEA4"], x["ESJSNO"]) == (row["ESYEA4"], row["ESJSNO"])
                and (not rec.get("SEXN") or x["ESSEXN"] == rec["SEXN"])]
        return [self._out("ARS251MI", "LstInfo", strip_prefix(x, "ES"))
                for x in self._limit(rows, ctx)]
