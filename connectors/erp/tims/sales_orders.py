"""TIMS sales orders (``/salesorders``; key ``orderNumber``)."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from domain.erp import DocKind, SalesOrder

from .values import lines_in, lines_out

if TYPE_CHECKING:
    from .adapter import TimsAdapter

PATH = "/salesorders"


def payload(a: TimsAdapter, doc: SalesOrder) -> tuple[str, dict[str, Any]]:
    return PATH, {
        "customerCode": a.lookups.code(DocKind.CUSTOMER, doc.customer, "customerCode"),
        "locationId": a.location, "orderDate": doc.order_date,
        "currency": doc.currency, "externalReference": doc.external_id,
        "lines": lines_out(doc.lines)}


def record(a: TimsAdapter, it: dict[str, Any], ext: str) -> SalesOrder:
    return SalesOrder(external_id=ext, order_date=date.fromisoformat(it["orderDate"]),
                      customer=a.lookups.ext_of(DocKind.CUSTOMER, it["customerCode"]),
                      currency=it["currency"], lines=lines_in(it["lines"], it["currency"]))
