"""Epicor sales orders (``Erp.BO.SalesOrderSvc``): the Stripe id in ``OrderHed.PONum``."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from domain.erp import DocKind, OrderLine, SalesOrder
from domain.money import to_decimal

from ..base import ErpRecord, ErpValidationError
from .customers import customers_of
from .updates import Created, update_docs
from .values import Row, edate, guid, money, pdate, qty

if TYPE_CHECKING:
    from .adapter import EpicorAdapter


def create(a: EpicorAdapter, docs: list[SalesOrder]) -> Created:
    errors: dict[str, ErpValidationError] = {}
    custs = customers_of(a, docs, errors)
    heads, lines, owners = [], [], {}
    for n, doc in enumerate(d for d in docs if d.external_id not in errors):
        temp = -(n + 1)
        sysrow = guid()
        owners[sysrow] = doc.external_id
        when = edate(doc.order_date)
        heads.append({"OrderNum": temp, "CustNum": custs[doc.customer]["CustNum"],
                      "PONum": doc.external_id, "OrderDate": when, "RequestDate": when,
                      "NeedByDate": when, "CurrencyCode": doc.currency,
                      "SysRowID": sysrow, "RowMod": "A"})
        for line in doc.lines:
            lrow = guid()
            owners[lrow] = doc.external_id
            lines.append({"OrderNum": temp, "OrderLine": line.line_no, "PartNum": line.sku,
                          "LineDesc": line.description, "SellingQuantity": line.quantity,
                          "DocUnitPrice": to_decimal(line.unit_price.amount, doc.currency),
                          "SysRowID": lrow, "RowMod": "A"})
    return update_docs(a, "Erp.BO.SalesOrderSvc", "OrderHed", heads, "OrderDtl", lines, owners,
                       DocKind.SALES_ORDER, errors)


def order_lines(rows: Iterable[Row], line_field: str, qty_field: str, currency: str
                ) -> tuple[OrderLine, ...]:
    """Canonical lines from order (``OrderDtl``) or invoice (``InvcDtl``) rows."""
    return tuple(OrderLine(line_no=int(d[line_field]), sku=d.get("PartNum") or "",
                           description=d.get("LineDesc") or "", quantity=qty(d[qty_field]),
                           unit_price=money(d["DocUnitPrice"], currency))
                 for d in sorted(rows, key=lambda d: d[line_field]))


def read(a: EpicorAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    rows = a.lookups.rows(DocKind.SALES_ORDER, ids, None, "OrderDtls", "OrderNum")
    custs = a.lookups.customer_ext(rows)
    out = []
    for r in rows:
        def make(r: Row = r) -> SalesOrder:
            cur = r["CurrencyCode"]
            return SalesOrder(external_id=r["PONum"], customer=custs[r["CustNum"]],
                              order_date=pdate(r["OrderDate"]), currency=cur,
                              lines=order_lines(r.get("OrderDtls") or [], "OrderLine",
                                                "SellingQuantity", cur))
        rec = a.lookups.build(DocKind.SALES_ORDER, r, make)
        if rec:
            out.append(rec)
    return out
