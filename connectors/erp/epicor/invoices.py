"""Epicor AR invoices (``Erp.BO.ARInvoiceSvc``) in daily invoice groups: the Stripe id in
``InvcHead.ExternalID`` (and ``PONum``)."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.erp import DocKind, Invoice
from domain.money import Money, to_decimal

from ..base import ErpRecord, ErpValidationError
from .customers import customers_of
from .groups import groups_for
from .sales_orders import order_lines
from .updates import Created, update_docs
from .values import Row, edate, guid, money, pdate

if TYPE_CHECKING:
    from .adapter import EpicorAdapter

log = logging.getLogger(__name__)


def create(a: EpicorAdapter, docs: list[Invoice]) -> Created:
    errors: dict[str, ErpValidationError] = {}
    custs = customers_of(a, docs, errors)
    orders = a.lookups.resolve(DocKind.SALES_ORDER, [d.order for d in docs if d.order])
    for doc in docs:
        if doc.order and doc.order not in orders and doc.external_id not in errors:
            errors[doc.external_id] = ErpValidationError(
                f"Sales order {doc.order} not found in Epicor (OrderHed.PONum).",
                field="OrderNum", code="NotFound")
    ok = [d for d in docs if d.external_id not in errors]
    groups = groups_for(a, DocKind.INVOICE, [d.invoice_date for d in ok], {})
    heads, lines, owners = [], [], {}
    for n, doc in enumerate(ok):
        group = groups[doc.invoice_date]
        if isinstance(group, ErpValidationError):
            errors[doc.external_id] = group
            continue
        temp = -(n + 1)
        sysrow = guid()
        owners[sysrow] = doc.external_id
        order_num = orders[doc.order]["OrderNum"] if doc.order else 0
        heads.append({"InvoiceNum": temp, "GroupID": group,
                      "InvoiceType": a.order_invoice_type if doc.order else "Mis",
                      "CustNum": custs[doc.customer]["CustNum"], "OrderNum": order_num,
                      "PONum": doc.external_id, "ExternalID": doc.external_id,
                      "InvoiceDate": edate(doc.invoice_date), "DueDate": edate(doc.due_date),
                      "CurrencyCode": doc.currency, "SysRowID": sysrow, "RowMod": "A"})
        for line in doc.lines:
            lrow = guid()
            owners[lrow] = doc.external_id
            lines.append({"InvoiceNum": temp, "InvoiceLine": line.line_no,
                          "PartNum": line.sku, "LineDesc": line.description,
                          "SellingShipQty": line.quantity, "OrderNum": order_num,
                          "DocUnitPrice": to_decimal(line.unit_price.amount, doc.currency),
                          "SysRowID": lrow, "RowMod": "A"})
    return update_docs(a, "Erp.BO.ARInvoiceSvc", "InvcHead", heads, "InvcDtl", lines, owners,
                       DocKind.INVOICE, errors)


def read(a: EpicorAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    rows = a.lookups.rows(DocKind.INVOICE, ids, None, "InvcDtls", "InvoiceNum")
    custs = a.lookups.customer_ext(rows)
    orders = a.lookups.ext_by_num("Erp.BO.SalesOrderSvc/SalesOrders", "OrderNum", "PONum",
                                  (r["OrderNum"] for r in rows))
    out = []
    for r in rows:
        cur = r["CurrencyCode"]

        def make(r: Row = r, cur: str = cur) -> Invoice:
            lines = order_lines(r.get("InvcDtls") or [], "InvoiceLine", "SellingShipQty", cur)
            total = money(r["DocInvoiceAmt"], cur)
            computed = sum(int(ln.unit_price.amount * ln.quantity) for ln in lines)
            if computed != total.amount:  # Epicor rounds each line; keep the ERP's lines
                log.warning("Epicor invoice %s total %s differs from its lines",
                            r.get("InvoiceNum"), total)
                total = Money(computed, cur)
            return Invoice(external_id=r["ExternalID"], order=orders.get(r["OrderNum"]),
                           customer=custs[r["CustNum"]], invoice_date=pdate(r["InvoiceDate"]),
                           due_date=pdate(r["DueDate"] or r["InvoiceDate"]),
                           currency=cur, lines=lines, total=total)
        rec = a.lookups.build(DocKind.INVOICE, r, make, money(r["DocInvoiceBal"], cur))
        if rec:
            out.append(rec)
    return out
