"""M3 customer orders (OIS100MI batch order: ``AddBatchHead`` -> ``AddBatchLine`` ->
``Confirm``), found by ``OOHEAD.OACUOR`` (the Stripe id or a 20-character hash) and
``OAYREF`` (the Stripe id)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain.erp import DocKind, ErpRef, Invoice, OrderLine, SalesOrder

from ..base import ErpRecord, ErpValidationError, PostResult, decimal_str
from .customers import customer_ids, customer_queries, learn_customers
from .http import mi_error, mi_records
from .lookups import co, export
from .values import SAFE, amount, m3_date, money, order_key, quote, short_key, ymd

if TYPE_CHECKING:
    from .adapter import InforAdapter


def order_queries(a: InforAdapter, ids: Sequence[str]) -> list[tuple[list[str], str, str]]:
    return [(["OAORNO", "OACUOR", "OAYREF", "OACUNO"], "OOHEAD",
             f"{co(a, 'OA')} and OACUOR = {quote(order_key(e))}") for e in ids]


def learn_orders(a: InforAdapter, ids: Sequence[str], rows_per_id: Sequence[list[dict]]) -> None:
    for ext, rows in zip(ids, rows_per_id):
        mine = [r for r in rows if r["OAYREF"] == ext] or (
            rows if len(ext) > 30 or not SAFE.match(ext) else [])
        if mine:
            a.orno[ext] = mine[0]["OAORNO"]


def find_orders(a: InforAdapter, ids: Sequence[str], customers: Sequence[str] = ()
                ) -> dict[str, ErpRef]:
    """Orders by Stripe id; also learns the CUNOs of ``customers`` in the same request."""
    todo = [e for e in ids if e not in a.orno]
    custs = [c for c in dict.fromkeys(customers) if c not in a.cuno and SAFE.match(c)]
    rows = export(a, order_queries(a, todo) + customer_queries(a, custs))
    learn_orders(a, todo, rows[:len(todo)])
    learn_customers(a, custs, rows[len(todo):])
    return {e: a.ref(DocKind.SALES_ORDER, a.orno[e], e) for e in ids if e in a.orno}


def create_orders(a: InforAdapter, docs: Sequence[SalesOrder | Invoice], kind: DocKind,
                  ) -> dict[str, PostResult]:
    """OIS100MI batch order: heads, then lines, then Confirm for orders whose lines all passed."""
    find_orders(a, [], [d.customer for d in docs])
    heads = []
    for d in docs:
        head = {"CUNO": a.cuno.get(d.customer) or short_key("S", d.customer, 10),
                "CUOR": order_key(d.external_id),
                "YREF": d.external_id if len(d.external_id) <= 30 else "",
                "CUCD": d.currency, "ORDT": ymd(doc_date(d)),
                "RLDT": ymd(doc_date(d)), "ORTP": a.order_type}
        heads.append([{"transaction": "AddBatchHead",
                       "record": {k: v for k, v in head.items() if v},
                       "selectedColumns": ["ORNO"]}])
    errors: dict[str, list[Any]] = {d.external_id: [] for d in docs}
    temp: dict[str, str] = {}
    for d, items in zip(docs, a.api.bulk("OIS100MI", heads, write=True)):
        nok = mi_error(items[0])
        recs = mi_records(items[0])
        if nok is None and recs and recs[0].get("ORNO"):
            temp[d.external_id] = recs[0]["ORNO"]
        else:
            errors[d.external_id].append(nok or ErpValidationError("no order number"))
    with_head = [d for d in docs if d.external_id in temp]
    lines = [[{"transaction": "AddBatchLine", "record": {
        "ORNO": temp[d.external_id], "ITNO": line.sku, "ORQT": decimal_str(line.quantity),
        "SAPR": amount(line.unit_price), "ITDS": " ".join(line.description.split())[:30]},
        "selectedColumns": ["PONR"]} for line in d.lines] for d in with_head]
    clean = []
    for d, items in zip(with_head, a.api.bulk("OIS100MI", lines, write=True)):
        noks = [mi_error(i) for i in items]
        errors[d.external_id].extend(noks)
        if not any(noks):
            clean.append(d)
    confirmed: dict[str, str] = {}
    confirms = [[{"transaction": "Confirm", "record": {"ORNO": temp[d.external_id]},
                  "selectedColumns": ["ORNO", "STAT"]}] for d in clean]
    for d, items in zip(clean, a.api.bulk("OIS100MI", confirms, write=True)):
        nok = mi_error(items[0])
        recs = mi_records(items[0])
        if nok is None and recs and recs[0].get("ORNO"):
            confirmed[d.external_id] = a.orno[d.external_id] = recs[0]["ORNO"]
        errors[d.external_id].append(nok)
    out: dict[str, PostResult] = {}
    for d in docs:
        orno = confirmed.get(d.external_id)
        a.merge(out, d, errors[d.external_id],
                a.ref(kind, orno, d.external_id) if orno else None)
    return out


def doc_date(d: SalesOrder | Invoice) -> date:
    return d.order_date if isinstance(d, SalesOrder) else d.invoice_date


def create(a: InforAdapter, docs: Sequence[SalesOrder]) -> dict[str, PostResult]:
    return create_orders(a, docs, DocKind.SALES_ORDER)


def orders_of(a: InforAdapter, ids: Sequence[str] | None) -> list[tuple[str, str]]:
    """(external id, ORNO) of the product's orders: the given ones, or all."""
    if ids is not None:
        refs = find_orders(a, ids)
        return [(e, refs[e].id) for e in ids if e in refs]
    [rows] = export(a, [(["OAORNO", "OACUOR", "OAYREF"], "OOHEAD", co(a, "OA"))])
    out = []
    for r in rows:
        ext = r["OAYREF"]
        if ext and order_key(ext) == r["OACUOR"]:   # only orders the product created
            a.orno[ext] = r["OAORNO"]
            out.append((ext, r["OAORNO"]))
    return out


