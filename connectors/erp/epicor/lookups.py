"""Finding Epicor records by the product's natural keys (the Stripe ids).

Natural keys: ``Customer.ExternalID``, ``OrderHed.PONum``, ``InvcHead.ExternalID``
(also ``PONum``), ``CashHead.CheckRef``, ``GLJrnHed.Description``,
``PartTran.TranReference`` (the ``Reference`` of an inventory adjustment) and
``BankTran.TranRef`` (payout transfers).  Lookups are batched OData ``$filter``
queries (or-chains of ``eq``, or ``in``), at most 100 ids and ``EPICOR_MAX_QUERY_CHARS``
characters of query string per call, paged with ``$top``/``$skip``.  String
comparisons on SQL Server are case-insensitive, so matches are re-checked exactly here.
"""
from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from domain.erp import DocKind, Document, ErpRef
from domain.money import Money

from ..base import ErpRecord
from .http import EpicorHttp
from .values import MAX_ROWS, Row, dec, quote

log = logging.getLogger(__name__)

# kind -> (service/entity set, natural-key field, $select for lookups)
LOOKUP: dict[DocKind, tuple[str, str, str]] = {
    DocKind.CUSTOMER: ("Erp.BO.CustomerSvc/Customers", "ExternalID",
                       "CustNum,CustID,ExternalID,CurrencyCode"),
    DocKind.SALES_ORDER: ("Erp.BO.SalesOrderSvc/SalesOrders", "PONum",
                          "OrderNum,PONum,CustNum,CurrencyCode"),
    DocKind.INVOICE: ("Erp.BO.ARInvoiceSvc/ARInvoices", "ExternalID",
                      "InvoiceNum,ExternalID,CustNum,CurrencyCode"),
    DocKind.PAYMENT: ("Erp.BO.CashRecSvc/CashRecs", "CheckRef", "GroupID,HeadNum,CheckRef"),
    DocKind.JOURNAL: ("Erp.BO.GLJournalEntrySvc/GLJournalEntries", "Description",
                      "BookID,FiscalYear,FiscalYearSuffix,JournalCode,JournalNum,"
                      "FiscalCalendarID,Description"),
    DocKind.INVENTORY: ("Erp.BO.PartTranHistSvc/PartTranHists", "TranReference",
                        "SysDate,SysTime,TranNum,TranReference"),
    DocKind.DEPOSIT: ("Erp.BO.BankAdjEntrySvc/BankTrans", "TranRef",
                      "BankAcctID,TranNum,TranRef,TranAmt"),
}
# key fields kept per document for later references (payments -> invoices, ...)
KEEP: dict[DocKind, tuple[str, ...]] = {
    DocKind.CUSTOMER: ("CustNum", "CurrencyCode"),
    DocKind.SALES_ORDER: ("OrderNum", "CustNum", "CurrencyCode"),
    DocKind.INVOICE: ("InvoiceNum", "CustNum", "CurrencyCode"),
}


