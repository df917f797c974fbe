"""HTTP face of the Infor sandbox: SSO token endpoint, ION API gateway, control API.

* ``POST /{ti}/as/token.oauth2`` -- OAuth 2.0 (form): ``grant_type=password`` with the
  service account (``saak``/``sask``) and client (``ci``/``cs``, in the body or HTTP Basic),
  or ``grant_type=refresh_token``.  ``GET|POST /{ti}/as/revoke_token.oauth2?token=``.
* ``/{ti}/M3/m3api-rest/v2/execute`` -- M3 MI REST v2 behind ``Authorization: Bearer``:
  ``GET|POST .../execute/<PROGRAM>/<TRANSACTION>[;matrix=params]?FIELD=..&cono=..`` (one
  transaction) and ``POST .../execute[/<PROGRAM>]`` with a bulk body.  Both answer
  ``BulkResponse`` with HTTP 200 even when transactions fail.
* ``/_sandbox/...`` -- health, reset, faults, stats, periods, items, tokens (no auth).

Faults apply to gateway requests only (never to the token endpoint or ``/_sandbox``).
"""
from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import erp_common
from .m3 import M3, Ctx, Nok, warehouse_for

M3_ROOT = "/M3/m3api-rest/v2/execute"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers=headers, media_type="application/json")


# ---------------------------------------------------------------------------- faults
@dataclass
class Fault(erp_common.Fault):
    """A fault rule (:class:`sandbox.erp_common.Fault`), optionally for one MI program."""

    program: str | None = None      # extension: only requests for this MI program

    @classmethod
    def filters(cls, body: dict[str, Any]) -> dict[str, Any]:
        program = body.get("program")
        return {"program": str(program).upper() if program else None}

    def matches(self, program: str) -> bool:
        return not self.program or self.program == program


def fault_error(request: Request, kind: str, status: int, headers: dict[str, str]) -> Response:
    """An injected error as the ION API gateway answers."""
    error, message = {
        "429": ("Too Many Requests", "Rate limit exceeded (injected fault)"),
        "500": ("Internal Server Error", "injected fault"),
        "503": ("Service Unavailable", "injected fault"),
        "timeout": ("Gateway Timeout", "injected fault"),
        "drop": ("Bad Gateway", "injected drop")}[kind]
    return _json({"error": error, "message": message}, status, headers)


@dataclass
class Stats:
    requests: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    by_program: dict[str, int] = field(default_factory=dict)
    transactions: int = 0

    def count(self, path: str) -> None:
        self.requests += 1
        self.by_path[path] = self.by_path.get(path, 0) + 1


class MiRequest:
    """One gateway call, parsed: program, transactions, context."""

    def __init__(self, program: str, transactions: list[dict[str, Any]], params: dict[str, str],
                 body_cono: Any = None, body_divi: Any = None, single: bool = False) -> None:
        self.program, self.transactions, self.params = program, transactions, params
        self.body_cono, self.body_divi, self.single = body_cono, body_divi, single


