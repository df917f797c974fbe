"""TIMS (Computers Unlimited) adapter over our proposed TIMS REST contract.

TIMS publishes no API specification; this adapter speaks the contract in
``sandbox/tims/README.md`` (reference §6.3): base ``…/api/v1``, OAuth2 client
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
import json
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import orjson

from domain.erp import (Address, BankDeposit, Customer, DocKind, Document, ErpRef,
                        InventoryAdjustment, Invoice, JournalEntry, JournalLine, OrderLine,
                        Payment, PaymentApplication, SalesOrder)
from domain.money import Money, from_decimal, to_decimal

from .base import (ErpAdapter, ErpAuthError, ErpError, ErpHttp, ErpNotFound, ErpRecord,
                   ErpTransientError, ErpValidationError, PostResult, RetryPolicy, one_kind)

PAGE_SIZE = 200          # the API's maximum pageSize
MAX_BATCH = 500          # sub-requests per /batch
MAX_URL = 6000           # longer lookups go through /batch instead of one GET


@dataclass(frozen=True)
class _Resource:
    path: str
    key: str             # the ERP-assigned key field


RESOURCES: dict[DocKind, _Resource] = {
    DocKind.CUSTOMER: _Resource("/customers", "customerCode"),
    DocKind.SALES_ORDER: _Resource("/salesorders", "orderNumber"),
    DocKind.INVOICE: _Resource("/accounts/receivable/invoices", "invoiceNumber"),
    DocKind.PAYMENT: _Resource("/accounts/receivable/payments", "paymentNumber"),
    DocKind.JOURNAL: _Resource("/generalledger/journalentries", "journalEntryId"),
    DocKind.INVENTORY: _Resource("/inventory/adjustments", "adjustmentId"),
    DocKind.DEPOSIT: _Resource("/banking/deposits", "depositId"),
}
BANK_ACCOUNTS = "/banking/accounts"

# Free-text field lengths of the contract: longer text is truncated, keys never are.
_MAX = {"name": 60, "phone": 30, "line": 60, "city": 40, "state": 30, "postalCode": 15,
        "description": 100, "memo": 200, "reference": 50, "reasonCode": 10, "source": 20}


class _Secret:
    """A credential that never shows in repr, str or vars() dumps."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


