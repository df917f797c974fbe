"""HTTP face of the Infor sandbox: SSO token endpoint, ION API gateway, control API.

* ``POST /{ti}/as/token.oauth2`` -- OAuth 2.0 (form): ``grant_type=password`` with the
  service account (``saak``/``sask``) and client (``ci``/``cs``, in the body or HTTP Basic),
  or ``grant_type=refresh_token``.  ``GET|POST /{ti}/as/revoke_token.oauth2?token=``.
* ``/{ti}/M3/m3api-rest/v2/execute`` -- M3 MI REST v2 behind ``Authorization: Bearer``:
  ``GET|POST .../execute/<PROGRAM>/<TRANSACTION>[;matrix=params]?FIELD=..&cono=..`` (one
  transaction) and ``POST .../execute[/<PROGRAM>]`` with a bulk body.  Both answer
  ``BulkResponse`` with HTTP 200 even when transactions fail.
* ``/_sandbox/...`` -- the control API (``control.py``; no auth).

Faults apply to gateway requests only (never to the token endpoint or ``/_sandbox``).
"""
from __future__ import annotations

import base64
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import erp_common
from .common import Ctx, Nok
from .control import Controls, Fault, Stats, _json, fault_error
from .m3 import M3

M3_ROOT = "/M3/m3api-rest/v2/execute"


class MiRequest:
    """One gateway call, parsed: program, transactions, context."""

    def __init__(self, program: str, transactions: list[dict[str, Any]], params: dict[str, str],
                 body_cono: Any = None, body_divi: Any = None, single: bool = False) -> None:
        self.program, self.transactions, self.params = program, transactions, params
        self.body_cono, self.body_divi, self.single = body_cono, body_divi, single


class InforSandbox(Controls):
    def __init__(self, m3: M3, *, tenant: str, client_id: str, client_secret: str, saak: str,
                 sask: str, token_ttl: int = 7200, seed: int = 0,
                 invoicing_interval: float = 0) -> None:
        self.m3, self.tenant = m3, tenant
        self.client_id, self.client_secret, self.saak, self.sask = (
            client_id, client_secret, saak, sask)
        self.token_ttl = token_ttl
        self.access: dict[str, float] = {}          # token -> expiry (monotonic)
        self.refresh: dict[str, str] = {}           # refresh token -> client id
        self.faults: erp_common.Faults[Fault] = erp_common.Faults(seed, fault_error)
        self.stats = Stats()
        self.ready = False
        self.invoicing_interval = invoicing_interval
        root = f"/{tenant}{M3_ROOT}"
        self.asgi = Starlette(routes=[
            *(Route(f"/_sandbox/{path}", handler, methods=methods)
              for path, handler, methods in self.control_routes()),
            Route(f"/{tenant}/as/token.oauth2", self.token, methods=["POST"]),
            Route(f"/{tenant}/as/revoke_token.oauth2", self.revoke, methods=["GET", "POST"]),
            Route(root, self.gateway, methods=["GET", "POST"]),
            Route(root + "/{rest:path}", self.gateway, methods=["GET", "POST"]),
        ])

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