class EpicorLookups:
    """Exact, batched lookups and the refs/keys of documents already seen."""

    def __init__(self, api: EpicorHttp, *, max_query_chars: int = 2000,
                 filter_style: str = "or") -> None:
        self.api = api
        self.max_query_chars = max(200, max_query_chars)
        if filter_style not in ("or", "in"):
            raise ValueError("EPICOR_FILTER_STYLE must be 'or' or 'in'")
        self.filter_style = filter_style
        self.refs: dict[DocKind, dict[str, ErpRef]] = {k: {} for k in DocKind}
        self.keys: dict[DocKind, dict[str, Row]] = {k: {} for k in DocKind}

    def _filters(self, fieldname: str, values: Sequence[Any], fixed_chars: int) -> list[str]:
        """$filter texts matching ``fieldname`` to the values, within the URL budget."""
        out: list[str] = []
        budget = self.max_query_chars - fixed_chars
        cur: list[str] = []
        cost = 0
        if self.filter_style == "in":
            head = len(urllib.parse.quote(f"{fieldname} in ()"))
            sep = len(urllib.parse.quote(","))
            terms = [quote(v) for v in values]
        else:
            head = 0
            sep = len(urllib.parse.quote(" or "))
            terms = [f"{fieldname} eq {quote(v)}" for v in values]
        for term in terms:
            tcost = len(urllib.parse.quote(term)) + sep
            if cur and (len(cur) >= MAX_ROWS or head + cost + tcost > budget):
                out.append(self._join(fieldname, cur))
                cur, cost = [], 0
            cur.append(term)
            cost += tcost
        if cur:
            out.append(self._join(fieldname, cur))
        return out

    def _join(self, fieldname: str, terms: list[str]) -> str:
        if self.filter_style == "in":
            return f"{fieldname} in ({','.join(terms)})"
        return " or ".join(terms)

    def lookup(self, path: str, fieldname: str, values: Iterable[Any], select: str,
               expand: str | None = None) -> list[Row]:
        """Rows whose ``fieldname`` equals one of ``values`` exactly (case-sensitive)."""
        wanted = list(dict.fromkeys(v for v in values if v not in (None, "")))
        if not wanted:
            return []
        fixed = len(path) + len(urllib.parse.quote(select)) + 60 + (
            len(urllib.parse.quote(expand)) if expand else 0)
        rows: list[Row] = []
        exact = set(wanted)
        for flt in self._filters(fieldname, wanted, fixed):
            rows.extend(r for r in self.api.query(path, flt, select, expand)
                        if r.get(fieldname) in exact)
        return rows

    def find(self, kind: DocKind, external_ids: Sequence[str]) -> dict[str, ErpRef]:
        path, fieldname, select = LOOKUP[kind]
        out: dict[str, ErpRef] = {}
        rows = self.lookup(path, fieldname, external_ids, select)
        if kind is DocKind.DEPOSIT:  # two legs per transfer: report the source leg
            rows.sort(key=lambda r: dec(r.get("TranAmt")) >= 0)
        for row in rows:
            ext = row[fieldname]
            if ext not in out:
                out[ext] = self.remember(kind, ext, row)
        return out

    def ref(self, kind: DocKind, row: Row) -> str:
        co = self.api.company
        if kind is DocKind.CUSTOMER:
            return f"{co}/{row['CustNum']}"
        if kind is DocKind.SALES_ORDER:
            return f"{co}/{row['OrderNum']}"
        if kind is DocKind.INVOICE:
            return f"{co}/{row['InvoiceNum']}"
        if kind is DocKind.PAYMENT:
            return f"{co}/{row['GroupID']}/{row['HeadNum']}"
        if kind is DocKind.JOURNAL:
            return (f"{co}/{row['BookID']}/{row['FiscalYear']}/{row['JournalCode']}/"
                    f"{row['JournalNum']}")
        if kind is DocKind.INVENTORY:
            return f"{co}/PartTran/{row['TranNum']}"
        return f"{co}/{row['BankAcctID']}/{row['TranNum']}"

    def remember(self, kind: DocKind, ext: str, row: Row) -> ErpRef:
        ref = ErpRef(erp="epicor", kind=kind, id=self.ref(kind, row), external_id=ext)
        self.refs[kind][ext] = ref
        keep = KEEP.get(kind)
        if keep:
            self.keys[kind][ext] = {k: row[k] for k in keep if k in row}
        return ref

    def resolve(self, kind: DocKind, external_ids: Iterable[str]) -> dict[str, Row]:
        """Key rows (CustNum, OrderNum, InvoiceNum ...) of referenced documents, cached."""
        ids = list(dict.fromkeys(external_ids))
        missing = [e for e in ids if e not in self.keys[kind]]
        if missing:
            self.find(kind, missing)
        return {e: self.keys[kind][e] for e in ids if e in self.keys[kind]}

    def ext_by_num(self, path: str, num_field: str, ext_field: str, nums: Iterable[Any]
                   ) -> dict[Any, str]:
        """``num_field`` -> ``ext_field`` for the given record numbers."""
        rows = self.lookup(path, num_field, {n for n in nums if n}, f"{num_field},{ext_field}")
        return {r[num_field]: r[ext_field] for r in rows}

    def customer_ext(self, rows: Iterable[Row]) -> dict[Any, str]:
        """CustNum -> Stripe customer id for the rows' customers."""
        return self.ext_by_num("Erp.BO.CustomerSvc/Customers", "CustNum", "ExternalID",
                               (r["CustNum"] for r in rows))

    def rows(self, kind: DocKind, external_ids: Sequence[str] | None, select: str | None,
             expand: str | None, orderby: str) -> list[Row]:
        """Rows of ``kind`` with these natural keys (None: every row the product made)."""
        path, fieldname, _ = LOOKUP[kind]
        if external_ids is None:
            return self.api.query(path, f"{fieldname} ne ''", select, expand, orderby)
        return self.lookup(path, fieldname, external_ids, select or "*", expand)

    def build(self, kind: DocKind, row: Row, make: Callable[[], Document],
              balance: Money | None = None) -> ErpRecord | None:
        """The record ``make()`` reads from ``row``; None (logged) if it cannot be read."""
        try:
            doc = make()
        except (ValueError, KeyError) as exc:
            log.warning("Epicor %s %s cannot be read as a canonical document: %s", kind.value,
                        row.get(LOOKUP[kind][1]), exc)
            return None
        ref = ErpRef(erp="epicor", kind=kind, id=self.ref(kind, row),
                     external_id=doc.external_id)
        return ErpRecord(ref, doc, balance)
