"""An in-memory ERP behind the adapter interface, for posting-logic tests.

Validates like the sandboxes do (unknown customer, item, invoice, account;
over-application), counts calls, and can fail transiently or lose responses.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from connectors.erp.base import (ErpAdapter, ErpRecord, ErpTransientError, ErpValidationError,
                                 PostResult)
from domain.erp import Document, DocKind, ErpRef
from domain.money import Money

ACCOUNTS = {"1010", "1200", "1250", "1260", "1270", "1999", "2200", "2350", "2400", "2450", "4000",
            "4100", "4900", "4910", "6100", "6110", "6200", "6300", "6400", "6900", "7900"}


class FakeErp(ErpAdapter):
    erp = "fake"

    def __init__(self, items: set[str] | None = None) -> None:
        self.items = items if items is not None else (
            {f"SKU-{i:05d}" for i in range(1000, 1100)} | {"MISC"} | {f"SUB-{i:03d}" for i in range(1, 11)})
        self.docs: dict[DocKind, dict[str, Document]] = {k: {} for k in DocKind}
        self.balances: dict[str, int] = {}
        self.on_hand_qty: dict[str, Decimal] = {}
        self.n_calls = 0
        self.fail_next = 0          # transient failures before answering
        self.lose_next = 0          # act, then fail as if the answer was lost

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> FakeErp:
        return cls()

    def health(self) -> None:
        self.n_calls += 1

    @property
    def calls(self) -> int:
        return self.n_calls

    def find(self, kind: DocKind, external_ids: Sequence[str]) -> dict[str, ErpRef]:
        self.n_calls += 1
        return {e: self._ref(kind, e) for e in external_ids if e in self.docs[kind]}

    def _ref(self, kind: DocKind, ext: str) -> ErpRef:
        return ErpRef(erp=self.erp, kind=kind, id=f"{kind.value}-{ext}", external_id=ext)

    def post(self, docs: Sequence[Document]) -> list[PostResult]:
        self.n_calls += 1
        if self.fail_next:
            self.fail_next -= 1
            raise ErpTransientError("HTTP 503", status=503)
        out = []
        for doc in docs:
            store = self.docs[doc.kind]
            if doc.external_id in store:
                out.append(PostResult(doc.external_id, self._ref(doc.kind, doc.external_id)))
                continue
            problem = self._validate(doc)
            if problem:
                out.append(PostResult(doc.external_id, error=ErpValidationError(problem[1], field=problem[0], status=422)))
                continue
            self._apply(doc)
            store[doc.external_id] = doc
            out.append(PostResult(doc.external_id, self._ref(doc.kind, doc.external_id), created=True))
        if self.lose_next:
            self.lose_next -= 1
            raise ErpTransientError("connection dropped")
        return out

    def _validate(self, doc: Document) -> tuple[str, str] | None:
        k = doc.kind
        if k in (DocKind.SALES_ORDER, DocKind.INVOICE, DocKind.PAYMENT) and \
                doc.customer not in self.docs[DocKind.CUSTOMER]:
            return "customer", f"Customer {doc.customer} does not exist"
        if k in (DocKind.SALES_ORDER, DocKind.INVOICE):
            for line in doc.lines:
                if line.sku not in self.items:
                    return "sku", f"Item {line.sku} does not exist"
        if k == DocKind.PAYMENT:
            for app in doc.applications:
                if app.invoice not in self.docs[DocKind.INVOICE]:
                    return "invoice", f"Invoice {app.invoice} does not exist"
                if app.amount.amount > self.balances[app.invoice]:
                    return "amount", f"Over-application on invoice {app.invoice}"
        if k == DocKind.JOURNAL:
            for line in doc.lines:
                if line.account not in ACCOUNTS:
                    return "account", f"GL account {line.account} is not valid"
        if k == DocKind.INVENTORY and doc.sku not in self.items:
            return "sku", f"Item {doc.sku} does not exist"
        return None

    def _apply(self, doc: Document) -> None:
        if doc.kind == DocKind.INVOICE:
            self.balances[doc.external_id] = doc.total.amount
        elif doc.kind == DocKind.PAYMENT:
            for app in doc.applications:
                self.balances[app.invoice] -= app.amount.amount
        elif doc.kind == DocKind.INVENTORY:
            self.on_hand_qty[doc.sku] = self.on_hand_qty.get(doc.sku, Decimal(1_000_000)) + doc.delta

    def read(self, kind: DocKind, external_ids: Sequence[str] | None = None) -> list[ErpRecord]:
        self.n_calls += 1
        store = self.docs[kind]
        ids = list(store) if external_ids is None else [e for e in external_ids if e in store]
        return [ErpRecord(self._ref(kind, e), store[e],
                          Money(self.balances[e], store[e].currency) if kind == DocKind.INVOICE else None)
                for e in ids]

    def on_hand(self, sku: str, location: str) -> Decimal:
        return self.on_hand_qty.get(sku, Decimal(1_000_000))
