"""Epicor Kinetic REST API v2 adapter.

Every request goes to ``{ERP_BASE_URL}/api/v2/odata/{EPICOR_COMPANY}/...`` with the
``x-api-key`` header and a Bearer token from ``{ERP_BASE_URL}/TokenResource.svc/``
(Basic auth when the instance has no token service; one re-authentication on 401).

Writes use the business objects' ``UpdateExt`` method: one call carries a whole batch
of headers and lines (``continueProcessingOnError`` so one bad document does not stop
the rest, ``rollbackParentOnChildError`` so a document is all-or-nothing).  New
headers carry a negative placeholder in the key the server assigns (``OrderNum``,
``InvoiceNum``, ``HeadNum``, ``JournalNum``) and their lines carry the same value;
rows are matched back to documents by the ``SysRowID`` the adapter gives each row.

Natural keys (the Stripe id): ``Customer.ExternalID``, ``OrderHed.PONum``,
``InvcHead.ExternalID`` (also ``PONum``), ``CashHead.CheckRef``,
``GLJrnHed.Description``, ``PartTran.TranReference`` (the ``Reference`` of an
inventory adjustment) and ``BankTran.TranRef`` (payout transfers).  Lookups are
batched OData ``$filter`` queries (or-chains of ``eq``, or ``in``), at most 100
ids and ``EPICOR_MAX_QUERY_CHARS`` characters of query string per call, paged with
``$top``/``$skip`` (Epicor sends no ``@odata.nextLink``).  String comparisons on
SQL Server are case-insensitive, so matches are re-checked exactly here.

A write that fails transiently (timeout, dropped connection, 429, 5xx) is never
re-sent blindly: the adapter looks the batch up again and creates only what is
still missing, so a lost response cannot duplicate a document.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import orjson

from domain.erp import (Address, BankDeposit, Customer, DocKind, Document, ErpRef,
                        InventoryAdjustment, Invoice, JournalEntry, JournalLine, OrderLine,
                        Payment, PaymentApplication, SalesOrder)
from domain.money import Money, from_decimal, to_decimal

from .base import (ErpAdapter, ErpAuthError, ErpError, ErpHttp, ErpNotFound, ErpRecord,
                   ErpTransientError, ErpValidationError, PostResult, RetryPolicy, one_kind)

log = logging.getLogger(__name__)

Row = dict[str, Any]
MAX_ROWS = 100  # Epicor's server page size

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
# group tables: kind -> (service, entity set, table, date field)
GROUPS: dict[DocKind, tuple[str, str, str, str]] = {
    DocKind.INVOICE: ("Erp.BO.InvcGrpSvc", "InvcGrps", "InvcGrp", "InvoiceDate"),
    DocKind.PAYMENT: ("Erp.BO.CashGrpSvc", "CashGrps", "CashGrp", "TranDate"),
    DocKind.JOURNAL: ("Erp.BO.GLJrnGrpSvc", "GLJrnGrps", "GLJrnGrp", "JEDate"),
}
DEFAULT_BANKS = "1010=OPER,1250=STRIPE"


# ------------------------------------------------------------------------------ helpers
def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        if Decimal(repr(as_float)) != value:
            raise ValueError(f"{value} cannot be sent exactly as a JSON number")
        return as_float
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_json_default)


def _dec(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def _qty(value: Any) -> Decimal:
    q = _dec(value)
    return Decimal(int(q)) if q == q.to_integral_value() else q.normalize()


def _money(value: Any, currency: str) -> Money:
    return Money(from_decimal(_dec(value), currency), currency)


def _edate(d: date) -> str:
    return f"{d.isoformat()}T00:00:00"


def _pdate(value: Any) -> date:
    return date.fromisoformat(str(value)[:10])


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _guid() -> str:
    return str(uuid.uuid4())


def _cust_id(external_id: str) -> str:
    """A stable 10-character CustID for a Stripe customer (the Stripe id is in ExternalID)."""
    digest = hashlib.sha1(external_id.encode()).digest()
    return "S" + base64.b32encode(digest).decode()[:9]


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class EpicorAdapter(ErpAdapter):
    erp = "epicor"

    def __init__(self, base_url: str, *, api_key: str, username: str, password: str,
                 company: str, batch_size: int = 250, max_query_chars: int = 2000,
                 filter_style: str = "or", group_prefix: str = "S",
                 bank_accounts: Mapping[str, str] | None = None,
                 clearing_banks: Iterable[str] = ("STRIPE",), book_id: str = "MAIN",
                 journal_code: str = "GJ", order_invoice_type: str = "Shp",
                 timeout: float = 30.0, write_timeout: float = 120.0,
                 write_settle: float = 2.0, retry: RetryPolicy | None = None,
                 use_token: bool = True) -> None:
        self._base = base_url.rstrip("/")
        self._api_key, self._username, self._password = api_key, username, password
        self.company = company
        self._root = f"api/v2/odata/{urllib.parse.quote(company)}"
        policy = retry or RetryPolicy()
        self._policy = policy
        self._http = ErpHttp(self._base, timeout=timeout, retry=policy)
        # writes: a single attempt; on a transient failure post() looks up before re-creating
        self._write = ErpHttp(self._base, timeout=write_timeout,
                              retry=RetryPolicy(attempts=1, base=policy.base, cap=policy.cap))
        # after a write timed out the server may still be working: wait before looking up
        self.write_settle = write_settle
        self.batch_size = max(1, batch_size)
        self.max_query_chars = max(200, max_query_chars)
        if filter_style not in ("or", "in"):
            raise ValueError("EPICOR_FILTER_STYLE must be 'or' or 'in'")
        self.filter_style = filter_style
        self.group_prefix = group_prefix
        self.bank_accounts = dict(bank_accounts or _parse_map(DEFAULT_BANKS))
        self.clearing_banks = set(clearing_banks)
        self.book_id, self.journal_code = book_id, journal_code
        self.order_invoice_type = order_invoice_type
        self._use_basic = not use_token
        self._token: str | None = None
        self._token_expiry = 0.0
        self._refs: dict[DocKind, dict[str, ErpRef]] = {k: {} for k in DocKind}
        self._keys: dict[DocKind, dict[str, Row]] = {k: {} for k in DocKind}
        self._groups: set[tuple[str, str]] = set()
        self._pay_methods: dict[str, int] = {}
        self._inv_templates: dict[str, Row] = {}

    def __repr__(self) -> str:
        return f"EpicorAdapter(base_url={self._base!r}, company={self.company!r})"

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
            bank_accounts=_parse_map(env.get("EPICOR_BANK_ACCOUNTS") or DEFAULT_BANKS),
            clearing_banks=[b.strip() for b in (env.get("EPICOR_CLEARING_BANKS") or "STRIPE")
                            .split(",") if b.strip()],
            book_id=env.get("EPICOR_BOOK_ID") or "MAIN",
            journal_code=env.get("EPICOR_JOURNAL_CODE") or "GJ",
            order_invoice_type=env.get("EPICOR_ORDER_INVOICE_TYPE") or "Shp",
            timeout=float(env.get("EPICOR_TIMEOUT") or 30),
            write_timeout=float(env.get("EPICOR_WRITE_TIMEOUT") or 120),
            write_settle=float(env.get("EPICOR_WRITE_SETTLE") or 2),
            use_token=(env.get("EPICOR_AUTH") or "token").strip().lower() != "basic")

    @property
    def calls(self) -> int:
        return self._http.calls + self._write.calls

    def close(self) -> None:
        self._http.close()
        self._write.close()

    # -------------------------------------------------------------------------- auth & HTTP
    def _authorization(self) -> str:
        if not self._use_basic and (self._token is None or time.monotonic() >= self._token_expiry):
            self._fetch_token()
        if self._use_basic:
            raw = f"{self._username}:{self._password}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        return f"Bearer {self._token}"

    def _fetch_token(self) -> None:
        resp = self._http.request("POST", "TokenResource.svc/", headers={
            "username": self._username, "password": self._password,
            "x-api-key": self._api_key, "Accept": "application/json"})
        if resp.status_code == 404:  # no token service on this instance: Basic auth
            log.info("Epicor TokenResource.svc not found; using Basic authentication")
            self._use_basic = True
            return
        if resp.status_code in (400, 401, 403):
            raise ErpAuthError(f"Epicor token request refused: {_message(resp)}",
                               status=resp.status_code)
        if resp.status_code >= 300:
            raise ErpTransientError(f"Epicor token request failed: HTTP {resp.status_code}",
                                    status=resp.status_code)
        data = resp.json()
        token = data.get("AccessToken")
        if not token:
            raise ErpAuthError("Epicor token response has no AccessToken")
        self._token = token
        ttl = float(data.get("ExpiresIn") or 3600)
        self._token_expiry = time.monotonic() + max(30.0, ttl - 60.0)

    def _send(self, method: str, path: str, *, write: bool = False,
              params: Sequence[tuple[str, str]] | None = None, body: Any = None
              ) -> httpx.Response:
        """One API request (auth headers, one re-authentication on 401)."""
        http = self._write if write else self._http
        content = _dumps(body) if body is not None else None
        for attempt in (1, 2):
            headers = {"x-api-key": self._api_key, "Accept": "application/json",
                       "Authorization": self._authorization()}
            if content is not None:
                headers["Content-Type"] = "application/json"
            resp = http.request(method, f"{self._root}/{path}", params=params,
                                content=content, headers=headers,
                                retry_500=None if not write else False)
            if resp.status_code == 401 and attempt == 1:
                self._token = None  # expired or revoked: authenticate again, once
                self._token_expiry = 0.0
                continue
            break
        if resp.status_code in (401, 403):
            raise ErpAuthError(f"Epicor refused the request: {_message(resp)}",
                               status=resp.status_code)
        return resp

    def _get(self, path: str, params: Sequence[tuple[str, str]]) -> Any:
        resp = self._send("GET", path, params=params)
        if resp.status_code == 404:
            raise ErpNotFound(_message(resp), status=404, body=_body(resp))
        if resp.status_code >= 500:
            raise ErpTransientError(f"HTTP {resp.status_code}: {_message(resp)}",
                                    status=resp.status_code)
        if resp.status_code >= 300:
            raise ErpError(_message(resp), status=resp.status_code, body=_body(resp))
        return _parse(resp)

    def _call_method(self, path: str, body: Any) -> tuple[int, Any]:
        """POST a business-object method; transient failures raise, other errors return."""
        resp = self._send("POST", path, write=True, body=body)
        if resp.status_code >= 500:
            raise ErpTransientError(f"HTTP {resp.status_code}: {_message(resp)}",
                                    status=resp.status_code)
        if resp.status_code == 404:
            raise ErpNotFound(_message(resp), status=404, body=_body(resp))
        return resp.status_code, _parse(resp) if resp.content else None

    def _query(self, path: str, flt: str | None, select: str | None = None,
               expand: str | None = None, orderby: str | None = None) -> list[Row]:
        """All rows of an OData query, paged with $top/$skip (no nextLink in Epicor)."""
        rows: list[Row] = []
        skip = 0
        while True:
            params: list[tuple[str, str]] = []
            if flt:
                params.append(("$filter", flt))
            if select:
                params.append(("$select", select))
            if expand:
                params.append(("$expand", expand))
            if orderby:
                params.append(("$orderby", orderby))
            params.append(("$top", str(MAX_ROWS)))
            if skip:
                params.append(("$skip", str(skip)))
            page = self._get(path, params).get("value", [])
            rows.extend(page)
            if len(page) < MAX_ROWS:
                return rows
            skip += len(page)

    def _filters(self, fieldname: str, values: Sequence[Any], fixed_chars: int) -> list[str]:
        """$filter texts matching ``fieldname`` to the values, within the URL budget."""
        out: list[str] = []
        budget = self.max_query_chars - fixed_chars
        cur: list[str] = []
        cost = 0
        if self.filter_style == "in":
            head = len(urllib.parse.quote(f"{fieldname} in ()"))
            sep = len(urllib.parse.quote(","))
            terms = [_quote(v) for v in values]
        else:
            head = 0
            sep = len(urllib.parse.quote(" or "))
            terms = [f"{fieldname} eq {_quote(v)}" for v in values]
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

    def _lookup(self, path: str, fieldname: str, values: Iterable[Any], select: str,
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
            rows.extend(r for r in self._query(path, flt, select, expand)
                        if r.get(fieldname) in exact)
        return rows

    # -------------------------------------------------------------------------- contract
    def health(self) -> None:
        try:
            self._get("Erp.BO.BankAcctSvc/BankAccts", [("$select", "BankAcctID"), ("$top", "1")])
        except ErpNotFound as exc:
            raise ErpAuthError(f"Epicor company or service not found: {exc.message}",
                               status=404) from None

    def find(self, kind: DocKind, external_ids: Sequence[str]) -> dict[str, ErpRef]:
        path, fieldname, select = LOOKUP[kind]
        out: dict[str, ErpRef] = {}
        rows = self._lookup(path, fieldname, external_ids, select)
        if kind is DocKind.DEPOSIT:  # two legs per transfer: report the source leg
            rows.sort(key=lambda r: _dec(r.get("TranAmt")) >= 0)
        for row in rows:
            ext = row[fieldname]
            if ext not in out:
                out[ext] = self._remember(kind, ext, row)
        return out

    def _ref(self, kind: DocKind, row: Row) -> str:
        co = self.company
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

    def _remember(self, kind: DocKind, ext: str, row: Row) -> ErpRef:
        ref = ErpRef(erp=self.erp, kind=kind, id=self._ref(kind, row), external_id=ext)
        self._refs[kind][ext] = ref
        keep = KEEP.get(kind)
        if keep:
            self._keys[kind][ext] = {k: row[k] for k in keep if k in row}
        return ref

    def _resolve(self, kind: DocKind, external_ids: Iterable[str]) -> dict[str, Row]:
        """Key rows (CustNum, OrderNum, InvoiceNum ...) of referenced documents, cached."""
        ids = list(dict.fromkeys(external_ids))
        missing = [e for e in ids if e not in self._keys[kind]]
        if missing:
            self.find(kind, missing)
        return {e: self._keys[kind][e] for e in ids if e in self._keys[kind]}

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
        for chunk in _chunks(unique, self.batch_size):
            done.update(self._post_chunk(kind, list(chunk)))
        out = []
        for i, doc in enumerate(docs):
            res = done[doc.external_id]
            if first[doc.external_id] != i and res.ok:
                res = PostResult(doc.external_id, res.ref, created=False)
            out.append(res)
        return out

    def _post_chunk(self, kind: DocKind, docs: list[Document]) -> dict[str, PostResult]:
        out: dict[str, PostResult] = {}
        cached = self._refs[kind]
        for doc in docs:
            if doc.external_id in cached:
                out[doc.external_id] = PostResult(doc.external_id, cached[doc.external_id])
        pending = [d for d in docs if d.external_id not in out]
        if pending:
            for ext, ref in self.find(kind, [d.external_id for d in pending]).items():
                out[ext] = PostResult(ext, ref, created=False)
            pending = [d for d in pending if d.external_id not in out]
        attempt = 0
        while pending:
            try:
                created, errors = CREATORS[kind](self, pending)
            except ErpTransientError as exc:
                attempt += 1
                if attempt >= self._policy.attempts:
                    raise
                delay = random.uniform(0, min(self._policy.cap,
                                              self._policy.base * 2 ** (attempt - 1)))
                if exc.status is None and "Timeout" in exc.message:
                    delay = max(delay, self.write_settle)
                time.sleep(max(delay, exc.retry_after or 0.0))
                # the ERP may have acted before the failure: look up before creating again
                for ext, ref in self.find(kind, [d.external_id for d in pending]).items():
                    out[ext] = PostResult(ext, ref, created=True)
                pending = [d for d in pending if d.external_id not in out]
                continue
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
            pending = []
        return out

    def _update_ext(self, service: str, ds: dict[str, list[Row]], owners: dict[str, str],
                    header: str, kind: DocKind
                    ) -> tuple[dict[str, ErpRef], dict[str, ErpValidationError]]:
        """POST UpdateExt; map saved header rows and BOUpdError rows back to documents.

        ``owners`` maps every row's SysRowID to its document's external id.
        """
        status, data = self._call_method(f"{service}/UpdateExt", {
            "ds": ds, "continueProcessingOnError": True, "rollbackParentOnChildError": True})
        errors: dict[str, ErpValidationError] = {}
        created: dict[str, ErpRef] = {}
        if status >= 300:  # the whole call was refused (bad input): every document fails
            err = _error_from_body(data, status)
            return {}, {ext: err for ext in set(owners.values())}
        for e in (data.get("returnObj") or {}).get("BOUpdError") or []:
            ext = owners.get(e.get("ErrorSysRowID", ""))
            if ext and ext not in errors and (e.get("ErrorLevel") or "Error") != "Warning":
                errors[ext] = ErpValidationError(
                    e.get("ErrorText") or "rejected by Epicor", code=e.get("ErrorType") or None,
                    field=None, body=e)
        for row in ((data.get("parameters") or {}).get("ds") or {}).get(header) or []:
            ext = owners.get(row.get("SysRowID", ""))
            if ext and ext not in errors:
                created[ext] = self._remember(kind, ext, row)
        return created, errors

    def _update_docs(self, service: str, header: str, heads: list[Row], detail: str,
                     lines: list[Row], owners: dict[str, str], kind: DocKind,
                     errors: dict[str, ErpValidationError]
                     ) -> tuple[dict[str, ErpRef], dict[str, ErpValidationError]]:
        """:meth:`_update_ext` of header rows with their detail rows (none: no call), adding
        its refusals to the ``errors`` already found."""
        if not heads:
            return {}, errors
        created, errs = self._update_ext(service, {header: heads, detail: lines}, owners,
                                         header, kind)
        return created, {**errors, **errs}

    def _groups_for(self, kind: DocKind, dates: Iterable[date], extra: Row
                    ) -> dict[date, str | ErpValidationError]:
        """The group (InvcGrp/CashGrp/GLJrnGrp) of each date, created once and reused."""
        service, entity_set, table, date_field = GROUPS[kind]
        out: dict[date, str | ErpValidationError] = {}
        ids = {d: f"{self.group_prefix}{d:%y%m%d}" for d in set(dates)}
        missing = {d: g for d, g in ids.items() if (table, g) not in self._groups}
        if missing:
            for row in self._lookup(f"{service}/{entity_set}", "GroupID", missing.values(),
                                    "GroupID"):
                self._groups.add((table, row["GroupID"]))
        rows, owners = [], {}
        for d, gid in ids.items():
            if (table, gid) in self._groups:
                out[d] = gid
                continue
            sysrow = _guid()
            owners[sysrow] = gid
            rows.append({"GroupID": gid, date_field: _edate(d), **extra, "SysRowID": sysrow,
                         "RowMod": "A"})
        if rows:
            status, data = self._call_method(f"{service}/UpdateExt", {
                "ds": {table: rows}, "continueProcessingOnError": True,
                "rollbackParentOnChildError": True})
            if status >= 300:
                err = _error_from_body(data, status)
                failed = {gid: err for gid in owners.values()}
            else:
                failed = {}
                for e in (data.get("returnObj") or {}).get("BOUpdError") or []:
                    gid = owners.get(e.get("ErrorSysRowID", ""))
                    if gid and "Duplicate" not in (e.get("ErrorType") or ""):
                        failed[gid] = ErpValidationError(e.get("ErrorText") or "group refused",
                                                         code=e.get("ErrorType"), body=e)
            for d, gid in ids.items():
                if d in out:
                    continue
                if gid in failed:
                    out[d] = failed[gid]
                else:
                    self._groups.add((table, gid))
                    out[d] = gid
        return out

    # -------------------------------------------------------------------------- creators
    def _create_customers(self, docs: list[Customer]
                          ) -> tuple[dict[str, ErpRef], dict[str, ErpValidationError]]:
        rows, owners = [], {}
        for doc in docs:
            sysrow = _guid()
            owners[sysrow] = doc.external_id
            bill = doc.billing or Address()
            rows.append({
                "CustID": _cust_id(doc.external_id), "Name": doc.name[:50],
                "EMailAddress": doc.email or "", "PhoneNum": doc.phone or "",
                "Address1": bill.line1 or "", "Address2": bill.line2 or "",
                "City": bill.city or "", "State": bill.region or "", "Zip": bill.postal_code or "",
                "Country": bill.country or "", "CurrencyCode": doc.currency,
                "TaxExempt": "EXEMPT" if doc.tax_exempt else "", "ExternalID": doc.external_id,
                "CheckDuplicatePO": True, "SysRowID": sysrow, "RowMod": "A"})
        return self._update_ext("Erp.BO.CustomerSvc", {"Customer": rows}, owners, "Customer",
                                DocKind.CUSTOMER)

    def _customers_of(self, docs: Sequence[Any], errors: dict[str, ErpValidationError]
                      ) -> dict[str, Row]:
        custs = self._resolve(DocKind.CUSTOMER, [d.customer for d in docs])
        for doc in docs:
            if doc.customer not in custs:
                errors[doc.external_id] = ErpValidationError(
                    f"Customer {doc.customer} not found in Epicor (Customer.ExternalID).",
                    field="CustNum", code="NotFound")
        return custs

    def _create_orders(self, docs: list[SalesOrder]
                       ) -> tuple[dict[str, ErpRef], dict[str, ErpValidationError]]:
        errors: dict[str, ErpValidationError] = {}
        custs = self._customers_of(docs, errors)
        heads, lines, owners = [], [], {}
        for n, doc in enumerate(d for d in docs if d.external_id not in errors):
            temp = -(n + 1)
            sysrow = _guid()
            owners[sysrow] = doc.external_id
            when = _edate(doc.order_date)
            heads.append({"OrderNum": temp, "CustNum": custs[doc.customer]["CustNum"],
                          "PONum": doc.external_id, "OrderDate": when, "RequestDate": when,
                          "NeedByDate": when, "CurrencyCode": doc.currency,
                          "SysRowID": sysrow, "RowMod": "A"})
            for line in doc.lines:
                lrow = _guid()
                owners[lrow] = doc.external_id
                lines.append({"OrderNum": temp, "OrderLine": line.line_no, "PartNum": line.sku,
                              "LineDesc": line.description, "SellingQuantity": line.quantity,
                              "DocUnitPrice": to_decimal(line.unit_price.amount, doc.currency),
                              "SysRowID": lrow, "RowMod": "A"})
        return self._update_docs("Erp.BO.SalesOrderSvc", "OrderHed", heads,
                                 "OrderDtl", lines, owners, DocKind.SALES_ORDER, errors)

    def _create_invoices(self, docs: list[Invoice]
                         ) -> tuple[dict[str, ErpRef], dict[str, ErpValidationError]]:
        errors: dict[str, ErpValidationError] = {}
        custs = self._customers_of(docs, errors)
        orders = self._resolve(DocKind.SALES_ORDER, [d.order for d in docs if d.order])
        for doc in docs:
            if doc.order and doc.order not in orders and doc.external_id not in errors:
                errors[doc.external_id] = ErpValidationError(
                    f"Sales order {doc.order} not found in Epicor (OrderHed.PONum).",
                    field="OrderNum", code="NotFound")
        ok = [d for d in docs if d.external_id not in errors]
        groups = self._groups_for(DocKind.INVOICE, [d.invoice_date for d in ok], {})
        heads, lines, owners = [], [], {}
        for n, doc in enumerate(ok):
            group = groups[doc.invoice_date]
            if isinstance(group, ErpValidationError):
                errors[doc.external_id] = group
                continue
            temp = -(n + 1)
            sysrow = _guid()
            owners[sysrow] = doc.external_id
            order_num = orders[doc.order]["OrderNum"] if doc.order else 0
            heads.append({"InvoiceNum": temp, "GroupID": group,
                          "InvoiceType": self.order_invoice_type if doc.order else "Mis",
                          "CustNum": custs[doc.customer]["CustNum"], "OrderNum": order_num,
                          "PONum": doc.external_id, "ExternalID": doc.external_id,
                          "InvoiceDate": _edate(doc.invoice_date), "DueDate": _edate(doc.due_date),
                          "CurrencyCode": doc.currency, "SysRowID": sysrow, "RowMod": "A"})
            for line in doc.lines:
                lrow = _guid()
                owners[lrow] = doc.external_id
                lines.append({"InvoiceNum": temp, "InvoiceLine": line.line_no,
                              "PartNum": line.sku, "LineDesc": line.description,
                              "SellingShipQty": line.quantity, "OrderNum": order_num,
                              "DocUnitPrice": to_decimal(line.unit_price.amount, doc.currency),
                              "SysRowID": lrow, "RowMod": "A"})
        return self._update_docs("Erp.BO.ARInvoiceSvc", "InvcHead", heads,
                                 "InvcDtl", lines, owners, DocKind.INVOICE, errors)

    def _pay_method_ids(self, names: Iterable[str]) -> dict[str, int]:
        missing = [n for n in set(names) if n not in self._pay_methods]
        if missing:
            for row in self._lookup("Erp.BO.PayMethodSvc/PayMethods", "Name", missing,
                                    "PMUID,Name"):
                self._pay_methods.setdefault(row["Name"], int(row["PMUID"]))
        return self._pay_methods

    def _create_payments(self, docs: list[Payment]
                         ) -> tuple[dict[str, ErpRef], dict[str, ErpValidationError]]:
        errors: dict[str, ErpValidationError] = {}
        custs = self._customers_of(docs, errors)
        invoices = self._resolve(DocKind.INVOICE,
                                 [a.invoice for d in docs for a in d.applications])
        methods = self._pay_method_ids(d.method for d in docs)
        for doc in docs:
            if doc.external_id in errors:
                continue
            gone = [a.invoice for a in doc.applications if a.invoice not in invoices]
            if gone:
                errors[doc.external_id] = ErpValidationError(
                    f"Invoice {gone[0]} not found in Epicor (InvcHead.ExternalID).",
                    field="InvoiceNum", code="NotFound")
            elif doc.method not in methods:
                errors[doc.external_id] = ErpValidationError(
                    f"Payment method {doc.method} not found in Epicor (PayMethod.Name).",
                    field="PMUID", code="NotFound")
        ok = [d for d in docs if d.external_id not in errors]
        banks: dict[date, str] = {}
        for doc in ok:
            banks.setdefault(doc.received_date, doc.bank_account)
        groups: dict[date, str | ErpValidationError] = {}
        for bank in sorted(set(banks.values())):
            groups.update(self._groups_for(DocKind.PAYMENT,
                                           [d for d, b in banks.items() if b == bank],
                                           {"BankAcctID": bank}))
        heads, lines, owners = [], [], {}
        for n, doc in enumerate(ok):
            group = groups[doc.received_date]
            if isinstance(group, ErpValidationError):
                errors[doc.external_id] = group
                continue
            temp = -(n + 1)
            sysrow = _guid()
            owners[sysrow] = doc.external_id
            heads.append({"HeadNum": temp, "GroupID": group,
                          "TranType": "PayInv" if doc.applications else "PrePay",
                          "CustNum": custs[doc.customer]["CustNum"],
                          "TranDate": _edate(doc.received_date),
                          "DocTranAmt": doc.amount.decimal(),
                          "CurrencyCode": doc.amount.currency, "CheckRef": doc.external_id,
                          "ExternalID": doc.external_id, "Reference": doc.reference,
                          "BankAcctID": doc.bank_account, "PMUID": methods[doc.method],
                          "SysRowID": sysrow, "RowMod": "A"})
            for app in doc.applications:
                lrow = _guid()
                owners[lrow] = doc.external_id
                lines.append({"GroupID": group, "HeadNum": temp,
                              "InvoiceNum": invoices[app.invoice]["InvoiceNum"],
                              "DocTranAmt": app.amount.decimal(), "SysRowID": lrow,
                              "RowMod": "A"})
        return self._update_docs("Erp.BO.CashRecSvc", "CashHead", heads,
                                 "CashDtl", lines, owners, DocKind.PAYMENT, errors)

    def _create_journals(self, docs: list[JournalEntry]
                         ) -> tuple[dict[str, ErpRef], dict[str, ErpValidationError]]:
        errors: dict[str, ErpValidationError] = {}
        groups = self._groups_for(DocKind.JOURNAL, [d.entry_date for d in docs],
                                  {"BookID": self.book_id, "JournalCode": self.journal_code})
        heads, lines, owners = [], [], {}
        for n, doc in enumerate(docs):
            group = groups[doc.entry_date]
            if isinstance(group, ErpValidationError):
                errors[doc.external_id] = group
                continue
            temp = -(n + 1)
            sysrow = _guid()
            owners[sysrow] = doc.external_id
            heads.append({"JournalNum": temp, "GroupID": group, "BookID": self.book_id,
                          "JournalCode": self.journal_code, "JEDate": _edate(doc.entry_date),
                          "Description": doc.external_id,
                          "CommentText": f"{doc.source}: {doc.memo}",
                          "CurrencyCode": doc.currency, "SysRowID": sysrow, "RowMod": "A"})
            for i, line in enumerate(doc.lines, start=1):
                lrow = _guid()
                owners[lrow] = doc.external_id
                lines.append({"JournalNum": temp, "JournalLine": i, "GLAccount": line.account,
                              "DebitAmount": line.debit.decimal(),
                              "CreditAmount": line.credit.decimal(), "Description": line.memo,
                              "SysRowID": lrow, "RowMod": "A"})
        return self._update_docs("Erp.BO.GLJournalEntrySvc", "GLJrnHed", heads,
                                 "GLJrnDtlMnl", lines, owners, DocKind.JOURNAL, errors)

    def _create_inventory(self, docs: list[InventoryAdjustment]
                          ) -> tuple[dict[str, ErpRef], dict[str, ErpValidationError]]:
        errors: dict[str, ErpValidationError] = {}
        for sku in sorted({d.sku for d in docs} - set(self._inv_templates)):
            status, data = self._call_method("Erp.BO.InventoryQtyAdjSvc/GetInventoryQtyAdj",
                                             {"partnumber": sku, "uomCode": ""})
            rows = ((data or {}).get("returnObj") or {}).get("InventoryQtyAdj") or []
            if status >= 300 or not rows:
                err = _error_from_body(data, status)
                for doc in docs:
                    if doc.sku == sku:
                        errors[doc.external_id] = err
                continue
            self._inv_templates[sku] = rows[0]
        ok = [d for d in docs if d.external_id not in errors]

        def row_of(doc: InventoryAdjustment) -> Row:
            row = dict(self._inv_templates[doc.sku])
            row.update({"WareHseCode": doc.location, "AdjustQuantity": doc.delta,
                        "ReasonCode": doc.reason, "Reference": doc.external_id,
                        "SysRowID": _guid(), "RowMod": "U"})
            return row

        return self._atomic_batches(
            ok, row_of, "Erp.BO.InventoryQtyAdjSvc/SetInventoryQtyAdj", "InventoryQtyAdj",
            DocKind.INVENTORY, errors)

    def _create_deposits(self, docs: list[BankDeposit]
                         ) -> tuple[dict[str, ErpRef], dict[str, ErpValidationError]]:
        errors: dict[str, ErpValidationError] = {}
        legs: dict[str, tuple[str, str]] = {}
        for doc in docs:
            bank = self.bank_accounts.get(doc.bank_account, doc.bank_account)
            clearing = self.bank_accounts.get(doc.clearing_account, doc.clearing_account)
            legs[doc.external_id] = (clearing, bank) if doc.status == "paid" else (bank, clearing)

        def row_of(doc: BankDeposit) -> Row:
            src, dst = legs[doc.external_id]
            return {"BankAcctID": src, "ToBankAcctID": dst, "TranAmt": doc.amount.decimal(),
                    "TranDate": _edate(doc.deposit_date), "TranRef": doc.external_id,
                    "CurrencyCode": doc.amount.currency, "RowMod": "A"}

        return self._atomic_batches(docs, row_of, "Erp.BO.BankFundTranSvc/CreateBankTranRecords",
                                    "BankFundsTransfer", DocKind.DEPOSIT, errors)

    def _atomic_batches(self, docs: Sequence[Any], row_of: Callable[[Any], Row], path: str,
                        table: str, kind: DocKind, errors: dict[str, ErpValidationError]
                        ) -> tuple[dict[str, ErpRef], dict[str, ErpValidationError]]:
        """Methods that run in one transaction: send the batch; if refused, one by one."""
        created: dict[str, ErpRef] = {}
        if not docs:
            return created, errors
        batches: list[Sequence[Any]] = [docs]
        while batches:
            batch = batches.pop(0)
            rows = [row_of(d) for d in batch]
            status, data = self._call_method(path, {"ds": {table: rows}})
            if status >= 300:
                if len(batch) > 1:  # nothing was applied: isolate the refused document
                    batches = [[d] for d in batch] + batches
                else:
                    errors[batch[0].external_id] = _error_from_body(data, status)
                continue
            params = (data or {}).get("parameters") or {}
            if kind is DocKind.INVENTORY:
                pks = [p for p in str(params.get("partTranPKs") or "").split("|") if p]
                if len(pks) == len(batch):
                    for doc, pk in zip(batch, pks):
                        tran_num = pk.split("~")[-1]
                        created[doc.external_id] = self._remember(
                            kind, doc.external_id,
                            {"TranNum": tran_num, "TranReference": doc.external_id})
                    continue
            else:
                out_rows = (params.get("ds") or {}).get(table) or []
                if len(out_rows) == len(batch):
                    for doc, row in zip(batch, out_rows):
                        created[doc.external_id] = self._remember(
                            kind, doc.external_id,
                            {"BankAcctID": row.get("BankAcctID"), "TranNum": row.get("TranNum")})
                    continue
            # keys not echoed as expected: read them back
            for ext, ref in self.find(kind, [d.external_id for d in batch]).items():
                created[ext] = ref
        return created, errors

    # -------------------------------------------------------------------------- read
    def read(self, kind: DocKind, external_ids: Sequence[str] | None = None) -> list[ErpRecord]:
        return READERS[kind](self, external_ids)

    def _rows(self, kind: DocKind, external_ids: Sequence[str] | None, select: str | None,
              expand: str | None, orderby: str) -> list[Row]:
        path, fieldname, _ = LOOKUP[kind]
        if external_ids is None:
            return self._query(path, f"{fieldname} ne ''", select, expand, orderby)
        return self._lookup(path, fieldname, external_ids, select or "*", expand)

    def _ext_by_num(self, path: str, num_field: str, ext_field: str, nums: Iterable[Any]
                    ) -> dict[Any, str]:
        rows = self._lookup(path, num_field, {n for n in nums if n}, f"{num_field},{ext_field}")
        return {r[num_field]: r[ext_field] for r in rows}

    def _cust_ext(self, rows: Iterable[Row]) -> dict[Any, str]:
        return self._ext_by_num("Erp.BO.CustomerSvc/Customers", "CustNum", "ExternalID",
                                (r["CustNum"] for r in rows))

    def _build(self, kind: DocKind, row: Row, make: Callable[[], Document],
               balance: Money | None = None) -> ErpRecord | None:
        try:
            doc = make()
        except (ValueError, KeyError) as exc:
            log.warning("Epicor %s %s cannot be read as a canonical document: %s", kind.value,
                        row.get(LOOKUP[kind][1]), exc)
            return None
        ref = ErpRef(erp=self.erp, kind=kind, id=self._ref(kind, row),
                     external_id=doc.external_id)
        return ErpRecord(ref, doc, balance)

    def _read_customers(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        rows = self._rows(DocKind.CUSTOMER, ids, None, None, "CustNum")
        out = []
        for r in rows:
            def make(r: Row = r) -> Customer:
                addr = Address(line1=r.get("Address1") or None, line2=r.get("Address2") or None,
                               city=r.get("City") or None, region=r.get("State") or None,
                               postal_code=r.get("Zip") or None, country=r.get("Country") or None)
                return Customer(external_id=r["ExternalID"], name=r["Name"],
                                email=r.get("EMailAddress") or None,
                                phone=r.get("PhoneNum") or None,
                                billing=addr if any(addr.model_dump().values()) else None,
                                currency=r["CurrencyCode"], tax_exempt=bool(r.get("TaxExempt")))
            rec = self._build(DocKind.CUSTOMER, r, make)
            if rec:
                out.append(rec)
        return out

    @staticmethod
    def _lines(rows: Iterable[Row], line_field: str, qty_field: str, currency: str
               ) -> tuple[OrderLine, ...]:
        return tuple(OrderLine(line_no=int(d[line_field]), sku=d.get("PartNum") or "",
                               description=d.get("LineDesc") or "", quantity=_qty(d[qty_field]),
                               unit_price=_money(d["DocUnitPrice"], currency))
                     for d in sorted(rows, key=lambda d: d[line_field]))

    def _read_orders(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        rows = self._rows(DocKind.SALES_ORDER, ids, None, "OrderDtls", "OrderNum")
        custs = self._cust_ext(rows)
        out = []
        for r in rows:
            def make(r: Row = r) -> SalesOrder:
                cur = r["CurrencyCode"]
                return SalesOrder(external_id=r["PONum"], customer=custs[r["CustNum"]],
                                  order_date=_pdate(r["OrderDate"]), currency=cur,
                                  lines=self._lines(r.get("OrderDtls") or [], "OrderLine",
                                                    "SellingQuantity", cur))
            rec = self._build(DocKind.SALES_ORDER, r, make)
            if rec:
                out.append(rec)
        return out

    def _read_invoices(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        rows = self._rows(DocKind.INVOICE, ids, None, "InvcDtls", "InvoiceNum")
        custs = self._cust_ext(rows)
        orders = self._ext_by_num("Erp.BO.SalesOrderSvc/SalesOrders", "OrderNum", "PONum",
                                  (r["OrderNum"] for r in rows))
        out = []
        for r in rows:
            cur = r["CurrencyCode"]

            def make(r: Row = r, cur: str = cur) -> Invoice:
                lines = self._lines(r.get("InvcDtls") or [], "InvoiceLine", "SellingShipQty",
                                    cur)
                total = _money(r["DocInvoiceAmt"], cur)
                computed = sum(int(ln.unit_price.amount * ln.quantity) for ln in lines)
                if computed != total.amount:  # Epicor rounds each line; keep the ERP's lines
                    log.warning("Epicor invoice %s total %s differs from its lines",
                                r.get("InvoiceNum"), total)
                    total = Money(computed, cur)
                return Invoice(external_id=r["ExternalID"], order=orders.get(r["OrderNum"]),
                               customer=custs[r["CustNum"]],
                               invoice_date=_pdate(r["InvoiceDate"]),
                               due_date=_pdate(r["DueDate"] or r["InvoiceDate"]),
                               currency=cur, lines=lines, total=total)
            rec = self._build(DocKind.INVOICE, r, make, _money(r["DocInvoiceBal"], cur))
            if rec:
                out.append(rec)
        return out

    def _read_payments(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        rows = self._rows(DocKind.PAYMENT, ids, None, "CashDtls", "HeadNum")
        custs = self._cust_ext(rows)
        invoices = self._ext_by_num("Erp.BO.ARInvoiceSvc/ARInvoices", "InvoiceNum",
                                    "ExternalID", (d["InvoiceNum"] for r in rows
                                                   for d in r.get("CashDtls") or []))
        methods = {v: k for k, v in self._pay_methods.items()}
        need = {r["PMUID"] for r in rows if r.get("PMUID") and r["PMUID"] not in methods}
        if need:
            for m in self._lookup("Erp.BO.PayMethodSvc/PayMethods", "PMUID", need, "PMUID,Name"):
                methods[m["PMUID"]] = m["Name"]
                self._pay_methods.setdefault(m["Name"], m["PMUID"])
        out = []
        for r in rows:
            def make(r: Row = r) -> Payment:
                cur = r["CurrencyCode"]
                apps = tuple(PaymentApplication(invoice=invoices[d["InvoiceNum"]],
                                                amount=_money(d["DocTranAmt"], cur))
                             for d in r.get("CashDtls") or [])
                return Payment(external_id=r["CheckRef"], customer=custs[r["CustNum"]],
                               received_date=_pdate(r["TranDate"]),
                               amount=_money(r["DocTranAmt"], cur),
                               method=methods.get(r.get("PMUID"), ""),
                               bank_account=r.get("BankAcctID") or "", applications=apps,
                               reference=r.get("Reference") or "")
            rec = self._build(DocKind.PAYMENT, r, make)
            if rec:
                out.append(rec)
        return out

    def _read_journals(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        rows = self._rows(DocKind.JOURNAL, ids, None, "GLJrnDtlMnls",
                          "BookID,FiscalYear,JournalCode,JournalNum")
        out = []
        for r in rows:
            def make(r: Row = r) -> JournalEntry:
                cur = r["CurrencyCode"]
                source, _, memo = (r.get("CommentText") or "").partition(": ")
                lines = tuple(JournalLine(account=d["GLAccount"],
                                          debit=_money(d["DebitAmount"], cur),
                                          credit=_money(d["CreditAmount"], cur),
                                          memo=d.get("Description") or "")
                              for d in sorted(r.get("GLJrnDtlMnls") or [],
                                              key=lambda d: d["JournalLine"]))
                return JournalEntry(external_id=r["Description"],
                                    entry_date=_pdate(r["JEDate"]), currency=cur, memo=memo,
                                    source=source, lines=lines)
            rec = self._build(DocKind.JOURNAL, r, make)
            if rec:
                out.append(rec)
        return out

    def _read_inventory(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        rows = self._rows(DocKind.INVENTORY, ids, None, None, "SysDate,SysTime,TranNum")
        out = []
        for r in rows:
            def make(r: Row = r) -> InventoryAdjustment:
                return InventoryAdjustment(external_id=r["TranReference"], sku=r["PartNum"],
                                           location=r["WareHouseCode"], delta=_qty(r["TranQty"]),
                                           reason=r.get("ReasonCode") or "SALE")
            rec = self._build(DocKind.INVENTORY, r, make)
            if rec:
                out.append(rec)
        return out

    def _read_deposits(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        rows = self._rows(DocKind.DEPOSIT, ids, None, None, "TranNum,BankAcctID")
        gl_of = {bank: gl for gl, bank in self.bank_accounts.items()}
        legs: dict[str, list[Row]] = {}
        for r in rows:
            legs.setdefault(r["TranRef"], []).append(r)
        out = []
        for ext, pair in legs.items():
            src = next((r for r in pair if _dec(r["TranAmt"]) < 0), pair[0])
            dst = next((r for r in pair if _dec(r["TranAmt"]) > 0), pair[-1])

            def make(src: Row = src, dst: Row = dst, ext: str = ext) -> BankDeposit:
                cur = dst["CurrencyCode"]
                paid = src["BankAcctID"] in self.clearing_banks
                bank, clearing = (dst, src) if paid else (src, dst)
                return BankDeposit(
                    external_id=ext,
                    bank_account=gl_of.get(bank["BankAcctID"], bank.get("GLAccount") or
                                           bank["BankAcctID"]),
                    clearing_account=gl_of.get(clearing["BankAcctID"],
                                               clearing.get("GLAccount") or
                                               clearing["BankAcctID"]),
                    deposit_date=_pdate(dst["TranDate"]),
                    amount=_money(abs(_dec(dst["DocTranAmt"])), cur),
                    status="paid" if paid else "failed")
            rec = self._build(DocKind.DEPOSIT, src, make)
            if rec:
                out.append(rec)
        return out

    def on_hand(self, sku: str, location: str) -> Decimal:
        rows = self._query("Erp.BO.PartSvc/PartWhses",
                           f"PartNum eq {_quote(sku)} and WarehouseCode eq {_quote(location)}",
                           "PartNum,WarehouseCode,OnHandQty")
        rows = [r for r in rows if r.get("PartNum") == sku and r.get("WarehouseCode") == location]
        if not rows:
            if not self._query("Erp.BO.PartSvc/Parts", f"PartNum eq {_quote(sku)}", "PartNum"):
                raise ErpNotFound(f"Part {sku} not found in Epicor", code="NotFound")
            return Decimal(0)
        return _qty(sum((_dec(r["OnHandQty"]) for r in rows), Decimal(0)))


CREATORS: dict[DocKind, Callable[[EpicorAdapter, list[Any]],
                                 tuple[dict[str, ErpRef], dict[str, ErpValidationError]]]] = {
    DocKind.CUSTOMER: EpicorAdapter._create_customers,
    DocKind.SALES_ORDER: EpicorAdapter._create_orders,
    DocKind.INVOICE: EpicorAdapter._create_invoices,
    DocKind.PAYMENT: EpicorAdapter._create_payments,
    DocKind.JOURNAL: EpicorAdapter._create_journals,
    DocKind.INVENTORY: EpicorAdapter._create_inventory,
    DocKind.DEPOSIT: EpicorAdapter._create_deposits,
}
READERS: dict[DocKind, Callable[[EpicorAdapter, Sequence[str] | None], list[ErpRecord]]] = {
    DocKind.CUSTOMER: EpicorAdapter._read_customers,
    DocKind.SALES_ORDER: EpicorAdapter._read_orders,
    DocKind.INVOICE: EpicorAdapter._read_invoices,
    DocKind.PAYMENT: EpicorAdapter._read_payments,
    DocKind.JOURNAL: EpicorAdapter._read_journals,
    DocKind.INVENTORY: EpicorAdapter._read_inventory,
    DocKind.DEPOSIT: EpicorAdapter._read_deposits,
}


# ------------------------------------------------------------------------------ errors
def _parse(resp: httpx.Response) -> Any:
    try:
        return json.loads(resp.content, parse_float=Decimal)
    except ValueError:
        raise ErpTransientError(f"HTTP {resp.status_code}: response is not JSON",
                                status=resp.status_code) from None


def _body(resp: httpx.Response) -> Any:
    try:
        return json.loads(resp.content, parse_float=Decimal)
    except ValueError:
        return resp.text[:2000]


def _message(resp: httpx.Response) -> str:
    body = _body(resp)
    if isinstance(body, dict) and body.get("ErrorMessage"):
        return str(body["ErrorMessage"])
    return f"HTTP {resp.status_code}"


def _error_from_body(body: Any, status: int) -> ErpValidationError:
    """An ErpValidationError from Epicor's §1.6 error body (message, table/field, type)."""
    if isinstance(body, dict) and body.get("ErrorMessage"):
        details = body.get("ErrorDetails") or [{}]
        first = details[0] if isinstance(details, list) and details else {}
        return ErpValidationError(str(body["ErrorMessage"]), status=status,
                                  field=(first or {}).get("Field") or None,
                                  code=body.get("ErrorType") or None, body=body)
    return ErpValidationError(f"Epicor refused the request (HTTP {status})", status=status,
                              body=body)


def _parse_map(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


__all__ = ["EpicorAdapter"]
