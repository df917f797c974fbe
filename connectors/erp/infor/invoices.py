"""M3 customer invoices: produced by the order flow, found as the order's invoice
(OIS350MI ``LstAllInvByCO``); an invoice without an order gets an order first."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.erp import DocKind, ErpRef, Invoice

from ..base import ErpRecord, ErpValidationError, PostResult
from .customers import customer_ids
from .http import mi_records
from .lookups import co, export
from .sales_orders import create_orders, find_orders, order_details, order_lines, orders_of
from .values import m3_date, money, order_key, quote

if TYPE_CHECKING:
    from .adapter import InforAdapter


def invoices_of(a: InforAdapter, pairs: Sequence[tuple[str, str]],
                fresh: bool = False) -> dict[str, dict[str, str]]:
    """(invoice external id, ORNO) -> the order's invoice (OIS350MI LstAllInvByCO);
    ``fresh`` re-reads cached ones (balances change)."""
    todo = [(e, o) for e, o in pairs if fresh or e not in a.m3_invoices]
    ornos = list(dict.fromkeys(o for _, o in todo))
    results = a.api.bulk("OIS350MI", [[{"transaction": "LstAllInvByCO",
                                        "record": {"ORNO": o}}] for o in ornos])
    by_order = {o: mi_records(items[0]) for o, items in zip(ornos, results)}
    for ext, orno in todo:
        invs = by_order.get(orno) or []
        if invs:
            a.m3_invoices[ext] = {**invs[0], "ORNO": orno}
    return {e: a.m3_invoices[e] for e, _ in pairs if e in a.m3_invoices}


def invoice_id(inv: dict[str, str]) -> str:
    return f"{inv['YEA4']}/{inv['IVNO']}"


def find(a: InforAdapter, ids: Sequence[str]) -> dict[str, ErpRef]:
    known = {e for e in ids if e in a.m3_invoices}
    orders = find_orders(a, [e for e in ids if e not in known])
    invs = invoices_of(a, [(e, orders[e].id) for e in ids if e in orders])
    return {e: a.ref(DocKind.INVOICE, invoice_id(invs.get(e) or a.m3_invoices[e]), e)
            for e in ids if e in invs or e in a.m3_invoices}


def create(a: InforAdapter, docs: Sequence[Invoice]) -> dict[str, PostResult]:
    out: dict[str, PostResult] = {}
    by_order = [d for d in docs if d.order]
    orders = find_orders(a, list(dict.fromkeys(d.order for d in by_order)))
    pairs = [(d.external_id, orders[d.order].id) for d in by_order if d.order in orders]
    invs = invoices_of(a, pairs)
    for d in by_order:
        if d.external_id in invs:
            out[d.external_id] = PostResult(d.external_id, a.ref(
                DocKind.INVOICE, invoice_id(invs[d.external_id]), d.external_id))
        elif d.order in orders:
            out[d.external_id] = PostResult(d.external_id, error=ErpValidationError(
                f"Customer order {orders[d.order].id} ({d.order}) is not invoiced yet in M3: "
                f"invoices come from delivering and invoicing the order", field="ORNO"))
        else:
            out[d.external_id] = PostResult(d.external_id, error=ErpValidationError(
                f"Sales order {d.order} of invoice {d.external_id} does not exist in M3 "
                f"(no OOHEAD with CUOR {order_key(d.order)})", field="ORNO"))
    standalone = [d for d in docs if not d.order]
    if standalone:           # M3 invoices only orders: the invoice brings its own order
        made = create_orders(a, standalone, DocKind.INVOICE)
        done = [d for d in standalone if made[d.external_id].ok]
        invs = invoices_of(a, [(d.external_id, made[d.external_id].ref.id) for d in done])
        for d in standalone:
            res = made[d.external_id]
            if res.ok and d.external_id in invs:
                res = PostResult(d.external_id, a.ref(
                    DocKind.INVOICE, invoice_id(invs[d.external_id]), d.external_id),
                    created=True)
            elif res.ok:
                res = PostResult(d.external_id, error=ErpValidationError(
                    f"Customer order {res.ref.id} was confirmed but M3 has not invoiced it"))
            out[d.external_id] = res
    return out


def read(a: InforAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    orders = orders_of(a, ids)
    invs = invoices_of(a, orders, fresh=True)
    details = order_details(a, [o for e, o in orders if e in invs])
    customers = customer_ids(a, [h["CUNO"] for h, _ in details.values()])
    out = []
    for ext, orno in orders:
        inv = invs.get(ext)
        if inv is None or orno not in details:
            continue
        head, lines = details[orno]
        cucd = inv.get("CUCD") or head["CUCD"]
        total = money(inv["IVAV"], cucd)
        fields = dict(external_id=ext, order=head.get("YREF") or ext,
                      customer=customers.get(inv.get("CUNO") or head["CUNO"], head["CUNO"]),
                      invoice_date=m3_date(inv["IDAT"]), due_date=m3_date(inv.get("DUDT") or
                                                                          inv["IDAT"]),
                      currency=cucd, lines=order_lines(lines, cucd), total=total)
        try:
            doc = Invoice(**fields)
        except ValueError:   # M3 rounded the lines differently: keep what M3 holds
            doc = Invoice.model_construct(**fields)
        out.append(ErpRecord(a.ref(DocKind.INVOICE, invoice_id(inv), ext), doc,
                             open_balance=money(inv["RAFC"], cucd)))
    return out


def resolve_invoices(a: InforAdapter, inv_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    todo = [e for e in dict.fromkeys(inv_ids) if e not in a.m3_invoices]
    orders = find_orders(a, todo)
    invoices_of(a, [(e, orders[e].id) for e in todo if e in orders])
    return {e: a.m3_invoices[e] for e in inv_ids if e in a.m3_invoices}


def invoice_ids(a: InforAdapter, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(CINO, INYR) -> invoice external id, through OINVOL (invoice -> order) and OOHEAD."""
    keys = list(dict.fromkeys(keys))
    known = {(v.get("IVNO"), v.get("YEA4")): e for e, v in a.m3_invoices.items()}
    todo = [k for k in keys if k not in known]
    rows = export(a, [(["ONIVNO", "ONYEA4", "ONORNO"], "OINVOL",
                       f"{co(a, 'ON', True)} and ONIVNO = {int(k[0])} and ONYEA4 = "
                       f"{int(k[1])}") for k in todo if k[0].isdigit() and k[1].isdigit()])
    orno = {(r[0]["ONIVNO"], r[0]["ONYEA4"]): r[0]["ONORNO"] for r in rows if r}
    ornos = list(dict.fromkeys(orno.values()))
    heads = export(a, [(["OAORNO", "OACUOR", "OAYREF"], "OOHEAD",
                        f"{co(a, 'OA')} and OAORNO = {quote(o)}") for o in ornos])
    ext = {o: (h[0]["OAYREF"] or h[0]["OACUOR"]) for o, h in zip(ornos, heads) if h}
    out = dict(known)
    for k in todo:
        if orno.get(k) in ext:
            out[k] = ext[orno[k]]
    return {k: out.get(k, k[0]) for k in keys}