class InforSandbox:
    def __init__(self, m3: M3, *, tenant: str, client_id: str, client_secret: str, saak: str,
                 sask: str, token_ttl: int = 7200, seed: int = 0) -> None:
        self.m3, self.tenant = m3, tenant
        self.client_id, self.client_secret, self.saak, self.sask = (
            client_id, client_secret, saak, sask)
        self.token_ttl = token_ttl
        self.access: dict[str, float] = {}          # token -> expiry (monotonic)
        self.refresh: dict[str, str] = {}           # refresh token -> client id
        self.faults: erp_common.Faults[Fault] = erp_common.Faults(seed, fault_error)
        self.stats = Stats()
        self.ready = False
        root = f"/{tenant}{M3_ROOT}"
        self.asgi = Starlette(routes=[
            Route("/_sandbox/health", self.health, methods=["GET"]),
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
            Route("/_sandbox/faults", self.faults_route, methods=["GET", "POST", "DELETE"]),
            Route("/_sandbox/stats", self.stats_route, methods=["GET", "DELETE"]),
            Route("/_sandbox/periods/close", self.close_period, methods=["POST"]),
            Route("/_sandbox/items", self.items, methods=["POST"]),
            Route("/_sandbox/tokens", self.tokens_route, methods=["POST"]),
            Route(f"/{tenant}/as/token.oauth2", self.token, methods=["POST"]),
            Route(f"/{tenant}/as/revoke_token.oauth2", self.revoke, methods=["GET", "POST"]),
            Route(root, self.gateway, methods=["GET", "POST"]),
            Route(root + "/{rest:path}", self.gateway, methods=["GET", "POST"]),
        ])

    # ------------------------------------------------------------------ control
    async def health(self, request: Request) -> Response:
        return erp_common.health_response(self.ready, tenant=self.tenant, company=self.m3.cono,
                                          division=self.m3.divi)

    async def reset(self, request: Request) -> Response:
        self.m3.reset()
        self.faults.clear()
        self.faults.injected = 0
        self.stats = Stats()
        return _json({"status": "reset"})

    async def faults_route(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
            return _json({"faults": []})
        if request.method == "POST":
            try:
                body = orjson.loads(await request.body())
                rules = body if isinstance(body, list) else [body]
                for rule in rules:
                    self.faults.add(Fault.from_body(rule))
            except (ValueError, TypeError) as exc:
                return _json({"error": str(exc)}, 400)
        return _json({"faults": [r.as_dict() for r in self.faults.rules]})

    async def stats_route(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.stats = Stats()
            self.faults.injected = 0
        s = self.stats
        return _json({"requests": s.requests, "by_path": s.by_path, "by_program": s.by_program,
                      "transactions": s.transactions, "faults_injected": self.faults.injected})

    async def close_period(self, request: Request) -> Response:
        try:
            before = date.fromisoformat(orjson.loads(await request.body())["before"])
        except (ValueError, KeyError, TypeError) as exc:
            return _json({"error": f"body must be {{\"before\": \"YYYY-MM-DD\"}} ({exc})"}, 400)
        self.m3.close_period(before)
        return _json({"closed_before": before.isoformat()})

    async def items(self, request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
            items = body if isinstance(body, list) else [body]
            for item in items:
                self.m3.set_item(str(item["sku"]), Decimal(str(item.get("on_hand", 0))),
                                 warehouse_for(item.get("location") or "MAIN"),
                                 bool(item.get("stocked", True)))
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            return _json({"error": f"items must be [{{sku, on_hand, location, stocked}}] ({exc})"},
                         400)
        return _json({"items": len(items)})

    async def tokens_route(self, request: Request) -> Response:
        """``{"expire": true}`` expires access tokens, ``{"revoke": true}`` also forgets
        refresh tokens, ``{"ttl": s}`` sets the lifetime of tokens issued from now on."""
        body = orjson.loads(await request.body() or b"{}")
        if body.get("ttl") is not None:
            self.token_ttl = int(body["ttl"])
        if body.get("expire") or body.get("revoke"):
            now = time.monotonic()
            self.access = {t: min(exp, now - 1) for t, exp in self.access.items()}
        if body.get("revoke"):
            self.access.clear()
            self.refresh.clear()
        return _json({"access_tokens": len(self.access), "refresh_tokens": len(self.refresh),
                      "ttl": self.token_ttl})

    # ------------------------------------------------------------------ SSO (OAuth 2.0)
    def _oauth_error(self, error: str, description: str, status: int) -> Response:
        return _json({"error": error, "error_description": description}, status)

    def _issue(self, refresh: str | None = None) -> Response:
        token = secrets.token_urlsafe(32)
        self.access[token] = time.monotonic() + self.token_ttl
        if refresh is None:
            refresh = secrets.token_urlsafe(32)
            self.refresh[refresh] = self.client_id
        return _json({"access_token": token, "token_type": "Bearer",
                      "expires_in": self.token_ttl, "refresh_token": refresh},
                     headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def token(self, request: Request) -> Response:
        self.stats.count(request.url.path)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode(),
                                             keep_blank_values=True).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
                client_id, client_secret = unquote(client_id), unquote(client_secret)
            except ValueError:
                return self._oauth_error("invalid_client", "Malformed client credentials", 401)
        if not (secrets.compare_digest(client_id or "", self.client_id)
                and secrets.compare_digest(client_secret or "", self.client_secret)):
            return self._oauth_error("invalid_client", "Invalid client or client credentials",
                                     401)
        grant = form.get("grant_type")
        if grant == "password":
            if not (secrets.compare_digest(form.get("username", ""), self.saak)
                    and secrets.compare_digest(form.get("password", ""), self.sask)):
                return self._oauth_error("invalid_grant", "Invalid resource owner credentials",
                                         400)
            return self._issue()
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if self.refresh.get(refresh) != self.client_id:
                return self._oauth_error("invalid_grant", "Invalid refresh token", 400)
            return self._issue(refresh)
        return self._oauth_error("unsupported_grant_type", f"Unsupported grant type {grant}", 400)

    async def revoke(self, request: Request) -> Response:
        self.stats.count(request.url.path)
        token = request.query_params.get("token")
        if token is None and request.method == "POST":
            token = parse_qs((await request.body()).decode()).get("token", [""])[0]
        self.access.pop(token or "", None)
        self.refresh.pop(token or "", None)
        return Response(b"", 200)

    def _authorized(self, request: Request) -> Response | None:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return _json({"error": "invalid_request", "error_description":
                          "Bearer access token required"}, 401,
                         {"WWW-Authenticate": 'Bearer realm="ION API"'})
        expiry = self.access.get(auth[7:].strip())
        if expiry is None or expiry < time.monotonic():
            return _json({"error": "invalid_token", "error_description":
                          "The access token is invalid or has expired"}, 401,
                         {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return None

    # ------------------------------------------------------------------ gateway
    async def _parse(self, request: Request) -> MiRequest | Response:
        rest = request.path_params.get("rest", "")
        segments = [s for s in rest.split("/") if s]
        params: dict[str, str] = {}
        clean: list[str] = []
        for seg in segments:                           # matrix params: TRANS;maxrecs=0
            name, *matrix = seg.split(";")
            clean.append(name)
            for m in matrix:
                k, _, v = m.partition("=")
                params[k] = v
        params.update({k: v for k, v in request.query_params.items()})
        if len(clean) > 2:
            return _json({"code": 404, "message": f"Resource {rest} not found"}, 404)
        program = clean[0].upper() if clean else ""
        if len(clean) == 2:                            # one transaction
            record = {k: v for k, v in params.items() if k.isupper()}   # M3 fields: CUNO, ..
            if request.method == "POST":
                body = await request.body()
                if body:
                    try:
                        extra = orjson.loads(body)
                    except orjson.JSONDecodeError:
                        extra = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    if isinstance(extra, dict):
                        record.update(extra)
            meta = {k.lower(): v for k, v in params.items() if not k.isupper()}
            return MiRequest(program, [{"transaction": clean[1], "record": record}], meta,
                             single=True)
        if request.method != "POST":
            return _json({"code": 405, "message": "Bulk execution needs POST"}, 405)
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            return _json({"code": 400, "message": f"Malformed JSON: {exc}"}, 400)
        if not isinstance(body, dict) or not isinstance(body.get("transactions"), list):
            return _json({"code": 400, "message": "Bulk body needs program and transactions"},
                         400)
        program = str(body.get("program") or program).upper()
        meta = {k.lower(): v for k, v in params.items() if not k.isupper()}
        return MiRequest(program, body["transactions"], meta, body.get("cono"),
                         body.get("divi"))

    async def gateway(self, request: Request) -> Response:
        self.stats.count(request.url.path)
        parsed = await self._parse(request)
        if isinstance(parsed, Response):
            return parsed
        fault = self.faults.draw(parsed.program)
        if fault is not None and not fault.after:
            return await self.faults.respond(request, fault)
        denied = self._authorized(request)
        if denied is not None:
            return denied
        if not self.m3.has(parsed.program) or (parsed.single and not self.m3.has(
                parsed.program, parsed.transactions[0]["transaction"])):
            what = parsed.program if not parsed.single else (
                f"{parsed.program}/{parsed.transactions[0]['transaction']}")
            return _json({"code": 404, "message": f"MI program or transaction {what} not found"},
                         404)
        response = _json(self.execute(parsed))
        if fault is not None:
            return await self.faults.respond(request, fault)
        return response

    def execute(self, req: MiRequest) -> dict[str, Any]:
        m3 = self.m3
        cono = str(req.body_cono if req.body_cono not in (None, "") else
                   req.params.get("cono") or m3.cono)
        divi = str(req.body_divi if req.body_divi not in (None, "") else
                   req.params.get("divi") or m3.divi)
        try:
            maxrecs = int(req.params.get("maxrecs", 100))
        except ValueError:
            maxrecs = 100
        extended = str(req.params.get("extendedresult", "")).lower() == "true"
        exclude = str(req.params.get("excludeempty", "")).lower() == "true"
        returncols = [c.strip().upper() for c in str(req.params.get("returncols", "")).split(",")
                      if c.strip()]
        self.stats.by_program[req.program] = self.stats.by_program.get(req.program, 0) + 1
        self.stats.transactions += len(req.transactions)
        results: list[dict[str, Any]] = []
        ok = failed = 0
        if cono != m3.cono:
            reason = f"Not authorized for company {cono}"
            return {"results": [{"transaction": t.get("transaction"), "notProcessed": True}
                                for t in req.transactions],
                    "wasTerminated": True, "terminationReason": reason,
                    "nrOfSuccessfullTransactions": 0,
                    "nrOfNotProcessedTransactions": len(req.transactions),
                    "nrOfFailedTransactions": 0, "terminationErrorType": "ServerReturnedNOK",
                    "bulkJobId": None}
        ctx = Ctx(cono, divi, maxrecs)
        with m3.lock:
            for t in req.transactions:
                name = str(t.get("transaction", ""))
                record = t.get("record") or {}
                item: dict[str, Any] = {"transaction": name}
                if extended:
                    item["parameters"] = {k: str(v) for k, v in record.items()}
                try:
                    if divi != m3.divi:
                        raise Nok(f"Division {divi} does not exist", "XIM0002", "DIVI")
                    if not m3.has(req.program, name):
                        raise Nok(f"Transaction {name} does not exist in program {req.program}",
                                  "XTR0001")
                    if not isinstance(record, dict):
                        raise Nok("Record must be an object of field names to values", "XFL0002")
                    records = m3.execute(req.program, name, record, ctx)
                except Nok as nok:
                    failed += 1
                    item.update(errorMessage=nok.message, errorType="ServerReturnedNOK",
                                errorCode=nok.code, errorField=nok.field, errorCfg=None,
                                notProcessed=False, records=[])
                    results.append(item)
                    continue
                cols = [c.upper() for c in t.get("selectedColumns") or []] or returncols
                if cols:
                    records = [{c: r[c] for c in cols if c in r} for r in records]
                if exclude:
                    records = [{k: v for k, v in r.items() if v != ""} for r in records]
                item["records"] = records
                ok += 1
                results.append(item)
        return {"results": results, "wasTerminated": False, "terminationReason": None,
                "nrOfSuccessfullTransactions": ok, "nrOfNotProcessedTransactions": 0,
                "nrOfFailedTransactions": failed, "terminationErrorType": None, "bulkJobId": None}
