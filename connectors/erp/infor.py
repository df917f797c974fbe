"""Infor M3 through the ION API gateway (OAuth 2.0) and M3 MI REST v2 bulk execution.

Configuration (``from_env``): ``ERP_BASE_URL`` (the gateway, ``iu``; defaults to the
.ionapi file's), ``INFOR_IONAPI_FILE`` (the credentials JSON an Infor admin downloads),
``INFOR_COMPANY`` (CONO), ``INFOR_DIVISION`` (DIVI).  Optional, with defaults:
``INFOR_CUSTOMER_TEMPLATE`` (CUTM, ``TEMPLATE``), ``INFOR_ORDER_TYPE`` (ORTP, the
customer's default), ``INFOR_GL_INTERFACE`` (GLS840 INTN, ``STRIPE``),
``INFOR_PARTNER``/``INFOR_MESSAGE_TYPE`` (MMS850 E0PA/E065, ``STRIPE``),
``INFOR_WAREHOUSES`` (``MAIN=100,EAST=200``: location -> WHLO; unmapped locations
use their first three characters) and ``INFOR_PAYMENT_TYPES`` (``CARD=CRD,ACH=ACH``:
payment method -> ARS040 BOPE).

How documents map (M3 field lengths are the binding constraint):

========== ========================================= =========================================
kind       natural key (find)                        create (one bulk request per program)
========== ========================================= =========================================
customer   OCUSMA.YRE2 = Stripe id (EXPORTMI)        CRS610MI Add (CUNO = "S" + hash) +
                                                     ChgFinancial (CUCD, TXAP)
order      OOHEAD.CUOR = id or 20-char hash,         OIS100MI AddBatchHead -> AddBatchLine ->
           YREF = id (EXPORTMI)                      Confirm (three requests: ORNO is an output)
invoice    the order's invoice (OIS350MI             produced by the order flow; an invoice
           LstAllInvByCO)                            without an order gets an order first
payment    PBID = "P" + hash (EXPORTMI on the        ARS040MI AddBatchHead, AddBatchLine per
           batch payment file), IRNO = Stripe id     application, ControlBatch
journal    FGLEDG.VTXT = Stripe id (EXPORTMI)        GLS840MI AddBatchHead, AddBatchLineFld,
                                                     CtrlBatch, UpdBatch; EXI1 = source,
                                                     EXI2 = memo (GL additional information)
deposit    FGLEDG.VTXT = "DEP " + payout id          as a journal: Dr bank, Cr clearing
inventory  MMS850MI GetMvxMsg (PMSN = "I" + hash)    MMS850MI AddAdjust (PRFL *EXE)
========== ========================================= =========================================

Writes are never replayed blindly: a transient failure on a write (its answer may be
lost after M3 acted) makes ``post`` find again and create only what is still missing.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from domain.erp import (Address, BankDeposit, Customer, DocKind, Document, ErpRef,
                        InventoryAdjustment, Invoice, JournalEntry, JournalLine, OrderLine,
                        Payment, PaymentApplication, SalesOrder)
from domain.money import Money, from_decimal, to_decimal

from .base import (ErpAdapter, ErpAuthError, ErpError, ErpHttp, ErpNotFound, ErpRecord,
                   ErpTransientError, ErpValidationError, PostResult, RetryPolicy, decimal_str,
                   one_kind)

M3_EXECUTE = "/M3/m3api-rest/v2/execute"
MAX_TRANSACTIONS = 1000          # per bulk request; a document's transactions stay together
SEP = ";"
DEPOSIT_TAG, REVERSAL_TAG = "DEP ", "DEPR "
SOURCE_INFO, MEMO_INFO = "1", "2"          # GL additional information numbers (EXN1/EXN2)
DEPOSIT_SOURCE = "bank_deposit"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SAFE = re.compile(r"^[A-Za-z0-9_:.\-]+$")


def short_key(prefix: str, text: str, width: int) -> str:
    """``prefix`` + base36 of SHA-256(text), ``width`` characters: a stable M3 key for a long id."""
    n = int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")
    out = []
    for _ in range(width - len(prefix)):
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
    return prefix + "".join(out)


def order_key(external_id: str) -> str:
    """CUOR (20): the Stripe id itself when it fits, else a hash of it."""
    return external_id if len(external_id) <= 20 and _SAFE.match(external_id) else (
        short_key("S", external_id, 20))


def _ymd(d: date) -> str:
    return d.strftime("%Y%m%d")


def _date(text: str) -> date:
    return datetime.strptime(text.strip(), "%Y%m%d").date()


def _quote(value: str) -> str:
    if "'" in value:
        raise ErpValidationError(f"{value!r} cannot be looked up in M3 (quote character)")
    return f"'{value}'"


def _amount(money: Money) -> str:
    return decimal_str(to_decimal(money.amount, money.currency))


def _money(text: str, currency: str) -> Money:
    return Money(from_decimal(Decimal(text.strip() or "0"), currency), currency)


def _pairs(text: str) -> dict[str, str]:
    out = {}
    for part in (text or "").split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip().upper()] = v.strip()
    return out


# ---------------------------------------------------------------------------- credentials
@dataclass(frozen=True, repr=False)
class IonApi:
    """The ``.ionapi`` file (ti, ci, cs, iu, pu, ot, saak, sask, ...); secrets never shown."""

    ti: str
    ci: str
    cs: str
    iu: str
    pu: str
    ot: str
    saak: str
    sask: str
    revoke: str = "revoke_token.oauth2"

    @classmethod
    def load(cls, path: str | Path) -> IonApi:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ErpAuthError(f"cannot read the .ionapi file {path}: {type(exc).__name__}") from None
        missing = [k for k in ("ti", "ci", "cs", "iu", "pu", "ot", "saak", "sask") if not data.get(k)]
        if missing:
            raise ErpAuthError(f".ionapi file {path} lacks {', '.join(missing)}")
        return cls(str(data["ti"]), str(data["ci"]), str(data["cs"]), str(data["iu"]),
                   str(data["pu"]), str(data["ot"]), str(data["saak"]), str(data["sask"]),
                   str(data.get("or") or "revoke_token.oauth2"))

    @property
    def token_url(self) -> str:
        return urljoin(self.pu if self.pu.endswith("/") else self.pu + "/", self.ot)

    def __repr__(self) -> str:
        return f"IonApi(ti={self.ti!r}, iu={self.iu!r}, pu={self.pu!r})"


class Tokens:
    """OAuth 2.0 against the ION SSO: password grant with the service account, refresh grant
    before expiry; ``invalidate`` after a 401 makes the next call refresh, then re-login."""

    MARGIN = 60.0   # refresh this long before expiry

    def __init__(self, ion: IonApi, http: ErpHttp) -> None:
        self.ion, self.http = ion, http
        self._access: str | None = None
        self._refresh: str | None = None
        self._expires = 0.0

    def __repr__(self) -> str:
        return f"Tokens(ti={self.ion.ti!r}, valid={self._access is not None})"

    def _grant(self, form: dict[str, str]) -> bool:
        form = {**form, "client_id": self.ion.ci, "client_secret": self.ion.cs}
        resp = self.http.request("POST", self.ion.token_url, data=form, retry_500=True,
                                 headers={"Accept": "application/json"})
        if resp.status_code != 200:
            if form["grant_type"] == "refresh_token" and resp.status_code in (400, 401):
                return False
            try:
                body = resp.json()
                why = f"{body.get('error')}: {body.get('error_description', '')}"
            except ValueError:
                why = resp.text[:200]
            raise ErpAuthError(f"ION API token request refused (HTTP {resp.status_code}) {why}",
                               status=resp.status_code)
        body = resp.json()
        self._access = body["access_token"]
        self._refresh = body.get("refresh_token") or self._refresh
        self._expires = time.monotonic() + float(body.get("expires_in") or 3600)
        return True

    def login(self) -> None:
        self._grant({"grant_type": "password", "username": self.ion.saak,
                     "password": self.ion.sask})

    def refresh(self) -> None:
        if not (self._refresh and self._grant({"grant_type": "refresh_token",
                                               "refresh_token": self._refresh})):
            self.login()

    def header(self) -> dict[str, str]:
        if self._access is None:
            self.login()
        elif time.monotonic() > self._expires - self.MARGIN:
            self.refresh()
        return {"Authorization": f"Bearer {self._access}"}

    def expire(self) -> None:
        self._expires = 0.0


# ---------------------------------------------------------------------------- adapter
class InforAdapter(ErpAdapter):
    erp = "infor"

    def __init__(self, base_url: str, ion: IonApi, company: str, division: str, *,
                 customer_template: str = "TEMPLATE", order_type: str = "",
                 gl_interface: str = "STRIPE", partner: str = "STRIPE",
                 message_type: str = "STRIPE", warehouses: Mapping[str, str] | None = None,
                 payment_types: Mapping[str, str] | None = None, timeout: float = 30.0,
                 retry: RetryPolicy | None = None) -> None:
        self.ion, self.cono, self.divi = ion, str(company), str(division)
        self.customer_template, self.order_type = customer_template, order_type
        self.gl_interface, self.partner, self.message_type = gl_interface, partner, message_type
        self.warehouses = {k.upper(): v for k, v in (warehouses or {}).items()}
        self.payment_types = {"CARD": "CRD", **{k.upper(): v for k, v in
                                               (payment_types or {}).items()}}
        self.retry = retry or RetryPolicy()
        base = base_url.rstrip("/")
        self.execute_url = f"/{ion.ti}{M3_EXECUTE}"
        self._sso = ErpHttp(ion.pu, timeout=timeout, retry=self.retry)
        self._http = ErpHttp(base, timeout=timeout, retry=self.retry,
                             headers={"Accept": "application/json"})
        self.tokens = Tokens(ion, self._sso)
        # positive lookups (safe to keep: M3 keys never change once assigned)
        self._cuno: dict[str, str] = {}            # customer external id -> CUNO
        self._customer_ext: dict[str, str] = {}    # CUNO -> customer external id
        self._orno: dict[str, str] = {}            # order external id -> ORNO
        self._invoice: dict[str, dict[str, str]] = {}   # invoice external id -> M3 invoice
        self._locations: dict[str, str] = {}       # WHLO -> the location it was asked as

    def __repr__(self) -> str:
        return f"InforAdapter(base_url={self._http.base_url!r}, tenant={self.ion.ti!r}, " \
               f"company={self.cono!r}, division={self.divi!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> InforAdapter:
        path = env.get("INFOR_IONAPI_FILE")
        if not path:
            raise ValueError("INFOR_IONAPI_FILE is not set (the .ionapi credentials file)")
        ion = IonApi.load(path)
        missing = [k for k in ("INFOR_COMPANY", "INFOR_DIVISION") if not env.get(k)]
        if missing:
            raise ValueError(f"{', '.join(missing)} not set (M3 company CONO / division DIVI)")
        return cls(env.get("ERP_BASE_URL") or ion.iu, ion, env["INFOR_COMPANY"],
                   env["INFOR_DIVISION"],
                   customer_template=env.get("INFOR_CUSTOMER_TEMPLATE") or "TEMPLATE",
                   order_type=env.get("INFOR_ORDER_TYPE") or "",
                   gl_interface=env.get("INFOR_GL_INTERFACE") or "STRIPE",
                   partner=env.get("INFOR_PARTNER") or "STRIPE",
                   message_type=env.get("INFOR_MESSAGE_TYPE") or "STRIPE",
                   warehouses=_pairs(env.get("INFOR_WAREHOUSES", "")),
                   payment_types=_pairs(env.get("INFOR_PAYMENT_TYPES", "")))

    @property
    def calls(self) -> int:
        return self._sso.calls + self._http.calls

    def close(self) -> None:
        for http in (self._sso, self._http):
            http.close()

    # ------------------------------------------------------------------ HTTP + MI
    def _call(self, method: str, url: str, *, write: bool = False, **kw: Any) -> dict[str, Any]:
        for attempt in range(3):
            # a write is sent once: after a transient failure post() finds what landed first
            resp = self._http.request(method, url, headers=self.tokens.header(),
                                      retry_500=not write, retry=not write, **kw)
            if resp.status_code != 401:
                break
            # expired or revoked: refresh once, then log in again (401: nothing was executed)
            if attempt == 0:
                self.tokens.refresh()
            else:
                self.tokens.login()
        status = resp.status_code
        if status == 401:
            raise ErpAuthError("ION API gateway refused the access token (HTTP 401)", status=401)
        if status == 403:
            raise ErpAuthError("ION API gateway: access to M3 denied (HTTP 403)", status=403)
        if status == 404:
            raise ErpNotFound(f"M3 MI endpoint not found (HTTP 404): {url}", status=404,
                              body=resp.text[:500])
        if status >= 500:      # a write's 500: M3 may have acted, post() re-finds
            raise ErpTransientError(f"HTTP {status}", status=status, body=resp.text[:500])
        if status >= 400:
            raise ErpError(f"M3 MI request refused (HTTP {status}): {resp.text[:300]}",
                           status=status)
        try:
            data = resp.json()
        except ValueError:
            raise ErpTransientError(f"M3 answered HTTP {status} without JSON") from None
        if data.get("wasTerminated"):
            reason = data.get("terminationReason") or "bulk request terminated"
            cls = ErpAuthError if "authoriz" in reason.lower() else ErpError
            raise cls(f"M3: {reason}", code=data.get("terminationErrorType"))
        return data

    def _bulk(self, program: str, groups: Sequence[Sequence[dict[str, Any]]], *,
              write: bool = False, maxrecs: int = 0) -> list[list[dict[str, Any]]]:
        """Execute transaction groups in as few bulk requests as fit; results per group."""
        out: list[list[dict[str, Any]]] = []
        chunk: list[Sequence[dict[str, Any]]] = []
        size = 0

        def flush() -> None:
            if not chunk:
                return
            txns = [t for g in chunk for t in g]
            body = {"program": program, "cono": int(self.cono) if self.cono.isdigit()
                    else self.cono, "divi": self.divi, "transactions": txns}
            data = self._call("POST", self.execute_url, write=write, json=body,
                              params={"cono": self.cono, "divi": self.divi, "maxrecs": maxrecs})
            results = data.get("results") or []
            if len(results) != len(txns):
                raise ErpError(f"M3 bulk {program}: {len(results)} results for {len(txns)} "
                               f"transactions")
            pos = 0
            for g in chunk:
                out.append(results[pos:pos + len(g)])
                pos += len(g)
            chunk.clear()

        for group in groups:
            if size + len(group) > MAX_TRANSACTIONS and chunk:
                flush()
                size = 0
            chunk.append(group)
            size += len(group)
        flush()
        return out

    @staticmethod
    def _nok(item: dict[str, Any]) -> ErpValidationError | None:
        if item.get("errorMessage") or item.get("errorType") or item.get("notProcessed"):
            return ErpValidationError(item.get("errorMessage") or item.get("errorType")
                                      or "transaction not processed",
                                      field=item.get("errorField"), code=item.get("errorCode"))
        return None

    @staticmethod
    def _records(item: dict[str, Any]) -> list[dict[str, str]]:
        return [{k: "" if v is None else v.strip() if isinstance(v, str) else str(v)
                 for k, v in r.items()} for r in item.get("records") or []]

    @staticmethod
    def _select(columns: Sequence[str], table: str, where: str = "") -> dict[str, Any]:
        query = f"{','.join(columns)} from {table}" + (f" where {where}" if where else "")
        return {"transaction": "Select", "record": {"QERY": query, "SEPC": SEP, "HDRS": "0"},
                "selectedColumns": ["REPL"]}

    def _rows(self, item: dict[str, Any], columns: Sequence[str]) -> list[dict[str, str]]:
        """REPL lines of a Select as dicts (the last column may hold the separator)."""
        nok = self._nok(item)
        if nok is not None:
            raise ErpError(f"M3 EXPORTMI: {nok.message}", code=nok.code)
        rows = []
        for rec in item.get("records") or []:
            values = (rec.get("REPL") or "").split(SEP, len(columns) - 1)
            values += [""] * (len(columns) - len(values))
            rows.append({c: v.strip() for c, v in zip(columns, values)})
        return rows

    def _export(self, queries: Sequence[tuple[Sequence[str], str, str]]) -> list[list[dict]]:
        """Run EXPORTMI Selects (columns, table, where) in one bulk; rows per query."""
        if not queries:
            return []
        results = self._bulk("EXPORTMI", [[self._select(c, t, w)] for c, t, w in queries])
        return [self._rows(r[0], q[0]) for r, q in zip(results, queries)]

    def _co(self, prefix: str, division: bool = False) -> str:
        where = f"{prefix}CONO = {self.cono}"
        return where + (f" and {prefix}DIVI = {_quote(self.divi)}" if division else "")

    # ------------------------------------------------------------------ contract
    def health(self) -> None:
        data = self._call("GET", f"{self.execute_url}/CRS610MI/LstByNumber",
                          params={"cono": self.cono, "divi": self.divi, "maxrecs": 1})
        [item] = data.get("results") or [{}]
        nok = self._nok(item)
        if nok is not None:
            raise ErpError(f"M3 health check: {nok.message}", code=nok.code)

    def find(self, kind: DocKind, external_ids: Sequence[str]) -> dict[str, ErpRef]:
        ids = list(dict.fromkeys(external_ids))
        return self._finders[kind](self, ids) if ids else {}

    def post(self, docs: Sequence[Document]) -> list[PostResult]:
        if not docs:
            return []
        kind = one_kind(docs)
        first: dict[str, Document] = {}
        for doc in docs:
            first.setdefault(doc.external_id, doc)
        results: dict[str, PostResult] = {}
        attempted: set[str] = set()
        last: ErpTransientError | None = None
        for attempt in range(1, self.retry.attempts + 1):
            todo = [d for e, d in first.items() if e not in results]
            if not todo:
                break
            found = self._find_for_post(kind, todo)
            last = None          # the ERP answered again: what it holds is known
            for doc in todo:
                if doc.external_id in found:
                    results[doc.external_id] = PostResult(doc.external_id,
                                                          found[doc.external_id],
                                                          created=doc.external_id in attempted)
            missing = [d for d in todo if d.external_id not in results]
            if not missing:
                break
            try:
                results.update(self._creators[kind](self, missing))
                break
            except ErpTransientError as exc:   # the answer may be lost after M3 acted
                last = exc
                attempted.update(d.external_id for d in missing)
                delay = random.uniform(0, min(self.retry.cap, self.retry.base * 2 ** (attempt - 1)))
                time.sleep(max(delay, exc.retry_after or 0.0))
        if last is not None:
            raise last
        return [results[d.external_id] for d in docs]

    def _find_for_post(self, kind: DocKind, docs: Sequence[Any]) -> dict[str, ErpRef]:
        """find(), plus what creating needs, in the same request where possible."""
        ids = [d.external_id for d in docs]
        if kind == DocKind.SALES_ORDER:
            return self._find_orders(ids, [d.customer for d in docs])
        if kind == DocKind.PAYMENT:
            return self._find_payments(ids, [a.invoice for d in docs for a in d.applications])
        if kind == DocKind.DEPOSIT:
            return self._find_deposits_for_post(docs)
        return self.find(kind, ids)

    def read(self, kind: DocKind, external_ids: Sequence[str] | None = None) -> list[ErpRecord]:
        ids = None if external_ids is None else list(dict.fromkeys(external_ids))
        if ids == []:
            return []
        return self._readers[kind](self, ids)

    def on_hand(self, sku: str, location: str) -> Decimal:
        data = self._call("GET", f"{self.execute_url}/MMS200MI/GetItmWhsBal",
                          params={"cono": self.cono, "divi": self.divi,
                                  "WHLO": self._whlo(location), "ITNO": sku})
        [item] = data.get("results") or [{}]
        nok = self._nok(item)
        if nok is not None:
            raise ErpNotFound(nok.message, field=nok.field, code=nok.code)
        [rec] = self._records(item)
        return Decimal(rec.get("STQT") or "0")

    def _whlo(self, location: str) -> str:
        """Product location -> M3 warehouse (WHLO, 3 characters): INFOR_WAREHOUSES, else the
        location's first three characters."""
        loc = (location or "").strip().upper()
        whlo = self.warehouses.get(loc) or loc[:3]
        self._locations.setdefault(whlo, loc)
        return whlo

    def _location(self, whlo: str) -> str:
        for loc, w in self.warehouses.items():
            if w == whlo:
                return loc
        return self._locations.get(whlo, whlo)

    def _ref(self, kind: DocKind, key: str, external_id: str) -> ErpRef:
        return ErpRef(erp=self.erp, kind=kind, id=key, external_id=external_id)

    def _merge(self, out: dict[str, PostResult], doc: Document, errors: Sequence[Any],
               ref: ErpRef | None) -> None:
        err = next((e for e in errors if e is not None), None)
        if err is not None:
            out[doc.external_id] = PostResult(doc.external_id, error=err)
        elif ref is None:
            out[doc.external_id] = PostResult(doc.external_id, error=ErpValidationError(
                "M3 answered without the document's key"))
        else:
            out[doc.external_id] = PostResult(doc.external_id, ref, created=True)

    # ------------------------------------------------------------------ customers
    def _customer_queries(self, ids: Sequence[str]) -> list[tuple[list[str], str, str]]:
        return [(["OKCUNO", "OKYRE2"], "OCUSMA", f"{self._co('OK')} and OKYRE2 = {_quote(e)}")
                for e in ids]

    def _learn_customers(self, ids: Sequence[str], rows_per_id: Sequence[list[dict]]) -> None:
        for ext, rows in zip(ids, rows_per_id):
            if rows:
                self._cuno[ext] = rows[0]["OKCUNO"]
                self._customer_ext[rows[0]["OKCUNO"]] = ext

    def _find_customers(self, ids: Sequence[str]) -> dict[str, ErpRef]:
        todo = [e for e in ids if e not in self._cuno and _SAFE.match(e)]
        self._learn_customers(todo, self._export(self._customer_queries(todo)))
        return {e: self._ref(DocKind.CUSTOMER, self._cuno[e], e) for e in ids if e in self._cuno}

    def _create_customers(self, docs: Sequence[Customer]) -> dict[str, PostResult]:
        out: dict[str, PostResult] = {}
        unsafe = [c for c in docs if not _SAFE.match(c.external_id)]
        for c in unsafe:        # could not be found again (EXPORTMI has no quoting)
            out[c.external_id] = PostResult(c.external_id, error=ErpValidationError(
                f"Customer id {c.external_id!r} has characters M3 lookups cannot quote",
                field="YRE2"))
        docs = [c for c in docs if c not in unsafe]
        groups = []
        for c in docs:
            cuno = short_key("S", c.external_id, 10)
            name = " ".join(c.name.split())[:36] or c.external_id[:36]
            bill = c.billing or Address()
            add = {"CUTM": self.customer_template, "CUNO": cuno, "CUNM": name, "CUA1": name,
                   "CUA2": (bill.line1 or "")[:36], "CUA3": (bill.line2 or "")[:36],
                   "TOWN": (bill.city or "")[:20], "PONO": (bill.postal_code or "")[:10],
                   "ECAR": bill.region if bill.region and len(bill.region) <= 2 else "",
                   "CSCD": (bill.country or "")[:3], "PHNO": c.phone or "",
                   "MAIL": c.email or "", "YRE2": c.external_id}
            groups.append([
                {"transaction": "Add", "record": {k: v for k, v in add.items() if v},
                 "selectedColumns": ["CUNO"]},
                {"transaction": "ChgFinancial", "record": {
                    "CUNO": cuno, "CUCD": c.currency, "TXAP": "0" if c.tax_exempt else "1"}}])
        for doc, items in zip(docs, self._bulk("CRS610MI", groups, write=True)):
            recs = self._records(items[0])
            cuno = recs[0].get("CUNO") if recs else None
            ref = self._ref(DocKind.CUSTOMER, cuno, doc.external_id) if cuno else None
            if cuno and self._nok(items[0]) is None:
                self._cuno[doc.external_id], self._customer_ext[cuno] = cuno, doc.external_id
            self._merge(out, doc, [self._nok(i) for i in items], ref)
        return out

    def _customer_ids(self, cunos: Sequence[str]) -> dict[str, str]:
        """CUNO -> Stripe id (YRE2) for the given customers."""
        todo = [c for c in dict.fromkeys(cunos) if c and c not in self._customer_ext]
        if todo:
            results = self._bulk("CRS610MI", [[{"transaction": "GetBasicData",
                                                 "record": {"CUNO": c},
                                                 "selectedColumns": ["CUNO", "YRE2"]}]
                                               for c in todo])
            for cuno, items in zip(todo, results):
                recs = self._records(items[0])
                self._customer_ext[cuno] = (recs[0].get("YRE2") if recs else "") or cuno
        return {c: self._customer_ext.get(c, c) for c in cunos}

    def _read_customers(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        if ids is not None:
            refs = self._find_customers(ids)
            cunos = [refs[e].id for e in ids if e in refs]
            results = self._bulk("CRS610MI", [[{"transaction": "LstByNumber",
                                                "record": {"CUNO": c}}] for c in cunos],
                                 maxrecs=1)
            recs = [r for items, c in zip(results, cunos) for r in self._records(items[0])
                    if r.get("CUNO") == c]
        else:
            recs, start = [], ""
            while True:
                data = self._call("GET", f"{self.execute_url}/CRS610MI/LstByNumber",
                                  params={"cono": self.cono, "divi": self.divi, "maxrecs": 500,
                                          "CUNO": start})
                page = self._records((data.get("results") or [{}])[0])
                page = [r for r in page if r.get("CUNO") != start or not start]
                if not page:
                    break
                recs.extend(page)
                start = page[-1]["CUNO"]
        out = []
        for r in recs:
            ext = r.get("YRE2")
            if not ext:
                continue            # not a customer the product created (e.g. a template)
            self._cuno[ext], self._customer_ext[r["CUNO"]] = r["CUNO"], ext
            has_address = any(r.get(k) for k in ("CUA2", "CUA3", "TOWN", "ECAR", "PONO", "CSCD"))
            doc = Customer(external_id=ext, name=r.get("CUNM") or ext, email=r.get("MAIL") or None,
                           phone=r.get("PHNO") or None, currency=r.get("CUCD") or "USD",
                           billing=Address(line1=r.get("CUA2") or None, line2=r.get("CUA3") or None,
                                           city=r.get("TOWN") or None, region=r.get("ECAR") or None,
                                           postal_code=r.get("PONO") or None,
                                           country=r.get("CSCD") or None) if has_address else None,
                           tax_exempt=r.get("TXAP") == "0")
            out.append(ErpRecord(self._ref(DocKind.CUSTOMER, r["CUNO"], ext), doc))
        return out

    # ------------------------------------------------------------------ sales orders
    def _order_queries(self, ids: Sequence[str]) -> list[tuple[list[str], str, str]]:
        return [(["OAORNO", "OACUOR", "OAYREF", "OACUNO"], "OOHEAD",
                 f"{self._co('OA')} and OACUOR = {_quote(order_key(e))}") for e in ids]

    def _learn_orders(self, ids: Sequence[str], rows_per_id: Sequence[list[dict]]) -> None:
        for ext, rows in zip(ids, rows_per_id):
            mine = [r for r in rows if r["OAYREF"] == ext] or (
                rows if len(ext) > 30 or not _SAFE.match(ext) else [])
            if mine:
                self._orno[ext] = mine[0]["OAORNO"]

    def _find_orders(self, ids: Sequence[str], customers: Sequence[str] = ()) -> dict[str, ErpRef]:
        """Orders by Stripe id; also learns the CUNOs of ``customers`` in the same request."""
        todo = [e for e in ids if e not in self._orno]
        custs = [c for c in dict.fromkeys(customers) if c not in self._cuno and _SAFE.match(c)]
        rows = self._export(self._order_queries(todo) + self._customer_queries(custs))
        self._learn_orders(todo, rows[:len(todo)])
        self._learn_customers(custs, rows[len(todo):])
        return {e: self._ref(DocKind.SALES_ORDER, self._orno[e], e) for e in ids if e in self._orno}

    def _find_orders_by_id(self, ids: Sequence[str]) -> dict[str, ErpRef]:
        return self._find_orders(ids)

    def _create_orders(self, docs: Sequence[SalesOrder | Invoice], kind: DocKind,
                       ) -> dict[str, PostResult]:
        """OIS100MI batch order: heads, then lines, then Confirm for orders whose lines all passed."""
        self._find_orders([], [d.customer for d in docs])
        heads = []
        for d in docs:
            head = {"CUNO": self._cuno.get(d.customer) or short_key("S", d.customer, 10),
                    "CUOR": order_key(d.external_id),
                    "YREF": d.external_id if len(d.external_id) <= 30 else "",
                    "CUCD": d.currency, "ORDT": _ymd(self._doc_date(d)),
                    "RLDT": _ymd(self._doc_date(d)), "ORTP": self.order_type}
            heads.append([{"transaction": "AddBatchHead",
                           "record": {k: v for k, v in head.items() if v},
                           "selectedColumns": ["ORNO"]}])
        errors: dict[str, list[Any]] = {d.external_id: [] for d in docs}
        temp: dict[str, str] = {}
        for d, items in zip(docs, self._bulk("OIS100MI", heads, write=True)):
            nok = self._nok(items[0])
            recs = self._records(items[0])
            if nok is None and recs and recs[0].get("ORNO"):
                temp[d.external_id] = recs[0]["ORNO"]
            else:
                errors[d.external_id].append(nok or ErpValidationError("no order number"))
        with_head = [d for d in docs if d.external_id in temp]
        lines = [[{"transaction": "AddBatchLine", "record": {
            "ORNO": temp[d.external_id], "ITNO": line.sku, "ORQT": decimal_str(line.quantity),
            "SAPR": _amount(line.unit_price), "ITDS": " ".join(line.description.split())[:30]},
            "selectedColumns": ["PONR"]} for line in d.lines] for d in with_head]
        clean = []
        for d, items in zip(with_head, self._bulk("OIS100MI", lines, write=True)):
            noks = [self._nok(i) for i in items]
            errors[d.external_id].extend(noks)
            if not any(noks):
                clean.append(d)
        confirmed: dict[str, str] = {}
        confirms = [[{"transaction": "Confirm", "record": {"ORNO": temp[d.external_id]},
                      "selectedColumns": ["ORNO", "STAT"]}] for d in clean]
        for d, items in zip(clean, self._bulk("OIS100MI", confirms, write=True)):
            nok = self._nok(items[0])
            recs = self._records(items[0])
            if nok is None and recs and recs[0].get("ORNO"):
                confirmed[d.external_id] = self._orno[d.external_id] = recs[0]["ORNO"]
            errors[d.external_id].append(nok)
        out: dict[str, PostResult] = {}
        for d in docs:
            orno = confirmed.get(d.external_id)
            self._merge(out, d, errors[d.external_id],
                        self._ref(kind, orno, d.external_id) if orno else None)
        return out

    @staticmethod
    def _doc_date(d: SalesOrder | Invoice) -> date:
        return d.order_date if isinstance(d, SalesOrder) else d.invoice_date

    def _create_sales_orders(self, docs: Sequence[SalesOrder]) -> dict[str, PostResult]:
        return self._create_orders(docs, DocKind.SALES_ORDER)

    def _orders(self, ids: Sequence[str] | None) -> list[tuple[str, str]]:
        """(external id, ORNO) of the product's orders: the given ones, or all."""
        if ids is not None:
            refs = self._find_orders(ids)
            return [(e, refs[e].id) for e in ids if e in refs]
        [rows] = self._export([(["OAORNO", "OACUOR", "OAYREF"], "OOHEAD", self._co("OA"))])
        out = []
        for r in rows:
            ext = r["OAYREF"]
            if ext and order_key(ext) == r["OACUOR"]:   # only orders the product created
                self._orno[ext] = r["OAORNO"]
                out.append((ext, r["OAORNO"]))
        return out

    def _order_details(self, ornos: Sequence[str]) -> dict[str, tuple[dict, list[dict]]]:
        results = self._bulk("OIS100MI", [[
            {"transaction": "GetHead", "record": {"ORNO": o},
             "selectedColumns": ["ORNO", "CUNO", "ORDT", "CUCD", "CUOR", "YREF"]},
            {"transaction": "LstLine", "record": {"ORNO": o},
             "selectedColumns": ["PONR", "ITNO", "ITDS", "ORQT", "SAPR"]}] for o in ornos])
        out = {}
        for orno, (head, lines) in zip(ornos, results):
            heads = self._records(head)
            if heads:
                out[orno] = (heads[0], self._records(lines))
        return out

    def _lines(self, lines: Sequence[dict[str, str]], currency: str) -> tuple[OrderLine, ...]:
        return tuple(OrderLine(line_no=int(x.get("PONR") or n), sku=x["ITNO"],
                               description=x.get("ITDS") or x["ITNO"],
                               quantity=Decimal(x.get("ORQT") or "0"),
                               unit_price=_money(x.get("SAPR") or "0", currency))
                     for n, x in enumerate(lines, start=1))

    def _read_sales_orders(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        orders = self._orders(ids)
        details = self._order_details([o for _, o in orders])
        customers = self._customer_ids([h["CUNO"] for h, _ in details.values()])
        out = []
        for ext, orno in orders:
            if orno not in details:
                continue
            head, lines = details[orno]
            cucd = head["CUCD"]
            doc = SalesOrder(external_id=ext, customer=customers.get(head["CUNO"], head["CUNO"]),
                             order_date=_date(head["ORDT"]), currency=cucd,
                             lines=self._lines(lines, cucd))
            out.append(ErpRecord(self._ref(DocKind.SALES_ORDER, orno, ext), doc))
        return out

    # ------------------------------------------------------------------ invoices
    def _invoices_of(self, pairs: Sequence[tuple[str, str]],
                     fresh: bool = False) -> dict[str, dict[str, str]]:
        """(invoice external id, ORNO) -> the order's invoice (OIS350MI LstAllInvByCO);
        ``fresh`` re-reads cached ones (balances change)."""
        todo = [(e, o) for e, o in pairs if fresh or e not in self._invoice]
        ornos = list(dict.fromkeys(o for _, o in todo))
        results = self._bulk("OIS350MI", [[{"transaction": "LstAllInvByCO",
                                             "record": {"ORNO": o}}] for o in ornos])
        by_order = {o: self._records(items[0]) for o, items in zip(ornos, results)}
        for ext, orno in todo:
            invs = by_order.get(orno) or []
            if invs:
                self._invoice[ext] = {**invs[0], "ORNO": orno}
        return {e: self._invoice[e] for e, _ in pairs if e in self._invoice}

    @staticmethod
    def _invoice_id(inv: dict[str, str]) -> str:
        return f"{inv['YEA4']}/{inv['IVNO']}"

    def _find_invoices(self, ids: Sequence[str]) -> dict[str, ErpRef]:
        known = {e for e in ids if e in self._invoice}
        orders = self._find_orders([e for e in ids if e not in known])
        invs = self._invoices_of([(e, orders[e].id) for e in ids if e in orders])
        return {e: self._ref(DocKind.INVOICE, self._invoice_id(invs.get(e) or self._invoice[e]), e)
                for e in ids if e in invs or e in self._invoice}

    def _create_invoices(self, docs: Sequence[Invoice]) -> dict[str, PostResult]:
        out: dict[str, PostResult] = {}
        by_order = [d for d in docs if d.order]
        orders = self._find_orders(list(dict.fromkeys(d.order for d in by_order)))
        pairs = [(d.external_id, orders[d.order].id) for d in by_order if d.order in orders]
        invs = self._invoices_of(pairs)
        for d in by_order:
            if d.external_id in invs:
                out[d.external_id] = PostResult(d.external_id, self._ref(
                    DocKind.INVOICE, self._invoice_id(invs[d.external_id]), d.external_id))
            elif d.order in orders:
                out[d.external_id] = PostResult(d.external_id, error=ErpValidationError(
                    f"Customer order {orders[d.order].id} ({d.order}) is not invoiced yet in M3: "
                    f"invoices come from delivering and invoicing the order", field="ORNO"))
            else:
                out[d.external_id] = PostResult(d.external_id, error=ErpValidationError(
                    f"Sales order {d.order} of invoice {d.external_id} does not exist in M3 "
                    f"(no OOHEAD with CUOR {order_key(d.order)})", field="ORNO"))
        standalone = [d for d in docs if not d.order]
        if standalone:           # M3 invoices only orders: the invoice brings its own order
            made = self._create_orders(standalone, DocKind.INVOICE)
            done = [d for d in standalone if made[d.external_id].ok]
            invs = self._invoices_of([(d.external_id, made[d.external_id].ref.id) for d in done])
            for d in standalone:
                res = made[d.external_id]
                if res.ok and d.external_id in invs:
                    res = PostResult(d.external_id, self._ref(
                        DocKind.INVOICE, self._invoice_id(invs[d.external_id]), d.external_id),
                        created=True)
                elif res.ok:
                    res = PostResult(d.external_id, error=ErpValidationError(
                        f"Customer order {res.ref.id} was confirmed but M3 has not invoiced it"))
                out[d.external_id] = res
        return out

    def _read_invoices(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        orders = self._orders(ids)
        invs = self._invoices_of(orders, fresh=True)
        details = self._order_details([o for e, o in orders if e in invs])
        customers = self._customer_ids([h["CUNO"] for h, _ in details.values()])
        out = []
        for ext, orno in orders:
            inv = invs.get(ext)
            if inv is None or orno not in details:
                continue
            head, lines = details[orno]
            cucd = inv.get("CUCD") or head["CUCD"]
            total = _money(inv["IVAV"], cucd)
            fields = dict(external_id=ext, order=head.get("YREF") or ext,
                          customer=customers.get(inv.get("CUNO") or head["CUNO"], head["CUNO"]),
                          invoice_date=_date(inv["IDAT"]), due_date=_date(inv.get("DUDT") or
                                                                          inv["IDAT"]),
                          currency=cucd, lines=self._lines(lines, cucd), total=total)
            try:
                doc = Invoice(**fields)
            except ValueError:   # M3 rounded the lines differently: keep what M3 holds
                doc = Invoice.model_construct(**fields)
            out.append(ErpRecord(self._ref(DocKind.INVOICE, self._invoice_id(inv), ext), doc,
                                 open_balance=_money(inv["RAFC"], cucd)))
        return out

    # ------------------------------------------------------------------ payments
    PAY_COLS = ["BPPBID", "BPTRNO", "BPCINO", "BPINYR", "BPCUNO", "BPPYAM", "BPCUCD", "BPLPDT",
                "BPBOPE", "BPBAAN", "BPCKNO", "BPIRNO"]

    def _find_payments(self, ids: Sequence[str], invoices: Sequence[str] = ()) -> dict[str, ErpRef]:
        """Payments by PBID; also looks up the orders of ``invoices`` in the same request."""
        keys = {e: short_key("P", e, 10) for e in ids}
        orders = [e for e in dict.fromkeys(invoices)
                  if e not in self._invoice and e not in self._orno]
        rows = self._export([(["BPPBID"], "FSBPAY", f"{self._co('BP', True)} and BPPBID = "
                              f"{_quote(keys[e])}") for e in ids] + self._order_queries(orders))
        self._learn_orders(orders, rows[len(ids):])
        return {e: self._ref(DocKind.PAYMENT, keys[e], e) for e, r in zip(ids, rows) if r}

    def _resolve_invoices(self, inv_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        todo = [e for e in dict.fromkeys(inv_ids) if e not in self._invoice]
        orders = self._find_orders(todo)
        self._invoices_of([(e, orders[e].id) for e in todo if e in orders])
        return {e: self._invoice[e] for e in inv_ids if e in self._invoice}

    def _create_payments(self, docs: Sequence[Payment]) -> dict[str, PostResult]:
        invs = self._resolve_invoices([a.invoice for d in docs for a in d.applications])
        out: dict[str, PostResult] = {}
        groups, sent = [], []
        for d in docs:
            applied = sum(a.amount.amount for a in d.applications)
            missing = [a.invoice for a in d.applications if a.invoice not in invs]
            if missing:
                out[d.external_id] = PostResult(d.external_id, error=ErpValidationError(
                    f"Invoice {missing[0]} does not exist in M3 (no invoiced customer order "
                    f"with CUOR {order_key(missing[0])})", field="CINO"))
                continue
            if not d.applications or applied != d.amount.amount:
                out[d.external_id] = PostResult(d.external_id, error=ErpValidationError(
                    f"Payment {d.external_id}: {d.amount} received but "
                    f"{Money(applied, d.amount.currency)} applied to invoices; ARS040MI batch "
                    f"payments post invoice applications only", field="PYAM"))
                continue
            pbid = short_key("P", d.external_id, 10)
            method = d.method.strip().upper()
            group = [{"transaction": "AddBatchHead", "record": {
                "PBID": pbid, "BOPE": self.payment_types.get(method, method[:3]),
                "BAAN": d.bank_account, "ACDT": _ymd(d.received_date)}}]
            for n, app in enumerate(d.applications, start=1):
                inv = invs[app.invoice]
                group.append({"transaction": "AddBatchLine", "record": {
                    "PBID": pbid, "TRNO": str(n), "CINO": inv.get("IVNO") or inv.get("CINO"),
                    "INYR": inv["YEA4"], "CUNO": inv["CUNO"], "PYAM": _amount(app.amount),
                    "CUCD": app.amount.currency, "LPDT": _ymd(d.received_date),
                    "CKNO": (d.reference or d.external_id)[:15], "IRNO": d.external_id[:40]}})
            group.append({"transaction": "ControlBatch", "record": {"PBID": pbid}})
            groups.append(group)
            sent.append((d, pbid))
        for (d, pbid), items in zip(sent, self._bulk("ARS040MI", groups, write=True)):
            self._merge(out, d, [self._nok(i) for i in items],
                        self._ref(DocKind.PAYMENT, pbid, d.external_id))
        return out

    def _invoice_ids(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(CINO, INYR) -> invoice external id, through OINVOL (invoice -> order) and OOHEAD."""
        keys = list(dict.fromkeys(keys))
        known = {(v.get("IVNO"), v.get("YEA4")): e for e, v in self._invoice.items()}
        todo = [k for k in keys if k not in known]
        rows = self._export([(["ONIVNO", "ONYEA4", "ONORNO"], "OINVOL",
                              f"{self._co('ON', True)} and ONIVNO = {int(k[0])} and ONYEA4 = "
                              f"{int(k[1])}") for k in todo if k[0].isdigit() and k[1].isdigit()])
        orno = {(r[0]["ONIVNO"], r[0]["ONYEA4"]): r[0]["ONORNO"] for r in rows if r}
        ornos = list(dict.fromkeys(orno.values()))
        heads = self._export([(["OAORNO", "OACUOR", "OAYREF"], "OOHEAD",
                               f"{self._co('OA')} and OAORNO = {_quote(o)}") for o in ornos])
        ext = {o: (h[0]["OAYREF"] or h[0]["OACUOR"]) for o, h in zip(ornos, heads) if h}
        out = dict(known)
        for k in todo:
            if orno.get(k) in ext:
                out[k] = ext[orno[k]]
        return {k: out.get(k, k[0]) for k in keys}

    def _read_payments(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        where = self._co("BP", True)
        if ids is None:
            [rows] = self._export([(self.PAY_COLS, "FSBPAY", where)])
            wanted = None
        else:
            keys = {short_key("P", e, 10): e for e in ids}
            per = self._export([(self.PAY_COLS, "FSBPAY", f"{where} and BPPBID = {_quote(k)}")
                                for k in keys])
            rows = [r for rs in per for r in rs]
            wanted = keys
        batches: dict[str, list[dict[str, str]]] = {}
        for r in rows:
            batches.setdefault(r["BPPBID"], []).append(r)
        invoice_ext = self._invoice_ids([(r["BPCINO"], r["BPINYR"]) for r in rows])
        customers = self._customer_ids([r["BPCUNO"] for r in rows])
        methods = {v: k for k, v in self.payment_types.items()}
        out = []
        for pbid, lines in batches.items():
            first = lines[0]
            ext = wanted[pbid] if wanted else (first["BPIRNO"] or pbid)
            cucd = first["BPCUCD"]
            apps = tuple(PaymentApplication(invoice=invoice_ext[(x["BPCINO"], x["BPINYR"])],
                                            amount=_money(x["BPPYAM"], x["BPCUCD"]))
                         for x in sorted(lines, key=lambda x: int(x["BPTRNO"] or 0)))
            doc = Payment(external_id=ext, customer=customers.get(first["BPCUNO"], first["BPCUNO"]),
                          received_date=_date(first["BPLPDT"]),
                          amount=Money(sum(a.amount.amount for a in apps), cucd),
                          method=methods.get(first["BPBOPE"], first["BPBOPE"]),
                          bank_account=first["BPBAAN"], applications=apps,
                          reference=first["BPIRNO"] or first["BPCKNO"])
            out.append(ErpRecord(self._ref(DocKind.PAYMENT, pbid, ext), doc))
        return out

    # ------------------------------------------------------------------ journals and deposits
    @staticmethod
    def _vtxt(tag: str, external_id: str) -> str:
        text = tag + external_id
        return text if len(text) <= 40 and _SAFE.match(external_id) else (
            tag + short_key("#", external_id, 40 - len(tag)))

    def _find_vouchers(self, kind: DocKind, texts: Mapping[str, str]) -> dict[str, ErpRef]:
        ids = list(texts)
        rows = self._export([(["EGYEA4", "EGVONO"], "FGLEDG",
                              f"{self._co('EG', True)} and EGVTXT = {_quote(texts[e])}")
                             for e in ids])
        return {e: self._ref(kind, f"{r[0]['EGYEA4']}/{r[0]['EGVONO']}", e)
                for e, r in zip(ids, rows) if r}

    def _find_journals(self, ids: Sequence[str]) -> dict[str, ErpRef]:
        return self._find_vouchers(DocKind.JOURNAL, {e: self._vtxt("", e) for e in ids})

    def _find_deposits(self, ids: Sequence[str]) -> dict[str, ErpRef]:
        paid = self._find_vouchers(DocKind.DEPOSIT, {e: self._vtxt(DEPOSIT_TAG, e) for e in ids})
        failed = self._find_vouchers(DocKind.DEPOSIT, {e: self._vtxt(REVERSAL_TAG, e)
                                                       for e in ids})
        return {**paid, **failed}

    def _find_deposits_for_post(self, docs: Sequence[BankDeposit]) -> dict[str, ErpRef]:
        tags = {d.external_id: self._vtxt(REVERSAL_TAG if d.status == "failed" else DEPOSIT_TAG,
                                          d.external_id) for d in docs}
        return self._find_vouchers(DocKind.DEPOSIT, tags)

    def _gl_group(self, key1: str, desc: str, vtxt: str, source: str, memo: str, when: date,
                  legs: Sequence[tuple[str, Money]]) -> list[dict[str, Any]]:
        group: list[dict[str, Any]] = [{"transaction": "AddBatchHead", "record": {
            "CONO": self.cono, "DIVI": self.divi, "KEY1": key1, "INTN": self.gl_interface,
            "DESC": desc[:40]}}]
        for n, (account, signed) in enumerate(legs, start=1):
            rec = {"KEY1": key1, "DIVI": self.divi, "LINE": str(n), "INRI": "GL", "AIT1": account,
                   "CUCD": signed.currency, "CUAM": _amount(signed),
                   "DBCR": "D" if signed.amount > 0 else "C", "ACDT": _ymd(when), "VTXT": vtxt,
                   "EXN1": SOURCE_INFO, "EXI1": source[:45]}
            if memo:
                rec.update(EXN2=MEMO_INFO, EXI2=memo[:45])
            group.append({"transaction": "AddBatchLineFld", "record": rec})
        group.append({"transaction": "CtrlBatch", "record": {"CONO": self.cono,
                                                             "DIVI": self.divi, "KEY1": key1}})
        group.append({"transaction": "UpdBatch", "record": {"CONO": self.cono,
                                                            "DIVI": self.divi, "KEY1": key1}})
        return group

    def _post_vouchers(self, kind: DocKind, docs: Sequence[Document],
                       groups: Sequence[list[dict[str, Any]]]) -> dict[str, PostResult]:
        out: dict[str, PostResult] = {}
        done = []
        for d, items in zip(docs, self._bulk("GLS840MI", groups, write=True)):
            errors = [self._nok(i) for i in items]
            if any(errors):
                self._merge(out, d, errors, None)
            else:
                done.append(d)
        if done:   # UpdBatch does not return the voucher number: read it back
            found = self._find_journals([d.external_id for d in done]) \
                if kind == DocKind.JOURNAL else self._find_deposits_for_post(done)
            for d in done:
                ref = found.get(d.external_id)
                out[d.external_id] = PostResult(d.external_id, ref, created=True) if ref else \
                    PostResult(d.external_id, error=ErpValidationError(
                        "GLS840MI UpdBatch answered OK but no voucher was found"))
        return out

    def _create_journals(self, docs: Sequence[JournalEntry]) -> dict[str, PostResult]:
        groups = []
        for j in docs:
            legs = [(x.account, x.debit if x.debit.amount > 0 else -x.credit) for x in j.lines]
            groups.append(self._gl_group(short_key("J", j.external_id, 15), j.memo or j.source,
                                         self._vtxt("", j.external_id), j.source, j.memo,
                                         j.entry_date, legs))
        return self._post_vouchers(DocKind.JOURNAL, docs, groups)

    def _create_deposits(self, docs: Sequence[BankDeposit]) -> dict[str, PostResult]:
        groups = []
        for d in docs:
            failed = d.status == "failed"
            tag = REVERSAL_TAG if failed else DEPOSIT_TAG
            legs = [(d.bank_account, -d.amount if failed else d.amount),
                    (d.clearing_account, d.amount if failed else -d.amount)]
            groups.append(self._gl_group(short_key("R" if failed else "D", d.external_id, 15),
                                         f"Stripe payout {d.external_id}",
                                         self._vtxt(tag, d.external_id), DEPOSIT_SOURCE,
                                         d.status, d.deposit_date, legs))
        return self._post_vouchers(DocKind.DEPOSIT, docs, groups)

    GL_COLS = ["EGYEA4", "EGVONO", "EGJRNO", "EGJSNO", "EGAIT1", "EGCUCD", "EGCUAM", "EGACDT",
               "EGVTXT"]
    GLX_COLS = ["EGYEA4", "EGJRNO", "EGJSNO", "EGGEXN", "EGGEXI"]

    def _vouchers(self, texts: Sequence[str] | None) -> tuple[list[dict], dict[tuple, dict]]:
        """GL lines (by voucher text, or all) and their additional information."""
        where = self._co("EG", True)
        if texts is None:
            rows, info = self._export([(self.GL_COLS, "FGLEDG", where),
                                       (self.GLX_COLS, "FGLEDX", where)])
        else:
            per = self._export([(self.GL_COLS, "FGLEDG", f"{where} and EGVTXT = {_quote(t)}")
                                for t in texts])
            rows = [r for rs in per for r in rs]
            journals = list(dict.fromkeys((r["EGYEA4"], r["EGJRNO"]) for r in rows))
            per_info = self._export([(self.GLX_COLS, "FGLEDX",
                                      f"{where} and EGYEA4 = {int(y)} and EGJRNO = {int(j)}")
                                     for y, j in journals])
            info = [r for rs in per_info for r in rs]
        extra: dict[tuple, dict[str, str]] = {}
        for r in info:
            extra.setdefault((r["EGYEA4"], r["EGJRNO"], r["EGJSNO"]), {})[r["EGGEXN"]] = r["EGGEXI"]
        return rows, extra

    def _voucher_groups(self, rows: Sequence[dict], extra: Mapping[tuple, dict],
                        deposits: bool) -> dict[tuple[str, str], tuple[list[dict], dict]]:
        vouchers: dict[tuple[str, str], tuple[list[dict], dict]] = {}
        for r in rows:
            info = extra.get((r["EGYEA4"], r["EGJRNO"], r["EGJSNO"]))
            if not info or SOURCE_INFO not in info:
                continue         # not posted by the product
            if (info[SOURCE_INFO] == DEPOSIT_SOURCE) != deposits:
                continue
            vouchers.setdefault((r["EGYEA4"], r["EGVONO"]), ([], info))[0].append(r)
        return vouchers

    def _read_journals(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        texts = None if ids is None else {self._vtxt("", e): e for e in ids}
        rows, extra = self._vouchers(None if texts is None else list(texts))
        out = []
        for (yea4, vono), (lines, info) in self._voucher_groups(rows, extra, False).items():
            vtxt = lines[0]["EGVTXT"]
            ext = texts.get(vtxt, vtxt) if texts else vtxt
            cucd = lines[0]["EGCUCD"]
            zero = Money(0, cucd)
            jl = []
            for x in sorted(lines, key=lambda x: int(x["EGJSNO"] or 0)):
                m = _money(x["EGCUAM"], cucd)
                jl.append(JournalLine(account=x["EGAIT1"], debit=m if m.amount > 0 else zero,
                                      credit=-m if m.amount < 0 else zero))
            fields = dict(external_id=ext, entry_date=_date(lines[0]["EGACDT"]), currency=cucd,
                          memo=info.get(MEMO_INFO, ""), source=info.get(SOURCE_INFO, ""),
                          lines=tuple(jl))
            try:
                doc = JournalEntry(**fields)
            except ValueError:
                doc = JournalEntry.model_construct(**fields)
            out.append(ErpRecord(self._ref(DocKind.JOURNAL, f"{yea4}/{vono}", ext), doc))
        return out

    def _read_deposits(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        texts = None
        if ids is not None:
            texts = {self._vtxt(tag, e): e for e in ids for tag in (DEPOSIT_TAG, REVERSAL_TAG)}
        rows, extra = self._vouchers(None if texts is None else list(texts))
        found: dict[str, ErpRecord] = {}
        for (yea4, vono), (lines, info) in sorted(self._voucher_groups(rows, extra, True).items()):
            vtxt = lines[0]["EGVTXT"]
            failed = vtxt.startswith(REVERSAL_TAG)
            ext = texts.get(vtxt) if texts else vtxt[len(REVERSAL_TAG if failed else DEPOSIT_TAG):]
            if not ext:
                continue
            cucd = lines[0]["EGCUCD"]
            debit = [x for x in lines if Decimal(x["EGCUAM"]) > 0]
            credit = [x for x in lines if Decimal(x["EGCUAM"]) < 0]
            if not debit or not credit:
                continue
            bank, clearing = (credit[0], debit[0]) if failed else (debit[0], credit[0])
            doc = BankDeposit(external_id=ext, bank_account=bank["EGAIT1"],
                              clearing_account=clearing["EGAIT1"],
                              deposit_date=_date(lines[0]["EGACDT"]),
                              amount=_money(debit[0]["EGCUAM"], cucd),
                              status="failed" if failed else "paid")
            if ext not in found or failed:
                found[ext] = ErpRecord(self._ref(DocKind.DEPOSIT, f"{yea4}/{vono}", ext), doc)
        return list(found.values())

    # ------------------------------------------------------------------ inventory
    def _pmsn(self, external_id: str) -> str:
        return short_key("I", external_id, 17)

    def _find_inventory(self, ids: Sequence[str]) -> dict[str, ErpRef]:
        results = self._bulk("MMS850MI", [[{"transaction": "GetMvxMsg", "record": {
            "E0PB": self.partner, "PMSN": self._pmsn(e)}}] for e in ids])
        out = {}
        for e, items in zip(ids, results):
            recs = self._records(items[0]) if self._nok(items[0]) is None else []
            if recs and recs[0].get("MSGN"):
                out[e] = self._ref(DocKind.INVENTORY, recs[0]["MSGN"], e)
        return out

    def _create_inventory(self, docs: Sequence[InventoryAdjustment]) -> dict[str, PostResult]:
        groups = [[{"transaction": "AddAdjust", "record": {
            "E0PA": self.partner, "E065": self.message_type, "WHLO": self._whlo(d.location),
            "ITNO": d.sku, "QLQT": decimal_str(d.delta), "PMSN": self._pmsn(d.external_id),
            "PRFL": "*EXE", "BREM": d.reason[:20]}, "selectedColumns": ["MSNR"]}] for d in docs]
        out: dict[str, PostResult] = {}
        for d, items in zip(docs, self._bulk("MMS850MI", groups, write=True)):
            recs = self._records(items[0])
            msnr = recs[0].get("MSNR") if recs else None
            self._merge(out, d, [self._nok(items[0])],
                        self._ref(DocKind.INVENTORY, msnr, d.external_id) if msnr else None)
        return out

    def _read_inventory(self, ids: Sequence[str] | None) -> list[ErpRecord]:
        if ids is None:
            raise ErpError("M3 (MMS850MI) cannot list stock adjustments by Stripe id: pass "
                           "external_ids")
        refs = self._find_inventory(ids)
        rows = self._export([(["MTRIDN", "MTITNO", "MTWHLO", "MTTRQT", "MTBREM"], "MITTRA",
                              f"{self._co('MT')} and MTRIDN = {_quote(refs[e].id)}")
                             for e in ids if e in refs])
        out = []
        for e, found in zip([e for e in ids if e in refs], rows):
            if not found:
                continue
            r = found[0]
            doc = InventoryAdjustment(external_id=e, sku=r["MTITNO"],
                                      location=self._location(r["MTWHLO"]),
                                      delta=Decimal(r["MTTRQT"]), reason=r["MTBREM"] or "SALE")
            out.append(ErpRecord(refs[e], doc))
        return out

    # ------------------------------------------------------------------ dispatch
    def _find_deposits_by_id(self, ids: Sequence[str]) -> dict[str, ErpRef]:
        return self._find_deposits(ids)

    _finders: dict[DocKind, Callable[..., dict[str, ErpRef]]] = {
        DocKind.CUSTOMER: _find_customers, DocKind.SALES_ORDER: _find_orders_by_id,
        DocKind.INVOICE: _find_invoices, DocKind.PAYMENT: _find_payments,
        DocKind.JOURNAL: _find_journals, DocKind.DEPOSIT: _find_deposits_by_id,
        DocKind.INVENTORY: _find_inventory}
    _creators: dict[DocKind, Callable[..., dict[str, PostResult]]] = {
        DocKind.CUSTOMER: _create_customers, DocKind.SALES_ORDER: _create_sales_orders,
        DocKind.INVOICE: _create_invoices, DocKind.PAYMENT: _create_payments,
        DocKind.JOURNAL: _create_journals, DocKind.DEPOSIT: _create_deposits,
        DocKind.INVENTORY: _create_inventory}
    _readers: dict[DocKind, Callable[..., list[ErpRecord]]] = {
        DocKind.CUSTOMER: _read_customers, DocKind.SALES_ORDER: _read_sales_orders,
        DocKind.INVOICE: _read_invoices, DocKind.PAYMENT: _read_payments,
        DocKind.JOURNAL: _read_journals, DocKind.DEPOSIT: _read_deposits,
        DocKind.INVENTORY: _read_inventory}