class _Unresolved(Exception):
    """A referenced document (customer, order, invoice) is not in TIMS."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _cut(text: str | None, field: str) -> str | None:
    return None if text is None else text[:_MAX[field]]


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return orjson.Fragment(format(obj, "f").encode())
    if isinstance(obj, date):
        return obj.isoformat()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def _amount(money: Money) -> Decimal:
    return to_decimal(money.amount, money.currency)


def _money(value: Any, currency: str) -> Money:
    return Money(from_decimal(Decimal(str(value)), currency), currency)


def _chunks(seq: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def _problem_error(status: int, body: Any) -> ErpError:
    """The typed error for an RFC 7807 problem body (message = the ERP's ``detail``)."""
    body = body if isinstance(body, dict) else {}
    errors = body.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    message = body.get("detail") or body.get("title") or f"HTTP {status}"
    kw = {"status": status, "field": first.get("field"), "code": first.get("code"), "body": body}
    if status == 404:
        return ErpNotFound(message, **kw)
    if status in (401, 403):
        return ErpAuthError(message, **kw)
    if status in (400, 409, 422):
        return ErpValidationError(message, **kw)
    return ErpError(message, **kw)


class TimsAdapter(ErpAdapter):
    erp = "tims"

    def __init__(self, base_url: str, client_id: str, client_secret: str, *,
                 location: str = "MAIN", timeout: float = 30.0, batch_size: int = MAX_BATCH,
                 retry: RetryPolicy | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._secret = _Secret(client_secret)
        self.location = location
        self.batch_size = max(1, min(int(batch_size), MAX_BATCH))
        headers = {"Accept": "application/json"}
        self._http = ErpHttp(self.base_url, timeout=timeout, retry=retry or RetryPolicy(),
                             headers=headers)
        # Creates are never re-sent blindly: the adapter looks up again first (see post()).
        self._write = ErpHttp(self.base_url, timeout=timeout, retry=RetryPolicy(attempts=1),
                              headers=headers)
        self._token: str | None = None
        self._token_expires = 0.0
        self._codes: dict[DocKind, dict[str, str]] = {k: {} for k in RESOURCES}  # ext -> key
        self._exts: dict[DocKind, dict[str, str]] = {k: {} for k in RESOURCES}   # key -> ext
        self._banks: list[dict[str, Any]] | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TimsAdapter:
        missing = [n for n in ("ERP_BASE_URL", "TIMS_CLIENT_ID", "TIMS_CLIENT_SECRET")
                   if not env.get(n)]
        if missing:
            raise ValueError(f"TIMS adapter needs {', '.join(missing)}")
        return cls(env["ERP_BASE_URL"], env["TIMS_CLIENT_ID"], env["TIMS_CLIENT_SECRET"],
                   location=env.get("TIMS_LOCATION") or "MAIN",
                   timeout=float(env.get("TIMS_TIMEOUT") or 30),
                   batch_size=int(env.get("TIMS_BATCH_SIZE") or MAX_BATCH))

    def __repr__(self) -> str:
        return f"TimsAdapter(base_url={self.base_url!r}, client_id={self.client_id!r})"

    @property
    def calls(self) -> int:
        return self._http.calls + self._write.calls

    def close(self) -> None:
        self._http.close()
        self._write.close()

    # ------------------------------------------------------------------ HTTP + auth
    def _access_token(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        resp = self._http.request("POST", "/oauth/token", data={
            "grant_type": "client_credentials", "client_id": self.client_id,
            "client_secret": self._secret.value})
        try:
            data = resp.json()
        except ValueError:
            data = {}
        if resp.status_code != 200 or not data.get("access_token"):
            raise ErpAuthError(f"TIMS token request failed: HTTP {resp.status_code} "
                               f"{data.get('error', '')}: {data.get('error_description', '')}"
                               .rstrip(": "), status=resp.status_code,
                               code=data.get("error"))
        ttl = float(data.get("expires_in") or 3600)
        self._token = data["access_token"]
        self._token_expires = time.monotonic() + max(0.0, ttl - min(60.0, ttl / 10))
        return self._token

    def _call(self, method: str, path: str, *, write: bool = False,
              **kw: Any) -> httpx.Response:
        """One authenticated request (re-authenticating once on a 401)."""
        http = self._write if write else self._http
        extra = kw.pop("headers", {})
        for attempt in (1, 2):
            headers = {**extra, "Authorization": f"Bearer {self._access_token()}"}
            resp = http.request(method, path, headers=headers, **kw)
            if resp.status_code == 401 and attempt == 1:
                self._token = None  # expired or revoked: fetch a new one, once
                continue
            break
        if resp.status_code in (401, 403):
            raise _problem_error(resp.status_code, self._body(resp))
        return resp

    @staticmethod
    def _body(resp: httpx.Response) -> Any:
        try:
            return json.loads(resp.content, parse_float=Decimal)
        except ValueError:
            return {"detail": resp.text[:500]}

    def _get(self, path_and_query: str) -> dict[str, Any]:
        resp = self._call("GET", path_and_query)
        if resp.status_code != 200:
            raise _problem_error(resp.status_code, self._body(resp))
        return self._body(resp)

    def _batch(self, requests: list[dict[str, Any]], *, write: bool) -> list[dict[str, Any]]:
        """POST /batch; the sub-responses in order.  Reads retry 500s, writes never re-send."""
        payload = orjson.dumps({"requests": requests}, default=_json_default)
        resp = self._call("POST", "/batch", write=write, retry_500=not write, content=payload,
                          headers={"Content-Type": "application/json"})
        if resp.status_code >= 500:
            raise ErpTransientError(f"HTTP {resp.status_code}", status=resp.status_code,
                                    body=resp.text[:500])
        body = self._body(resp)
        if resp.status_code != 200:
            raise _problem_error(resp.status_code, body)
        responses = body.get("responses") or []
        if len(responses) != len(requests):
            raise ErpError(f"TIMS batch answered {len(responses)} of {len(requests)} requests")
        return responses

    def health(self) -> None:
        self._get("/generalledger/accounts?pageSize=1")

    # ------------------------------------------------------------------ lookups
    def _lookup(self, queries: list[tuple[str, str | None, Sequence[str] | None]]
                ) -> list[list[dict[str, Any]]]:
        """Items for each ``(path, filter, values)`` (``filter`` None: the first page of all).

        Values go comma-separated, ≤ 200 per request (the page size, so one
        page holds every match); one GET when that suffices, else one
        ``/batch`` of GETs per 500.
        """
        subs: list[tuple[int, str]] = []
        for qi, (path, param, vals) in enumerate(queries):
            if param is None:
                subs.append((qi, f"{path}?pageSize={PAGE_SIZE}"))
                continue
            unique = list(dict.fromkeys(v for v in vals or () if v))
            for chunk in _chunks(unique, PAGE_SIZE):
                subs.append((qi, f"{path}?" + urlencode({param: ",".join(chunk),
                                                         "pageSize": PAGE_SIZE})))
        out: list[list[dict[str, Any]]] = [[] for _ in queries]
        if len(subs) == 1 and len(subs[0][1]) <= MAX_URL:
            qi, url = subs[0]
            out[qi].extend(self._all_pages(url, self._get(url)))
            return out
        for group in _chunks(subs, MAX_BATCH):
            responses = self._batch([{"method": "GET", "path": url} for _, url in group],
                                    write=False)
            for (qi, url), sub in zip(group, responses):
                if sub.get("status") != 200:
                    raise _problem_error(int(sub.get("status") or 0), sub.get("body"))
                out[qi].extend(self._all_pages(url, sub["body"]))
        return out

    def _all_pages(self, url: str, first: dict[str, Any]) -> list[dict[str, Any]]:
        items = list(first.get("items") or [])
        page, total = int(first.get("page") or 1), int(first.get("totalCount") or 0)
        while len(items) < total and first.get("items"):
            page += 1
            first = self._get(f"{url}&page={page}")
            items.extend(first.get("items") or [])
        return items

    def _list_all(self, path: str) -> list[dict[str, Any]]:
        url = f"{path}?pageSize={PAGE_SIZE}"
        return self._all_pages(url, self._get(url))

    def _remember(self, kind: DocKind, item: dict[str, Any]) -> ErpRef:
        key = str(item[RESOURCES[kind].key])
        ext = item.get("externalReference") or ""
        if ext:
            self._codes[kind][ext] = key
            self._exts[kind][key] = ext
        return ErpRef(erp=self.erp, kind=kind, id=key, external_id=ext)

    def find(self, kind: DocKind, external_ids: Sequence[str]) -> dict[str, ErpRef]:
        kind = DocKind(kind)
        [items] = self._lookup([(RESOURCES[kind].path, "externalReference", external_ids)])
        wanted = set(external_ids)
        return {ref.external_id: ref for ref in (self._remember(kind, it) for it in items)
                if ref.external_id in wanted}

    @staticmethod
    def _references(kind: DocKind, docs: Iterable[Document]) -> dict[DocKind, set[str]]:
        refs: dict[DocKind, set[str]] = {}
        for d in docs:
            if isinstance(d, (SalesOrder, Invoice, Payment)):
                refs.setdefault(DocKind.CUSTOMER, set()).add(d.customer)
            if isinstance(d, Invoice) and d.order:
                refs.setdefault(DocKind.SALES_ORDER, set()).add(d.order)
            if isinstance(d, Payment):
                refs.setdefault(DocKind.INVOICE, set()).update(a.invoice for a in d.applications)
        return refs

    def _find_with_refs(self, kind: DocKind, docs: list[Document]
                        ) -> dict[str, dict[str, Any]]:
        """Existing documents by external id; caches the keys of what they reference."""
        queries: list[tuple[str, str | None, Sequence[str] | None]] = [
            (RESOURCES[kind].path, "externalReference", [d.external_id for d in docs])]
        ref_kinds = []
        for rk, exts in self._references(kind, docs).items():
            missing = sorted(e for e in exts if e not in self._codes[rk])
            if missing:
                queries.append((RESOURCES[rk].path, "externalReference", missing))
                ref_kinds.append(rk)
        want_banks = kind in (DocKind.PAYMENT, DocKind.DEPOSIT) and self._banks is None
        if want_banks:
            queries.append((BANK_ACCOUNTS, None, None))
        results = self._lookup(queries)
        for rk, items in zip(ref_kinds, results[1:]):
            for it in items:
                self._remember(rk, it)
        if want_banks:
            self._banks = results[-1]
        found = {}
        for it in results[0]:
            self._remember(kind, it)
            found[it.get("externalReference")] = it
        return found

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
        for chunk in _chunks(unique, self.batch_size):
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
        out: dict[str, PostResult] = {}
        pending = {d.external_id: d for d in docs}
        attempted: set[str] = set()   # sent in a create call whose outcome is unknown
        failures = 0
        while pending:
            for ext, item in self._find_with_refs(kind, list(pending.values())).items():
                if ext in pending:
                    out[ext] = PostResult(ext, self._remember(kind, item),
                                          created=ext in attempted)
                    del pending[ext]
            requests, sent = [], []
            for ext, doc in list(pending.items()):
                try:
                    path, body = self._payload(doc)
                except _Unresolved as exc:
                    out[ext] = PostResult(ext, error=ErpValidationError(
                        exc.message, field=exc.field, code="UNRESOLVED_REFERENCE"))
                    del pending[ext]
                    continue
                digest = hashlib.sha256(orjson.dumps(body, default=_json_default)).hexdigest()
                requests.append({"method": "POST", "path": path, "body": body,
                                 "idempotencyKey": f"{kind.value}:{ext}:{digest[:20]}"})
                sent.append(ext)
            if not requests:
                break
            retry_after: float | None = None
            try:
                responses = self._batch(requests, write=True)
            except ErpTransientError as exc:
                attempted.update(sent)
                responses, retry_after = [], exc.retry_after
                failure: ErpTransientError | None = exc
            else:
                failure = None
            for ext, sub in zip(sent, responses):
                status, body = int(sub.get("status") or 0), sub.get("body") or {}
                if status in (200, 201):
                    out[ext] = PostResult(ext, self._remember(kind, body), created=True)
                    del pending[ext]
                elif status == 409 and body.get("existingId"):
                    ref = ErpRef(erp=self.erp, kind=kind, id=str(body["existingId"]),
                                 external_id=ext)
                    self._codes[kind][ext], self._exts[kind][ref.id] = ref.id, ext
                    out[ext] = PostResult(ext, ref, created=ext in attempted)
                    del pending[ext]
                elif status == 429 or status >= 500:
                    attempted.add(ext)
                    failure = failure or ErpTransientError(f"HTTP {status}", status=status)
                else:
                    out[ext] = PostResult(ext, error=_problem_error(status, body))
                    del pending[ext]
            if pending:
                failures += 1
                if failures >= self._http.retry.attempts:
                    raise failure or ErpTransientError("TIMS did not accept the batch")
                policy = self._http.retry
                delay = random.uniform(0, min(policy.cap, policy.base * 2 ** (failures - 1)))
                time.sleep(max(delay, retry_after or 0.0))  # backoff before find-then-create
        return out

    # ------------------------------------------------------------------ payloads
    def _code(self, kind: DocKind, ext: str, field: str) -> str:
        code = self._codes[kind].get(ext)
        if code is None:
            what = {DocKind.CUSTOMER: "Customer", DocKind.SALES_ORDER: "Sales order",
                    DocKind.INVOICE: "Invoice"}[kind]
            raise _Unresolved(field, f"{what} with externalReference {ext} does not exist in "
                                     f"TIMS")
        return code

    def _bank_id(self, value: str) -> str:
        """A TIMS bank account id, given one or the GL account number of one."""
        banks = self._banks or []
        if any(b.get("bankAccountId") == value for b in banks):
            return value
        by_gl = [b["bankAccountId"] for b in banks if b.get("glAccountNumber") == value]
        return by_gl[0] if len(by_gl) == 1 else value

    @staticmethod
    def _lines(lines: Sequence[OrderLine]) -> list[dict[str, Any]]:
        return [{"lineNumber": ln.line_no, "sku": ln.sku,
                 "description": _cut(ln.description, "description"),
                 "quantity": ln.quantity, "unitPrice": _amount(ln.unit_price)} for ln in lines]

    def _payload(self, doc: Document) -> tuple[str, dict[str, Any]]:
        ext = doc.external_id
        if isinstance(doc, Customer):
            body: dict[str, Any] = {"name": _cut(doc.name, "name"), "currency": doc.currency,
                                    "taxExempt": doc.tax_exempt, "externalReference": ext}
            if doc.email:
                body["email"] = doc.email
            if doc.phone:
                body["phone"] = _cut(doc.phone, "phone")
            if doc.billing:
                b = doc.billing
                body["billingAddress"] = {
                    "line1": _cut(b.line1, "line"), "line2": _cut(b.line2, "line"),
                    "city": _cut(b.city, "city"), "state": _cut(b.region, "state"),
                    "postalCode": _cut(b.postal_code, "postalCode"), "country": b.country}
            return RESOURCES[DocKind.CUSTOMER].path, body
        if isinstance(doc, SalesOrder):
            return RESOURCES[DocKind.SALES_ORDER].path, {
                "customerCode": self._code(DocKind.CUSTOMER, doc.customer, "customerCode"),
                "locationId": self.location, "orderDate": doc.order_date,
                "currency": doc.currency, "externalReference": ext,
                "lines": self._lines(doc.lines)}
        if isinstance(doc, Invoice):
            body = {"customerCode": self._code(DocKind.CUSTOMER, doc.customer, "customerCode"),
                    "invoiceDate": doc.invoice_date, "dueDate": doc.due_date,
                    "currency": doc.currency, "externalReference": ext,
                    "lines": self._lines(doc.lines)}
            if doc.order:
                body["orderNumber"] = self._code(DocKind.SALES_ORDER, doc.order, "orderNumber")
            return RESOURCES[DocKind.INVOICE].path, body
        if isinstance(doc, Payment):
            apps = [{"invoiceNumber": self._code(DocKind.INVOICE, a.invoice,
                                                 f"applications[{i}].invoiceNumber"),
                     "amount": _amount(a.amount)} for i, a in enumerate(doc.applications)]
            return RESOURCES[DocKind.PAYMENT].path, {
                "customerCode": self._code(DocKind.CUSTOMER, doc.customer, "customerCode"),
                "paymentDate": doc.received_date, "amount": _amount(doc.amount),
                "currency": doc.amount.currency, "method": doc.method,
                "bankAccountId": self._bank_id(doc.bank_account),
                "reference": _cut(doc.reference, "reference") or None,
                "externalReference": ext, "applications": apps}
        if isinstance(doc, JournalEntry):
            return RESOURCES[DocKind.JOURNAL].path, {
                "entryDate": doc.entry_date, "currency": doc.currency,
                "memo": _cut(doc.memo, "memo"), "source": _cut(doc.source, "source"),
                "externalReference": ext,
                "lines": [{"accountNumber": ln.account, "debit": _amount(ln.debit),
                           "credit": _amount(ln.credit), "memo": _cut(ln.memo, "memo")}
                          for ln in doc.lines]}
        if isinstance(doc, InventoryAdjustment):
            return f"/inventory/items/{quote(doc.sku, safe='')}/adjustments", {
                "locationId": doc.location, "delta": doc.delta,
                "reasonCode": _cut(doc.reason, "reasonCode"), "externalReference": ext}
        if isinstance(doc, BankDeposit):
            return RESOURCES[DocKind.DEPOSIT].path, {
                "bankAccountId": self._bank_id(doc.bank_account),
                "depositDate": doc.deposit_date, "amount": _amount(doc.amount),
                "currency": doc.amount.currency, "clearingAccountNumber": doc.clearing_account,
                "status": "Failed" if doc.status == "failed" else "Posted",
                "externalReference": ext}
        raise TypeError(f"cannot post {type(doc).__name__} to TIMS")

    # ------------------------------------------------------------------ reading
    def read(self, kind: DocKind, external_ids: Sequence[str] | None = None
             ) -> list[ErpRecord]:
        kind = DocKind(kind)
        res = RESOURCES[kind]
        if external_ids is None:
            items = self._list_all(res.path)
        else:
            [items] = self._lookup([(res.path, "externalReference", external_ids)])
            order = {e: i for i, e in enumerate(external_ids)}
            items.sort(key=lambda it: order.get(it.get("externalReference"), len(order)))
        items = [it for it in items if it.get("externalReference")]
        self._resolve_keys(kind, items)
        return [self._record(kind, it) for it in items]

    def _resolve_keys(self, kind: DocKind, items: list[dict[str, Any]]) -> None:
        """Fetch the external ids behind the customer/order/invoice keys the items carry."""
        wanted: dict[DocKind, set[str]] = {}
        for it in items:
            if kind in (DocKind.SALES_ORDER, DocKind.INVOICE, DocKind.PAYMENT):
                wanted.setdefault(DocKind.CUSTOMER, set()).add(it["customerCode"])
            if kind == DocKind.INVOICE and it.get("orderNumber"):
                wanted.setdefault(DocKind.SALES_ORDER, set()).add(it["orderNumber"])
            if kind == DocKind.PAYMENT:
                wanted.setdefault(DocKind.INVOICE, set()).update(
                    a["invoiceNumber"] for a in it.get("applications") or [])
        queries: list[tuple[str, str | None, Sequence[str] | None]] = []
        kinds = []
        for rk, keys in wanted.items():
            missing = sorted(k for k in keys if k not in self._exts[rk])
            if missing:
                queries.append((RESOURCES[rk].path, RESOURCES[rk].key, missing))
                kinds.append(rk)
        want_banks = kind == DocKind.DEPOSIT and self._banks is None
        if want_banks:
            queries.append((BANK_ACCOUNTS, None, None))
        if not queries:
            return
        results = self._lookup(queries)
        for rk, found in zip(kinds, results):
            for it in found:
                self._remember(rk, it)
        if want_banks:
            self._banks = results[-1]

    def _ext_of(self, kind: DocKind, key: str | None) -> str:
        return self._exts[kind].get(key or "", key or "")

    def _record(self, kind: DocKind, it: dict[str, Any]) -> ErpRecord:
        ref = self._remember(kind, it)
        ext = ref.external_id
        doc: Document
        balance = None
        if kind == DocKind.CUSTOMER:
            addr = it.get("billingAddress")
            doc = Customer(external_id=ext, name=it["name"], email=it.get("email"),
                           phone=it.get("phone"), currency=it["currency"],
                           tax_exempt=bool(it.get("taxExempt")),
                           billing=Address(line1=addr.get("line1"), line2=addr.get("line2"),
                                           city=addr.get("city"), region=addr.get("state"),
                                           postal_code=addr.get("postalCode"),
                                           country=addr.get("country")) if addr else None)
        elif kind == DocKind.SALES_ORDER:
            doc = SalesOrder(external_id=ext, order_date=date.fromisoformat(it["orderDate"]),
                             customer=self._ext_of(DocKind.CUSTOMER, it["customerCode"]),
                             currency=it["currency"],
                             lines=self._read_lines(it["lines"], it["currency"]))
        elif kind == DocKind.INVOICE:
            cur = it["currency"]
            doc = Invoice(external_id=ext,
                          order=self._ext_of(DocKind.SALES_ORDER, it.get("orderNumber")) or None,
                          customer=self._ext_of(DocKind.CUSTOMER, it["customerCode"]),
                          invoice_date=date.fromisoformat(it["invoiceDate"]),
                          due_date=date.fromisoformat(it["dueDate"]), currency=cur,
                          lines=self._read_lines(it["lines"], cur),
                          total=_money(it["total"], cur))
            balance = _money(it["balance"], cur)
        elif kind == DocKind.PAYMENT:
            cur = it["currency"]
            doc = Payment(external_id=ext,
                          customer=self._ext_of(DocKind.CUSTOMER, it["customerCode"]),
                          received_date=date.fromisoformat(it["paymentDate"]),
                          amount=_money(it["amount"], cur), method=it["method"],
                          bank_account=it["bankAccountId"], reference=it.get("reference") or "",
                          applications=tuple(
                              PaymentApplication(
                                  invoice=self._ext_of(DocKind.INVOICE, a["invoiceNumber"]),
                                  amount=_money(a["amount"], cur))
                              for a in it.get("applications") or []))
        elif kind == DocKind.JOURNAL:
            cur = it["currency"]
            doc = JournalEntry(external_id=ext, entry_date=date.fromisoformat(it["entryDate"]),
                               currency=cur, memo=it.get("memo") or "",
                               source=it.get("source") or "",
                               lines=tuple(JournalLine(account=ln["accountNumber"],
                                                       debit=_money(ln["debit"], cur),
                                                       credit=_money(ln["credit"], cur),
                                                       memo=ln.get("memo") or "")
                                           for ln in it["lines"]))
        elif kind == DocKind.INVENTORY:
            doc = InventoryAdjustment(external_id=ext, sku=it["sku"], location=it["locationId"],
                                      delta=Decimal(str(it["delta"])),
                                      reason=it.get("reasonCode") or "")
        else:
            bank = it["bankAccountId"]
            gl = next((b.get("glAccountNumber") for b in self._banks or []
                       if b.get("bankAccountId") == bank), None)
            doc = BankDeposit(external_id=ext, bank_account=gl or bank,
                              clearing_account=it.get("clearingAccountNumber") or "",
                              deposit_date=date.fromisoformat(it["depositDate"]),
                              amount=_money(it["amount"], it["currency"]),
                              status="failed" if it.get("status") == "Failed" else "paid")
        return ErpRecord(ref=ref, doc=doc, open_balance=balance)

    @staticmethod
    def _read_lines(lines: list[dict[str, Any]], currency: str) -> tuple[OrderLine, ...]:
        return tuple(OrderLine(line_no=int(ln["lineNumber"]), sku=ln["sku"],
                               description=ln.get("description") or "",
                               quantity=Decimal(str(ln["quantity"])),
                               unit_price=_money(ln["unitPrice"], currency)) for ln in lines)

    # ------------------------------------------------------------------ inventory
    def on_hand(self, sku: str, location: str) -> Decimal:
        body = self._get(f"/inventory/items/{quote(sku, safe='')}/quantity?"
                         + urlencode({"locationId": location}))
        return Decimal(str(body["onHand"]))
