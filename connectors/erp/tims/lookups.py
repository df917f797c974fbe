"""Finding TIMS documents by ``externalReference`` (the Stripe id) and resolving the
customer, order and invoice keys documents refer to.

Values go comma-separated in one query parameter, ≤ 200 per request (the page size,
so one page holds every match): one GET when that suffices, else a ``/batch`` of GETs.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from domain.erp import (CreditMemo, CustomerRefund, DocKind, Document, ErpRef, Invoice, Payment,
                        SalesOrder)

from .http import MAX_BATCH, PAGE_SIZE, TimsHttp, problem_error
from .values import chunks

MAX_URL = 6000           # longer lookups go through /batch instead of one GET
PAGES_PER_BATCH = 50     # further pages of a list per /batch: ≤ 10,000 items an answer


@dataclass(frozen=True)
class Resource:
    path: str
    key: str             # the ERP-assigned key field


RESOURCES: dict[DocKind, Resource] = {
    DocKind.CUSTOMER: Resource("/customers", "customerCode"),
    DocKind.SALES_ORDER: Resource("/salesorders", "orderNumber"),
    DocKind.INVOICE: Resource("/accounts/receivable/invoices", "invoiceNumber"),
    DocKind.PAYMENT: Resource("/accounts/receivable/payments", "paymentNumber"),
    DocKind.CREDIT_MEMO: Resource("/accounts/receivable/creditmemos", "creditMemoNumber"),
    DocKind.CUSTOMER_REFUND: Resource("/accounts/receivable/refunds", "refundNumber"),
    DocKind.JOURNAL: Resource("/generalledger/journalentries", "journalEntryId"),
    DocKind.INVENTORY: Resource("/inventory/adjustments", "adjustmentId"),
    DocKind.DEPOSIT: Resource("/banking/deposits", "depositId"),
}
BANK_ACCOUNTS = "/banking/accounts"
Query = tuple[str, str | None, Sequence[str] | None]


class Unresolved(Exception):
    """A referenced document (customer, order, invoice) is not in TIMS."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


