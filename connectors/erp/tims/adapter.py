"""TIMS (Computers Unlimited) adapter over our proposed TIMS REST contract.

Requests and authentication are in ``http``; lookups in ``lookups``; one module per
document family (its payload and how it reads back); the general ledger in ``ledger``.

TIMS publishes no API specification; this adapter speaks our contract,
``sandbox/tims/CONTRACT.md`` (reference §6.3): base ``…/api/v1``, OAuth2 client
credentials at ``/oauth/token``, JSON bodies with amounts as numbers in major
units, RFC 7807 problems, ``externalReference`` as the natural key (unique per
resource, 409 + ``existingId`` on a duplicate), ``Idempotency-Key`` on writes
and ``POST /batch`` (≤ 500 independent sub-requests).

Costs per ``post()`` of ≤ 500 documents: one lookup call (a GET with a
comma-separated ``externalReference`` list, or a ``/batch`` of such GETs when
several lookups are needed: the documents themselves plus the customers,
orders or invoices they reference that are not cached) and one ``/batch`` of
creates.  After a transient failure of the create call the adapter looks the
documents up again before re-sending only the missing ones (with the same
idempotency keys), so a lost response never duplicates a document.

Settings (``from_env``): ``ERP_BASE_URL`` (e.g. ``https://tims.example.com/api/v1``),
``TIMS_CLIENT_ID``, ``TIMS_CLIENT_SECRET``; optional ``TIMS_LOCATION`` (order
location, default ``MAIN``), ``TIMS_TIMEOUT`` (seconds, default 30),
``TIMS_BATCH_SIZE`` (default 500).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import orjson

from domain.erp import DocKind, Document, ErpRef
from domain.subscriptions import CustomerSubscription

from ..base import (ErpAdapter, ErpError, ErpRecord, ErpTransientError, ErpValidationError,
                    GlLine, PostResult, one_kind)
from ..retry import RetryPolicy
from . import (cash_receipts, customers, deposits, inventory, invoices, journals, ledger,
               sales_orders, subscriptions)
from .credit_memos import Memos, Refunds
from .http import MAX_BATCH, TimsHttp, problem_error
from .lookups import RESOURCES, TimsLookups, Unresolved
from .values import CUSTOMER_LIMITS, chunks, json_default

FAMILIES = {DocKind.CUSTOMER: customers, DocKind.SALES_ORDER: sales_orders,
            DocKind.INVOICE: invoices, DocKind.PAYMENT: cash_receipts,
            DocKind.CREDIT_MEMO: Memos, DocKind.CUSTOMER_REFUND: Refunds,
            DocKind.JOURNAL: journals, DocKind.INVENTORY: inventory,
            DocKind.DEPOSIT: deposits}
Payload = Callable[[Any, Any], tuple[str, dict[str, Any]]]


class TimsAdapter(ErpAdapter):
    erp = "tims"
    field_limits = CUSTOMER_LIMITS
    posts_invoice_tax = True           # taxAmount, posted to the posting setup's tax account
    kinds = ErpAdapter.kinds | {DocKind.CREDIT_MEMO, DocKind.CUSTOMER_REFUND}

    def __init__(self, base_url: str, client_id: str, client_secret: str, *,
                 location: str = "MAIN", timeout: float = 30.0, batch_size: int = MAX_BATCH,
                 retry: RetryPolicy | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.location = location
        self.batch_size = max(1, min(int(batch_size), MAX_BATCH))
        self.retry_policy = retry or RetryPolicy()
        self.api = TimsHttp(self.base_url, client_id, client_secret, policy=self.retry_policy,
                            timeout=timeout)
        self.lookups = TimsLookups(self.api)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TimsAdapter:
        missing = [n for n in ("ERP_BASE_URL", "TIMS_CLIENT_ID", "TIMS_CLIENT_SECRET")
                   if not env.get(n)]
        if missing:
            raise ValueError(f"TIMS adapter needs {', '.join(missing)}")
        return cls(env["ERP_BASE_URL"], env["TIMS_CLIENT_ID"], env["TIMS_CLIENT_SECRET"],
                   location=env.get("TIMS_LOCATION") or "MAIN",
                   timeout=float(env.get("TIMS_TIMEOUT") or 30),
                   batch_size=int(env.get("TIMS_BATCH_SIZE") or MAX_BATCH),
                   retry=RetryPolicy.from_env(env))

    def __repr__(self) -> str:
        return f"TimsAdapter(base_url={self.base_url!r}, client_id={self.client_id!r})"

    @property
    def calls(self) -> int:
        return self.api.calls

    def close(self) -> None:
        self.api.close()

    def health(self) -> None:
        self.api.get("/generalledger/accounts?pageSize=1")

    def find(self, kind: DocKind, external_ids: Sequence[str]) -> dict[str, ErpRef]:
        return self.lookups.find(DocKind(kind), external_ids)

    # ------------------------------------------------------------------ posting
    def post(self, docs: Sequence[Document]) -> list[PostResult]:
        if not docs:
            return []
        kind = one_kind(docs)
        first: dict[str, Document] = {}
        for d in docs:
            first.setdefault(d.external_id, d)
        unique = list(first.values())
        results: dict[str, PostResult] = {}
        for chunk in chunks(unique, self.batch_size):
            results.update(self._post_chunk(kind, list(chunk)))
        out, seen = [], set()
        for d in docs:
            res = results[d.external_id]
            if d.external_id in seen and res.ok:  # a repeat within the input: found
                res = PostResult(d.external_id, res.ref, created=False)
            seen.add(d.external_id)
            out.append(res)
        return out

    def _post_chunk(self, kind: DocKind, docs: list[Document]) -> dict[str, PostResult]:
        """Find, then create what is missing in one /batch; after a transient failure (of
        the call or of sub-requests) find again and re-send only what is still missing,
        with the same idempotency keys."""
        out: dict[str, PostResult] = {}
        pending = {d.external_id: d for d in docs}
        attempted: set[str] = set()   # sent in a create call whose outcome is unknown
        payload: Payload = FAMILIES[kind].payload
        lookups = self.lookups

        def find_then_create() -> None:
            for ext, item in lookups.find_with_refs(kind, list(pending.values())).items():
                if ext in pending:
                    out[ext] = PostResult(ext, lookups.remember(kind, item),
                                          created=ext in attempted)
                    del pending[ext]
            requests, sent = [], []
            for ext, doc in list(pending.items()):
                try:
                    path, body = payload(self, doc)
                except Unresolved as exc:
                    out[ext] = PostResult(ext, error=ErpValidationError(
                        exc.message, field=exc.field, code="UNRESOLVED_REFERENCE"))
                    del pending[ext]
                    continue
                digest = hashlib.sha256(orjson.dumps(body, default=json_default)).hexdigest()
                requests.append({"method": "POST", "path": path, "body": body,
                                 "idempotencyKey": f"{kind.value}:{ext}:{digest[:20]}"})
                sent.append(ext)
            if not requests:
                return
            try:
                responses = self.api.batch(requests, write=True)
            except ErpTransientError:
                attempted.update(sent)
                raise
            failure: ErpTransientError | None = None
            for ext, sub in zip(sent, responses):
                status, body = int(sub.get("status") or 0), sub.get("body") or {}
                if status in (200, 201):
                    out[ext] = PostResult(ext, lookups.remember(kind, body), created=True)
                    del pending[ext]
                elif status == 409 and body.get("existingId"):
                    ref = ErpRef(erp=self.erp, kind=kind, id=str(body["existingId"]),
                                 external_id=ext)
                    lookups.codes[kind][ext], lookups.exts[kind][ref.id] = ref.id, ext
                    out[ext] = PostResult(ext, ref, created=ext in attempted)
                    del pending[ext]
                elif status == 429 or status >= 500:
                    attempted.add(ext)
                    failure = failure or ErpTransientError(f"HTTP {status}", status=status)
                else:
                    out[ext] = PostResult(ext, error=problem_error(status, body))
                    del pending[ext]
            if pending:   # back off, then find-then-create again
                raise failure or ErpTransientError("TIMS did not accept the batch")

        self.retry_policy.run(find_then_create)
        return out

    # ------------------------------------------------------------------ reading
    def read(self, kind: DocKind, external_ids: Sequence[str] | None = None
             ) -> list[ErpRecord]:
        kind = DocKind(kind)
        res = RESOURCES[kind]
        if external_ids is None:
            items = self.lookups.every_page(res.path)
        else:
            [items] = self.lookups.lookup([(res.path, "externalReference", external_ids)])
            order = {e: i for i, e in enumerate(external_ids)}
            items.sort(key=lambda it: order.get(it.get("externalReference"), len(order)))
        items = [it for it in items if it.get("externalReference")]
        self.lookups.resolve_keys(kind, items)
        return [self._record(kind, it) for it in items]

    def _record(self, kind: DocKind, it: dict[str, Any]) -> ErpRecord:
        ref = self.lookups.remember(kind, it)
        doc = FAMILIES[kind].record(self, it, ref.external_id)
        balance = invoices.open_balance(it) if kind is DocKind.INVOICE else None
        return ErpRecord(ref=ref, doc=doc, open_balance=balance)

    def on_hand(self, sku: str, location: str) -> Decimal:
        return inventory.on_hand(self, sku, location)

    # ------------------------------------------------------------------ subscriptions
    def read_subscriptions(self, customers: Sequence[str]
                           ) -> dict[str, CustomerSubscription | None]:
        return subscriptions.read(self, customers)

    def write_subscriptions(self, subs: Sequence[CustomerSubscription]
                            ) -> dict[str, ErpError | None]:
        return subscriptions.write(self, subs)

    # ------------------------------------------------------------------ general ledger
    def gl_lines(self, start: date | None, end: date) -> list[GlLine]:
        return ledger.gl_lines(self, start, end)

    def trial_balance(self, as_of: date) -> dict[tuple[str, str], int]:
        return ledger.trial_balance(self, as_of)
