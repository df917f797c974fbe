"""M3 cash receipts: ARS040MI batch payments (``AddBatchHead``, ``AddBatchLine`` per invoice
applied, ``ControlBatch``), found in M3's AR ledger.

``ControlBatch`` books one AR ledger record per payment (FSLEDG, transaction code 20) on the
invoice it pays.  The product then attaches the Stripe id to that record as AR additional
information (ARS251MI ``AddInfoCat``: table FSLEDX, category ``INFOR_AR_INFO_CATEGORY``),
and finds payments by it.  A payment booked but not yet tagged (the answer was lost) is
recognised on its invoice by amount and payment date and tagged then, never booked twice.
A receipt for an invoice M3 has not produced yet waits for it (``PostResult.waiting``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.erp import DocKind, ErpRef, Payment, PaymentApplication
from domain.money import Money

from ..base import ErpRecord, ErpValidationError, PostResult
from .customers import customer_ids
from .http import mi_error
from .invoices import invoice_ids, not_invoiced, resolve_invoices
from .lookups import co, export
from .sales_orders import learn_orders, order_queries
from .values import amount, m3_date, money, order_key, quote, short_key, ymd

if TYPE_CHECKING:
    from .adapter import InforAdapter

PAYMENT = "20"                                   # FSLEDG transaction code of a payment
LEDGER_COLS = ["ESYEA4", "ESJRNO", "ESJSNO", "ESCINO", "ESINYR", "ESCUNO", "ESCUCD",
               "ESCUAM", "ESDTP5", "ESBKID"]
TAG_COLS = ["ESYEA4", "ESJRNO", "ESJSNO", "ESSEXI"]
Key = tuple[str, str, str]                       # FSLEDG YEA4, JRNO, JSNO


def key_of(row: dict[str, str]) -> Key:
    return row["ESYEA4"], row["ESJRNO"], row["ESJSNO"]


def tag_queries(a: InforAdapter, ids: Sequence[str] | None) -> list[tuple[list[str], str, str]]:
    where = f"{co(a, 'ES', True)} and ESSEXN = {int(a.ar_info_category)}"
    if ids is None:
        return [(TAG_COLS, "FSLEDX", where)]
    return [(TAG_COLS, "FSLEDX", f"{where} and ESSEXI = {quote(e)}") for e in ids]


def ledger_query(a: InforAdapter, where: str) -> tuple[list[str], str, str]:
    return LEDGER_COLS, "FSLEDG", f"{co(a, 'ES', True)} and ESTRCD = {PAYMENT}{where}"


def find(a: InforAdapter, ids: Sequence[str], invoices: Sequence[str] = ()) -> dict[str, ErpRef]:
    """Payments by their Stripe id in FSLEDX; also looks up the orders of ``invoices``."""
    orders = [e for e in dict.fromkeys(invoices) if e not in a.m3_invoices and e not in a.orno]
    rows = export(a, tag_queries(a, ids) + order_queries(a, orders))
    learn_orders(a, orders, rows[len(ids):])
    return {e: a.ref(DocKind.PAYMENT, "/".join(key_of(r[0])), e)
            for e, r in zip(ids, rows) if r}


def find_for_post(a: InforAdapter, docs: Sequence[Payment]) -> dict[str, ErpRef]:
    """find(), then payments M3 booked whose tag was lost: tagged now (ARS251MI)."""
    found = find(a, [d.external_id for d in docs],
                 [ap.invoice for d in docs for ap in d.applications])
    todo = [d for d in docs if d.external_id not in found]
    invs = resolve_invoices(a, [ap.invoice for d in todo for ap in d.applications])
    todo = [d for d in todo if d.applications and all(ap.invoice in invs for ap in d.applications)]
    if todo:
        found.update(tag(a, todo, invs))
    return found


def untagged(a: InforAdapter, invs: dict[str, dict[str, str]], wanted: Sequence[str]
             ) -> dict[tuple[str, str], list[dict[str, str]]]:
    """(CINO, INYR) -> the payment records on these invoices that carry no Stripe id."""
    keys = list(dict.fromkeys((invs[e]["IVNO"], invs[e]["YEA4"]) for e in wanted))
    per = export(a, [ledger_query(a, f" and ESCINO = {quote(c)} and ESINYR = {int(y)}")
                     for c, y in keys])
    rows = [r for rs in per for r in rs]
    tagged: set[Key] = set()
    if rows:
        tags = export(a, [(TAG_COLS, "FSLEDX", f"{co(a, 'ES', True)} and ESSEXN = "
                           f"{int(a.ar_info_category)} and ESYEA4 = {int(k[0])} and ESJRNO = "
                           f"{int(k[1])} and ESJSNO = {int(k[2])}")
                          for k in dict.fromkeys(map(key_of, rows))])
        tagged = {key_of(t) for ts in tags for t in ts}
    out: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in rows:
        if key_of(r) not in tagged:
            out.setdefault((r["ESCINO"], r["ESINYR"]), []).append(r)
    return out


def tag(a: InforAdapter, docs: Sequence[Payment], invs: dict[str, dict[str, str]]
        ) -> dict[str, ErpRef]:
    """Attach each payment's Stripe id to its untagged AR records (same invoice, amount and
    payment date); returns the payments so found."""
    free = untagged(a, invs, [ap.invoice for d in docs for ap in d.applications])
    chosen: dict[str, list[Key]] = {}
    for d in docs:
        keys = []
        for ap in d.applications:
            inv = invs[ap.invoice]
            pool = free.get((inv["IVNO"], inv["YEA4"]), [])
            match = next((r for r in pool if money(r["ESCUAM"], r["ESCUCD"]) == -ap.amount
                          and r["ESDTP5"] == ymd(d.received_date)), None)
            if match is None:
                break
            pool.remove(match)
            keys.append(key_of(match))
        if keys and len(keys) == len(d.applications):
            chosen[d.external_id] = keys
    groups = [[{"transaction": "AddInfoCat", "record": {
        "DIVI": a.divi, "YEA4": k[0], "JRNO": k[1], "JSNO": k[2],
        "SEXN": a.ar_info_category, "SEXI": ext}} for k in keys] for ext, keys in chosen.items()]
    out = {}
    for (ext, keys), items in zip(chosen.items(), a.api.bulk("ARS251MI", groups, write=True)):
        if all(mi_error(i) is None for i in items):
            out[ext] = a.ref(DocKind.PAYMENT, "/".join(keys[0]), ext)
    return out


def create(a: InforAdapter, docs: Sequence[Payment]) -> dict[str, PostResult]:
    invs = resolve_invoices(a, [ap.invoice for d in docs for ap in d.applications])
    out: dict[str, PostResult] = {}
    groups, sent = [], []
    for d in docs:
        applied = sum(ap.amount.amount for ap in d.applications)
        missing = [ap.invoice for ap in d.applications if ap.invoice not in invs]
        if missing:
            wait = not_invoiced(a, missing[0])
            out[d.external_id] = PostResult(d.external_id, waiting=wait) if wait else \
                PostResult(d.external_id, error=ErpValidationError(
                    f"Invoice {missing[0]} does not exist in M3 (no customer order with CUOR "
                    f"{order_key(missing[0])})", field="CINO"))
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
                "PBID": pbid, "TRNO": str(n), "CINO": inv["IVNO"], "INYR": inv["YEA4"],
                "CUNO": inv["CUNO"], "PYAM": amount(app.amount), "CUCD": app.amount.currency,
                "LPDT": ymd(d.received_date), "CKNO": (d.reference or d.external_id)[:15]}})
        group.append({"transaction": "ControlBatch", "record": {"PBID": pbid}})
        groups.append(group)
        sent.append(d)
    booked = []
    for d, items in zip(sent, a.api.bulk("ARS040MI", groups, write=True)):
        err = next((e for e in map(mi_error, items) if e is not None), None)
        if err is not None:
            out[d.external_id] = PostResult(d.external_id, error=err)
        else:
            booked.append(d)
    refs = tag(a, booked, invs) if booked else {}
    for d in booked:
        out[d.external_id] = PostResult(d.external_id, refs[d.external_id], created=True) \
            if d.external_id in refs else PostResult(d.external_id, error=ErpValidationError(
                f"M3 booked payment {d.external_id} but its AR record could not be tagged "
                f"(ARS251MI AddInfoCat); the next run finds and tags it"))
    return out


def read(a: InforAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    tag_rows = [r for rs in export(a, tag_queries(a, ids)) for r in rs]
    owner = {key_of(t): t["ESSEXI"] for t in tag_rows}
    if ids is None:
        [rows] = export(a, [ledger_query(a, "")])
    else:
        per = export(a, [ledger_query(a, f" and ESYEA4 = {int(k[0])} and ESJRNO = {int(k[1])} "
                                         f"and ESJSNO = {int(k[2])}") for k in owner])
        rows = [r for rs in per for r in rs]
    rows = [r for r in rows if key_of(r) in owner]
    invoice_ext = invoice_ids(a, [(r["ESCINO"], r["ESINYR"]) for r in rows])
    customers = customer_ids(a, [r["ESCUNO"] for r in rows])
    by_payment: dict[str, list[dict[str, str]]] = {}
    for r in sorted(rows, key=key_of):
        by_payment.setdefault(owner[key_of(r)], []).append(r)
    out = []
    for ext, lines in by_payment.items():
        first, cucd = lines[0], lines[0]["ESCUCD"]
        apps = tuple(PaymentApplication(invoice=invoice_ext[(x["ESCINO"], x["ESINYR"])],
                                        amount=-money(x["ESCUAM"], cucd)) for x in lines)
        doc = Payment(external_id=ext, customer=customers.get(first["ESCUNO"], first["ESCUNO"]),
                      received_date=m3_date(first["ESDTP5"]),
                      amount=Money(sum(ap.amount.amount for ap in apps), cucd),
                      method="", bank_account=first["ESBKID"], applications=apps,
                      reference=ext)
        out.append(ErpRecord(a.ref(DocKind.PAYMENT, "/".join(key_of(first)), ext), doc))
    return out