def order_details(a: InforAdapter, ornos: Sequence[str]) -> dict[str, tuple[dict, list[dict]]]:
    results = a.api.bulk("OIS100MI", [[
        {"transaction": "GetHead", "record": {"ORNO": o},
         "selectedColumns": ["ORNO", "CUNO", "ORDT", "CUCD", "CUOR", "YREF"]},
        {"transaction": "LstLine", "record": {"ORNO": o},
         "selectedColumns": ["PONR", "ITNO", "ITDS", "ORQT", "SAPR"]}] for o in ornos])
    out = {}
    for orno, (head, lines) in zip(ornos, results):
        heads = mi_records(head)
        if heads:
            out[orno] = (heads[0], mi_records(lines))
    return out


def order_lines(lines: Sequence[dict[str, str]], currency: str) -> tuple[OrderLine, ...]:
    return tuple(OrderLine(line_no=int(x.get("PONR") or n), sku=x["ITNO"],
                           description=x.get("ITDS") or x["ITNO"],
                           quantity=Decimal(x.get("ORQT") or "0"),
                           unit_price=money(x.get("SAPR") or "0", currency))
                 for n, x in enumerate(lines, start=1))


def read(a: InforAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    orders = orders_of(a, ids)
    details = order_details(a, [o for _, o in orders])
    customers = customer_ids(a, [h["CUNO"] for h, _ in details.values()])
    out = []
    for ext, orno in orders:
        if orno not in details:
            continue
        head, lines = details[orno]
        cucd = head["CUCD"]
        doc = SalesOrder(external_id=ext, customer=customers.get(head["CUNO"], head["CUNO"]),
                         order_date=m3_date(head["ORDT"]), currency=cucd,
                         lines=order_lines(lines, cucd))
        out.append(ErpRecord(a.ref(DocKind.SALES_ORDER, orno, ext), doc))
    return out