class TimsLookups:
    """Batched lookups and the keys of documents already seen (both directions)."""

    def __init__(self, api: TimsHttp) -> None:
        self.api = api
        self.codes: dict[DocKind, dict[str, str]] = {k: {} for k in RESOURCES}  # ext -> key
        self.exts: dict[DocKind, dict[str, str]] = {k: {} for k in RESOURCES}   # key -> ext
        self.banks: list[dict[str, Any]] | None = None

    def lookup(self, queries: list[Query]) -> list[list[dict[str, Any]]]:
        """Items for each ``(path, filter, values)`` (``filter`` None: the first page of all)."""
        subs: list[tuple[int, str]] = []
        for qi, (path, param, vals) in enumerate(queries):
            if param is None:
                subs.append((qi, f"{path}?pageSize={PAGE_SIZE}"))
                continue
            unique = list(dict.fromkeys(v for v in vals or () if v))
            for chunk in chunks(unique, PAGE_SIZE):
                subs.append((qi, f"{path}?" + urlencode({param: ",".join(chunk),
                                                         "pageSize": PAGE_SIZE})))
        out: list[list[dict[str, Any]]] = [[] for _ in queries]
        if len(subs) == 1 and len(subs[0][1]) <= MAX_URL:
            qi, url = subs[0]
            out[qi].extend(self.all_pages(url, self.api.get(url)))
            return out
        for group in chunks(subs, MAX_BATCH):
            responses = self.api.batch([{"method": "GET", "path": url} for _, url in group],
                                       write=False)
            for (qi, url), sub in zip(group, responses):
                if sub.get("status") != 200:
                    raise problem_error(int(sub.get("status") or 0), sub.get("body"))
                out[qi].extend(self.all_pages(url, sub["body"]))
        return out

    def all_pages(self, url: str, first: dict[str, Any]) -> list[dict[str, Any]]:
        """The items of every page of the list whose first page is ``first``: the other
        pages in one GET, or in ``/batch`` GETs of 50 pages when there are several."""
        items = list(first.get("items") or [])
        size = max(1, int(first.get("pageSize") or PAGE_SIZE))
        pages = -(-int(first.get("totalCount") or 0) // size)
        urls = [f"{url}&page={n}" for n in range(int(first.get("page") or 1) + 1, pages + 1)]
        if len(urls) == 1:
            return items + list(self.api.get(urls[0]).get("items") or [])
        for group in chunks(urls, PAGES_PER_BATCH):
            for sub in self.api.batch([{"method": "GET", "path": u} for u in group],
                                      write=False):
                if sub.get("status") != 200:
                    raise problem_error(int(sub.get("status") or 0), sub.get("body"))
                items.extend(sub["body"].get("items") or [])
        return items

    def every_page(self, path_and_query: str) -> list[dict[str, Any]]:
        """Every item of a paged list (``path?query``), 200 a page."""
        url = f"{path_and_query}{'&' if '?' in path_and_query else '?'}pageSize={PAGE_SIZE}"
        return self.all_pages(url, self.api.get(url))

    def remember(self, kind: DocKind, item: dict[str, Any]) -> ErpRef:
        key = str(item[RESOURCES[kind].key])
        ext = item.get("externalReference") or ""
        if ext:
            self.codes[kind][ext] = key
            self.exts[kind][key] = ext
        return ErpRef(erp="tims", kind=kind, id=key, external_id=ext)

    def find(self, kind: DocKind, external_ids: Sequence[str]) -> dict[str, ErpRef]:
        [items] = self.lookup([(RESOURCES[kind].path, "externalReference", external_ids)])
        wanted = set(external_ids)
        return {ref.external_id: ref for ref in (self.remember(kind, it) for it in items)
                if ref.external_id in wanted}

    @staticmethod
    def _references(docs: Iterable[Document]) -> dict[DocKind, set[str]]:
        refs: dict[DocKind, set[str]] = {}
        for d in docs:
            if isinstance(d, (SalesOrder, Invoice, Payment, CreditMemo, CustomerRefund)):
                refs.setdefault(DocKind.CUSTOMER, set()).add(d.customer)
            if isinstance(d, CreditMemo):
                refs.setdefault(DocKind.INVOICE, set()).add(d.invoice)
            if isinstance(d, CustomerRefund):
                refs.setdefault(DocKind.CREDIT_MEMO, set()).add(d.credit_memo)
            if isinstance(d, Invoice) and d.order:
                refs.setdefault(DocKind.SALES_ORDER, set()).add(d.order)
            if isinstance(d, Payment):
                refs.setdefault(DocKind.INVOICE, set()).update(a.invoice for a in d.applications)
        return refs

    def find_with_refs(self, kind: DocKind, docs: list[Document]) -> dict[str, dict[str, Any]]:
        """Existing documents by external id; caches the keys of what they reference."""
        queries: list[Query] = [
            (RESOURCES[kind].path, "externalReference", [d.external_id for d in docs])]
        ref_kinds = []
        for rk, exts in self._references(docs).items():
            missing = sorted(e for e in exts if e not in self.codes[rk])
            if missing:
                queries.append((RESOURCES[rk].path, "externalReference", missing))
                ref_kinds.append(rk)
        want_banks = kind in (DocKind.PAYMENT, DocKind.CUSTOMER_REFUND,
                              DocKind.DEPOSIT) and self.banks is None
        if want_banks:
            queries.append((BANK_ACCOUNTS, None, None))
        results = self.lookup(queries)
        for rk, items in zip(ref_kinds, results[1:]):
            for it in items:
                self.remember(rk, it)
        if want_banks:
            self.banks = results[-1]
        found = {}
        for it in results[0]:
            self.remember(kind, it)
            found[it.get("externalReference")] = it
        return found

    def resolve_keys(self, kind: DocKind, items: list[dict[str, Any]]) -> None:
        """Fetch the external ids behind the customer/order/invoice keys the items carry."""
        wanted: dict[DocKind, set[str]] = {}
        for it in items:
            if kind in (DocKind.SALES_ORDER, DocKind.INVOICE, DocKind.PAYMENT,
                        DocKind.CREDIT_MEMO, DocKind.CUSTOMER_REFUND):
                wanted.setdefault(DocKind.CUSTOMER, set()).add(it["customerCode"])
            if kind == DocKind.CREDIT_MEMO and it.get("invoiceNumber"):
                wanted.setdefault(DocKind.INVOICE, set()).add(it["invoiceNumber"])
            if kind == DocKind.CUSTOMER_REFUND:
                wanted.setdefault(DocKind.CREDIT_MEMO, set()).add(it["creditMemoNumber"])
            if kind == DocKind.INVOICE and it.get("orderNumber"):
                wanted.setdefault(DocKind.SALES_ORDER, set()).add(it["orderNumber"])
            if kind == DocKind.PAYMENT:
                wanted.setdefault(DocKind.INVOICE, set()).update(
                    a["invoiceNumber"] for a in it.get("applications") or [])
        queries: list[Query] = []
        kinds = []
        for rk, keys in wanted.items():
            missing = sorted(k for k in keys if k not in self.exts[rk])
            if missing:
                queries.append((RESOURCES[rk].path, RESOURCES[rk].key, missing))
                kinds.append(rk)
        want_banks = kind == DocKind.DEPOSIT and self.banks is None
        if want_banks:
            queries.append((BANK_ACCOUNTS, None, None))
        if not queries:
            return
        results = self.lookup(queries)
        for rk, found in zip(kinds, results):
            for it in found:
                self.remember(rk, it)
        if want_banks:
            self.banks = results[-1]

    def ext_of(self, kind: DocKind, key: str | None) -> str:
        """The Stripe id behind a TIMS key (the key itself if unknown)."""
        return self.exts[kind].get(key or "", key or "")

    def code(self, kind: DocKind, ext: str, field: str) -> str:
        """The TIMS key of a referenced document; :class:`Unresolved` if it is not in TIMS."""
        code = self.codes[kind].get(ext)
        if code is None:
            what = {DocKind.CUSTOMER: "Customer", DocKind.SALES_ORDER: "Sales order",
                    DocKind.INVOICE: "Invoice"}[kind]
            raise Unresolved(field, f"{what} with externalReference {ext} does not exist in "
                                    f"TIMS")
        return code

    def bank_id(self, value: str) -> str:
        """A TIMS bank account id, given one or the GL account number of one."""
        banks = self.banks or []
        if any(b.get("bankAccountId") == value for b in banks):
            return value
        by_gl = [b["bankAccountId"] for b in banks if b.get("glAccountNumber") == value]
        return by_gl[0] if len(by_gl) == 1 else value
