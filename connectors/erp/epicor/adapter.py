"""Epicor Kinetic REST API v2 adapter: configuration, find-then-create, reading back.

How each document family is written and read: ``customers``, ``sales_orders``,
``invoices``, ``cash_receipts``, ``journals``, ``inventory`` and ``deposits`` in this
package; requests and authentication in ``http``; natural-key lookups in ``lookups``;
posting groups (``groups``) and posting them through Epicor's posting services
(``posting``); the general ledger read through Epicor's GL detail service (``ledger``).

A write that fails transiently (timeout, dropped connection, 429, 5xx) is never
re-sent blindly: the adapter looks the batch up again and creates only what is
still missing, so a lost response cannot duplicate a document.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from domain.erp import DocKind, Document, ErpRef
from domain.subscriptions import CustomerSubscription

from ..base import (ErpAdapter, ErpAuthError, ErpError, ErpNotFound, ErpRecord,
                    ErpTransientError, ErpValidationError, GlLine, PostResult, one_kind)
from ..retry import RetryPolicy
from . import (cash_receipts, customers, deposits, inventory, invoices, journals, ledger,
               sales_orders)
from . import subscriptions
from .http import EpicorHttp
from .lookups import EpicorLookups
from .posting import POSTED_KINDS, post_pending
from .updates import Created
from .values import Row, chunks, parse_map

DEFAULT_BANKS = "1010=OPER,1250=STRIPE,1260=TRANSIT"

CREATORS: dict[DocKind, Callable[[EpicorAdapter, list[Any]], Created]] = {
    DocKind.CUSTOMER: customers.create, DocKind.SALES_ORDER: sales_orders.create,
    DocKind.INVOICE: invoices.create, DocKind.PAYMENT: cash_receipts.create,
    DocKind.JOURNAL: journals.create, DocKind.INVENTORY: inventory.create,
    DocKind.DEPOSIT: deposits.create,
}
READERS: dict[DocKind, Callable[[EpicorAdapter, Sequence[str] | None], list[ErpRecord]]] = {
    DocKind.CUSTOMER: customers.read, DocKind.SALES_ORDER: sales_orders.read,
    DocKind.INVOICE: invoices.read, DocKind.PAYMENT: cash_receipts.read,
    DocKind.JOURNAL: journals.read, DocKind.INVENTORY: inventory.read,
    DocKind.DEPOSIT: deposits.read,
}


class EpicorAdapter(ErpAdapter):
    erp = "epicor"
    field_limits = customers.CUSTOMER_LIMITS

    def __init__(self, base_url: str, *, api_key: str, username: str, password: str,
                 company: str, batch_size: int = 250, max_query_chars: int = 2000,
                 filter_style: str = "or", group_prefix: str = "S",
                 bank_accounts: Mapping[str, str] | None = None,
                 clearing_banks: Iterable[str] = ("STRIPE", "TRANSIT"), book_id: str = "MAIN",
                 journal_code: str = "GJ", timeout: float = 30.0, write_timeout: float = 120.0,
                 write_settle: float = 2.0, retry: RetryPolicy | None = None,
                 use_token: bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.company = company
        self.retry_policy = retry or RetryPolicy()
        self.api = EpicorHttp(self.base_url, api_key=api_key, username=username,
                              password=password, company=company, policy=self.retry_policy,
                              timeout=timeout, write_timeout=write_timeout, use_token=use_token)
        self.lookups = EpicorLookups(self.api, max_query_chars=max_query_chars,
                                     filter_style=filter_style)
        # after a write timed out the server may still be working: wait before looking up
        self.write_settle = write_settle
        self.batch_size = max(1, batch_size)
        self.group_prefix = group_prefix
        self.bank_accounts = dict(bank_accounts or parse_map(DEFAULT_BANKS))
        self.clearing_banks = set(clearing_banks)
        self.book_id, self.journal_code = book_id, journal_code
        self.groups: set[tuple[str, str]] = set()     # (table, GroupID) known to exist
        self.pay_methods: dict[str, int] = {}         # PayMethod.Name -> PMUID
        self.inv_templates: dict[str, Row] = {}       # PartNum -> GetInventoryQtyAdj row
        self.process_defaults: dict[str, Row] = {}    # posting service -> parameter row

    def __repr__(self) -> str:
        return f"EpicorAdapter(base_url={self.base_url!r}, company={self.company!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EpicorAdapter:
        missing = [n for n in ("ERP_BASE_URL", "EPICOR_API_KEY", "EPICOR_USERNAME",
                               "EPICOR_PASSWORD") if not env.get(n)]
        if missing:
            raise ValueError(f"Epicor adapter needs {', '.join(missing)}")
        return cls(
            env["ERP_BASE_URL"], api_key=env["EPICOR_API_KEY"],
            username=env["EPICOR_USERNAME"], password=env["EPICOR_PASSWORD"],
            company=env.get("EPICOR_COMPANY") or "EPIC06",
            batch_size=int(env.get("EPICOR_BATCH_SIZE") or 250),
            max_query_chars=int(env.get("EPICOR_MAX_QUERY_CHARS") or 2000),
            filter_style=(env.get("EPICOR_FILTER_STYLE") or "or").strip().lower(),
            group_prefix=env.get("EPICOR_GROUP_PREFIX") or "S",
            bank_accounts=parse_map(env.get("EPICOR_BANK_ACCOUNTS") or DEFAULT_BANKS),
            clearing_banks=[b.strip() for b in (env.get("EPICOR_CLEARING_BANKS") or "STRIPE,TRANSIT")
                            .split(",") if b.strip()],
            book_id=env.get("EPICOR_BOOK_ID") or "MAIN",
            journal_code=env.get("EPICOR_JOURNAL_CODE") or "GJ",
            timeout=float(env.get("EPICOR_TIMEOUT") or 30),
            write_timeout=float(env.get("EPICOR_WRITE_TIMEOUT") or 120),
            write_settle=float(env.get("EPICOR_WRITE_SETTLE") or 2),
            retry=RetryPolicy.from_env(env),
            use_token=(env.get("EPICOR_AUTH") or "token").strip().lower() != "basic")

    @property
    def calls(self) -> int:
        return self.api.calls

    def close(self) -> None:
        self.api.close()

    # -------------------------------------------------------------------------- contract
    def health(self) -> None:
        try:
            self.api.get("Erp.BO.BankAcctSvc/BankAccts", [("$select", "BankAcctID"),
                                                          ("$top", "1")])
        except ErpNotFound as exc:
            raise ErpAuthError(f"Epicor company or service not found: {exc.message}",
                               status=404) from None

    def find(self, kind: DocKind, external_ids: Sequence[str]) -> dict[str, ErpRef]:
        return self.lookups.find(kind, external_ids)

    def read(self, kind: DocKind, external_ids: Sequence[str] | None = None) -> list[ErpRecord]:
        return READERS[kind](self, external_ids)

    def on_hand(self, sku: str, location: str) -> Decimal:
        return inventory.on_hand(self, sku, location)

    def read_subscriptions(self, customers: Sequence[str]
                           ) -> dict[str, CustomerSubscription | None]:
        return subscriptions.read(self, customers)

    def write_subscriptions(self, subs: Sequence[CustomerSubscription]
                            ) -> dict[str, ErpError | None]:
        return subscriptions.write(self, subs)

    def gl_lines(self, start: date | None, end: date) -> list[GlLine]:
        return ledger.gl_lines(self, start, end)

    # -------------------------------------------------------------------------- post
    def post(self, docs: Sequence[Document]) -> list[PostResult]:
        if not docs:
            return []
        kind = one_kind(docs)
        first: dict[str, int] = {}
        for i, doc in enumerate(docs):
            first.setdefault(doc.external_id, i)
        unique = [docs[i] for i in sorted(first.values())]
        done: dict[str, PostResult] = {}
        for chunk in chunks(unique, self.batch_size):
            done.update(self._post_chunk(kind, list(chunk)))
        out = []
        for i, doc in enumerate(docs):
            res = done[doc.external_id]
            if first[doc.external_id] != i and res.ok:
                res = PostResult(doc.external_id, res.ref, created=False)
            out.append(res)
        return out

    def _settle(self, exc: Any) -> float:
        """After a write timed out the server may still be working: wait before looking up."""
        timed_out = isinstance(exc, ErpTransientError) and exc.status is None \
            and "Timeout" in exc.message
        return self.write_settle if timed_out else 0.0

    def _enter_chunk(self, kind: DocKind, docs: list[Document]) -> dict[str, PostResult]:
        out: dict[str, PostResult] = {}
        cached = self.lookups.refs[kind]
        for doc in docs:
            if doc.external_id in cached:
                out[doc.external_id] = PostResult(doc.external_id, cached[doc.external_id])
        pending = [d for d in docs if d.external_id not in out]
        if pending:
            for ext, ref in self.find(kind, [d.external_id for d in pending]).items():
                out[ext] = PostResult(ext, ref, created=False)
            pending = [d for d in pending if d.external_id not in out]
        if not pending:
            return out
        tried = False

        def create_missing() -> Created:
            nonlocal pending, tried
            if tried:  # the ERP may have acted before the failure: look up before creating
                for ext, ref in self.find(kind, [d.external_id for d in pending]).items():
                    out[ext] = PostResult(ext, ref, created=True)
                pending = [d for d in pending if d.external_id not in out]
            tried = True
            return CREATORS[kind](self, pending) if pending else ({}, {})

        created, errors = self.retry_policy.run(create_missing, settle=self._settle)
        for ext, ref in created.items():
            out[ext] = PostResult(ext, ref, created=True)
        for ext, err in errors.items():
            out.setdefault(ext, PostResult(ext, error=err))
        # a duplicate-key refusal means the document exists after all
        dup = [d.external_id for d in pending if d.external_id not in out or (
            out[d.external_id].error is not None
            and "Duplicate" in (out[d.external_id].error.code or ""))]
        if dup:
            for ext, ref in self.find(kind, dup).items():
                out[ext] = PostResult(ext, ref, created=False)
        for doc in pending:
            out.setdefault(doc.external_id, PostResult(doc.external_id, error=(
                ErpValidationError("Epicor returned neither the record nor an error"))))
        return out

    def _post_chunk(self, kind: DocKind, docs: list[Document]) -> dict[str, PostResult]:
        """Find-then-create, then post what is entered but not posted and check it."""
        out = self._enter_chunk(kind, docs)
        if kind in POSTED_KINDS:
            post_pending(self, kind, out)
        return out
