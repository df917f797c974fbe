"""M3 cash receipts as ARS040MI batch payments (``AddBatchHead``, ``AddBatchLine`` per
invoice applied, ``ControlBatch``): PBID = "P" + hash, the Stripe id in ``IRNO``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.erp import DocKind, ErpRef, Payment, PaymentApplication
from domain.money import Money

from ..base import ErpRecord, ErpValidationError, PostResult
from .customers import customer_ids
from .http import mi_error
from .invoices import invoice_ids, resolve_invoices
from .lookups import co, export
from .sales_orders import learn_orders, order_queries
from .values import amount, m3_date, money, order_key, quote, short_key, ymd

if TYPE_CHECKING:
    from .adapter import InforAdapter


PAY_COLS = ["BPPBID", "BPTRNO", "BPCINO", "BPINYR", "BPCUNO", "BPPYAM", "BPCUCD", "BPLPDT",
            "BPBOPE", "BPBAAN", "BPCKNO", "BPIRNO"]


def find(a: InforAdapter, ids: Sequence[str], invoices: Sequence[str] = ()) -> dict[str, ErpRef]:
    """Payments by PBID; also looks up the orders of ``invoices`` in the same request."""
    keys = {e: short_key("P", e, 10) for e in ids}
    orders = [e for e in dict.fromkeys(invoices)
              if e not in a.m3_invoices and e not in a.orno]
    rows = export(a, [(["BPPBID"], "FSBPAY", f"{co(a, 'BP', True)} and BPPBID = "
                       f"{quote(keys[e])}") for e in ids] + order_queries(a, orders))
    learn_orders(a, orders, rows[len(ids):])
    return {e: a.ref(DocKind.PAYMENT, keys[e], e) for e, r in zip(ids, rows) if r}


def create(a: InforAdapter, docs: Sequence[Payment]) -> dict[str, PostResult]:
    invs = resolve_invoices(a, [ap.invoice for d in docs for ap in d.applications])
    out: dict[str, PostResult] = {}
    groups, sent = [], []
    for d in docs:
        applied = sum(ap.amount.amount for ap in d.applications)
        missing = [ap.invoice for ap in d.applications if ap.invoice not in invs]
        if missing:
            out[d.external_id] = PostResult(d.external_id, error=ErpValidationError(
                f"Invoice {missing[0]} does not exist in M3 (no invoiced customer order "
                f"with CUOR {order_key(missing[0])})", field="CINO"))
            continue
        if not d.applications or applied != d.amount.amount:
            out[d.external_id] = PostResult(d.external_id, error=ErpValidationError(
                f"Payment {d.external_id}: {d.amount} received but "
                f"{Money(applied, d.amount.currency)} applied to invoices; ARS040MI batch "
                f"payments post invoice applications only", field="PYAM"))
            continue
        pbid = short_key("P", d.external_id, 10)
        method = d.method.strip().upper()
        group = [{"transaction": "AddBatchHead", "record": {
            "PBID": pbid, "BOPE": a.payment_types.get(method, method[:3]),
            "BAAN": d.bank_account, "ACDT": ymd(d.received_date)}}]
        for n, app in enumerate(d.applications, start=1):
            inv = invs[app.invoice]
            group.append({"transaction": "AddBatchLine", "record": {
                "PBID": pbid, "TRNO": str(n), "CINO": inv.get("IVNO") or inv.get("CINO"),
                "INYR": inv["YEA4"], "CUNO": inv["CUNO"], "PYAM": amount(app.amount),
                "CUCD": app.amount.currency, "LPDT": ymd(d.received_date),
                "CKNO": (d.reference or d.external_id)[:15], "IRNO": d.external_id[:40]}})
        group.append({"transaction": "ControlBatch", "record": {"PBID": pbid}})
        groups.append(group)
        sent.append((d, pbid))
    for (d, pbid), items in zip(sent, a.api.bulk("ARS040MI", groups, write=True)):
        a.merge(out, d, [mi_error(i) for i in items],
                a.ref(DocKind.PAYMENT, pbid, d.external_id))
    return out


def read(a: InforAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    where = co(a, "BP", True)
    if ids is None:
        [rows] = export(a, [(PAY_COLS, "FSBPAY", where)])
        wanted = None
    else:
        keys = {short_key("P", e, 10): e for e in ids}
        per = export(a, [(PAY_COLS, "FSBPAY", f"{where} and BPPBID = {quote(k)}")
                         for k in keys])
        rows = [r for rs in per for r in rs]
        wanted = keys
    batches: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        batches.setdefault(r["BPPBID"], []).append(r)
    invoice_ext = invoice_ids(a, [(r["BPCINO"], r["BPINYR"]) for r in rows])
    customers = customer_ids(a, [r["BPCUNO"] for r in rows])
    methods = {v: k for k, v in a.payment_types.items()}
    out = []
    for pbid, lines in batches.items():
        first = lines[0]
        ext = wanted[pbid] if wanted else (first["BPIRNO"] or pbid)
        cucd = first["BPCUCD"]
        apps = tuple(PaymentApplication(invoice=invoice_ext[(x["BPCINO"], x["BPINYR"])],
                                        amount=money(x["BPPYAM"], x["BPCUCD"]))
                     for x in sorted(lines, key=lambda x: int(x["BPTRNO"] or 0)))
        doc = Payment(external_id=ext, customer=customers.get(first["BPCUNO"], first["BPCUNO"]),
                      received_date=m3_date(first["BPLPDT"]),
                      amount=Money(sum(ap.amount.amount for ap in apps), cucd),
                      method=methods.get(first["BPBOPE"], first["BPBOPE"]),
                      bank_account=first["BPBAAN"], applications=apps,
                      reference=first["BPIRNO"] or first["BPCKNO"])
        out.append(ErpRecord(a.ref(DocKind.PAYMENT, pbid, ext), doc))
    return out
