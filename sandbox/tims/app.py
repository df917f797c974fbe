"""HTTP layer: OAuth2 client credentials, content negotiation, idempotency, batch, faults.

``/api/v1/**`` is the emulated TIMS API; ``/_sandbox/**`` is the control API
(JSON, no auth, never used by product code).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from base64 import b64decode
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Callable
from urllib.parse import parse_qs, unquote

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..erp_common import Faults
from . import routes
from .control import Control
from .faults import Fault
from .store import State
from .wire import (JSON_TYPE, PROBLEM_JSON, PROBLEM_XML, XML_TYPE, Problem, dumps, from_xml,
                   loads, problem_xml, to_xml)

PREFIX = "/api/v1"
MAX_BATCH = 500


@dataclass
class Out:
    """A response before content negotiation: JSON bytes plus what XML rendering needs."""

    status: int
    json: bytes
    headers: dict[str, str] = field(default_factory=dict)
    root: str = "response"
    item: str = "item"
    problem: bool = False


def problem_out(p: Problem, instance: str) -> Out:
    return Out(p.status, dumps(p.body(instance)), dict(p.headers), "problem", "i", True)


def wants_xml(accept: str | None) -> bool:
    """Content negotiation between JSON (the default) and XML by the Accept header's q values."""
    if not accept:
        return False
    best: tuple[float, int, str] | None = None
    for pos, part in enumerate(accept.split(",")):
        media, *params = part.strip().split(";")
        media = media.strip().lower()
        q = 1.0
        for prm in params:
            k, _, v = prm.strip().partition("=")
            if k.strip() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if media in ("application/xml", "text/xml", PROBLEM_XML):
            kind = "xml"
        elif media in (JSON_TYPE, PROBLEM_JSON, "*/*", "application/*"):
            kind = "json"
        else:
            continue
        if q > 0 and (best is None or q > best[0]):
            best = (q, pos, kind)
    return best is not None and best[2] == "xml"


def render(out: Out, xml: bool) -> Response:
    if xml:
        obj = loads(out.json)
        content = problem_xml(obj) if out.problem else to_xml(out.root, obj, out.item)
        media = PROBLEM_XML if out.problem else XML_TYPE
    else:
        content, media = out.json, PROBLEM_JSON if out.problem else JSON_TYPE
    return Response(content, out.status, out.headers, media_type=media)


def _fingerprint(method: str, path: str, query: dict[str, list[str]], body: Any) -> str:
    h = hashlib.sha256(f"{method} {path} {sorted(query.items())!r} ".encode())
    h.update(orjson.dumps(body, default=_fp_default, option=orjson.OPT_SORT_KEYS))
    return h.hexdigest()


def _fp_default(obj: Any) -> Any:
    if isinstance(obj, (Decimal, date)):
        return str(obj)
    raise TypeError


class TimsApp:
    def __init__(self, client_id: str, client_secret: str, token_ttl: int = 3600,
                 seed: int = 0) -> None:
        self.client_id, self._client_secret = client_id, client_secret
        self.token_ttl = token_ttl
        self.state = State()
        self.faults: Faults[Fault] = Faults(seed, self.fault_error)
        self.tokens: dict[str, tuple[str, float]] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, Out]] = {}
        self.ready = False
        self.on_change: Callable[[], None] = lambda: None  # --state-file's saver
        self.zero_stats()
        self.asgi = Starlette(routes=[
            *Control(self).routes(),
            Route(PREFIX + "/{rest:path}", self.api,
                  methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ])

    def __repr__(self) -> str:
        return f"TimsApp(client_id={self.client_id!r})"

    def zero_stats(self) -> None:
        self.requests, self.by_path, self.faults.injected = 0, {}, 0

    # ------------------------------------------------------------------ ERP API
    async def api(self, request: Request) -> Response:
        path = request.url.path
        sub = path[len(PREFIX):] or "/"
        self.requests += 1
        self.by_path[path] = self.by_path.get(path, 0) + 1
        if sub.rstrip("/") == "/oauth/token":
            return await self.token(request)
        fault = self.faults.draw(request.method, path)
        if fault is not None and not fault.after:
            return await self.faults.respond(request, fault)
        raw = await request.body()
        response = self.handle(request, sub, raw)
        if fault is not None:
            return await self.faults.respond(request, fault)
        return response

    @staticmethod
    def fault_error(request: Request, kind: str, status: int, headers: dict[str, str]
                    ) -> Response:
        """An injected error as TIMS answers errors: problem+json (or +xml)."""
        detail = {429: "Rate limit exceeded; retry after the indicated delay",
                  500: "An unexpected error occurred",
                  502: "The connection to the TIMS server was lost",
                  503: "The service is temporarily unavailable",
                  504: "The upstream TIMS server did not answer in time"}[status]
        out = problem_out(Problem(status, detail, headers=headers), request.url.path)
        return render(out, wants_xml(request.headers.get("accept")))

    def handle(self, request: Request, sub: str, raw: bytes) -> Response:
        xml = wants_xml(request.headers.get("accept"))
        method = request.method.upper()
        try:
            client = self.authenticate(request.headers.get("authorization"))
            body = self.parse_body(request, raw) if method in ("POST", "PUT", "PATCH") else None
            query = parse_qs(request.url.query, keep_blank_values=True)
            with self.state.lock:
                out = self.execute(client, method, sub, query, body,
                                   request.headers.get("idempotency-key"))
                if method != "GET":
                    self.on_change()
        except Problem as p:
            out = problem_out(p, request.url.path)
        return render(out, xml)

    def authenticate(self, header: str | None) -> str:
        if not header or not header[:7].lower() == "bearer ":
            raise Problem(401, "A bearer access token is required",
                          headers={"WWW-Authenticate": 'Bearer realm="tims"'})
        entry = self.tokens.get(header[7:].strip())
        if entry is None:
            raise Problem(401, "The access token is invalid", headers={
                "WWW-Authenticate": 'Bearer realm="tims", error="invalid_token"'})
        client, expires = entry
        if expires <= time.time():
            raise Problem(401, "The access token has expired", headers={
                "WWW-Authenticate": 'Bearer realm="tims", error="invalid_token", '
                                    'error_description="expired"'})
        return client

    @staticmethod
    def parse_body(request: Request, raw: bytes) -> Any:
        if not raw.strip():
            return None
        ctype = (request.headers.get("content-type") or JSON_TYPE).split(";")[0].strip().lower()
        if ctype == JSON_TYPE or ctype.endswith("+json"):
            try:
                return loads(raw)
            except ValueError as exc:
                raise Problem(400, f"The request body is not valid JSON ({exc})") from None
        if ctype in (XML_TYPE, "text/xml"):
            try:
                return from_xml(raw)
            except Exception as exc:  # ParseError and friends
                raise Problem(400, f"The request body is not well-formed XML ({exc})") from None
        raise Problem(415, f"Content-Type {ctype} is not supported; use application/json or "
                           f"application/xml")

    def execute(self, client: str, method: str, sub: str, query: dict[str, list[str]],
                body: Any, idem_key: str | None, in_batch: bool = False) -> Out:
        instance = PREFIX + sub
        try:
            is_batch = sub.rstrip("/") == "/batch"
            if is_batch and in_batch:
                raise Problem(400, "A batch cannot contain /batch")
            if is_batch and method != "POST":
                raise Problem(405, f"{method} is not allowed on /batch",
                              headers={"Allow": "POST"})
            write = method in ("POST", "PUT", "PATCH")
            fp = None
            if write and idem_key:
                if len(idem_key) > 255:
                    raise Problem(400, "Idempotency-Key must be at most 255 characters")
                fp = _fingerprint(method, sub, query, body)
                stored = self.idempotency.get((client, idem_key))
                if stored is not None:
                    if stored[0] != fp:
                        raise Problem(
                            422, f"Idempotency-Key {idem_key} was already used with a different "
                                 f"request", [{"field": "Idempotency-Key",
                                               "code": "IDEMPOTENCY_KEY_REUSED",
                                               "message": "the key was used with another body"}],
                            slug="idempotency-key-reuse")
                    orig = stored[1]
                    return Out(orig.status, orig.json,
                               {**orig.headers, "Idempotent-Replayed": "true"}, orig.root,
                               orig.item, orig.problem)
            status, obj, headers, root, item = (
                self.batch(client, body) if is_batch
                else routes.dispatch(self.state, method, sub, query, body))
            out = Out(status, dumps(obj), headers, root, item)
            if fp is not None and 200 <= status < 300:
                self.idempotency[(client, idem_key)] = (fp, out)
            return out
        except Problem as p:
            return problem_out(p, instance)

    def batch(self, client: str, body: Any) -> routes.Result:
        """``{"requests":[{method,path,body?,idempotencyKey?}]}`` -> one response per request.

        Each sub-request runs exactly as the same request alone would (same
        routes, validation and idempotency), independently of the others.
        """
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            raise Problem(400, 'The batch body must be {"requests": [...]}')
        reqs = body["requests"]
        if len(reqs) > MAX_BATCH:
            raise Problem(422, f"A batch holds at most {MAX_BATCH} requests ({len(reqs)} given)",
                          [{"field": "requests", "code": "TOO_MANY",
                            "message": f"at most {MAX_BATCH} requests"}])
        responses = []
        for i, r in enumerate(reqs):
            if not isinstance(r, dict) or not isinstance(r.get("path"), str) or \
                    not r["path"].startswith("/") or \
                    str(r.get("method", "")).upper() not in ("GET", "POST", "PUT"):
                out = problem_out(Problem(400, f"requests[{i}] needs a method (GET, POST, PUT) "
                                               f"and a path starting with /"), PREFIX + "/batch")
            else:
                path, _, qs = r["path"].partition("?")
                method = r["method"].upper()
                key = r.get("idempotencyKey")
                out = self.execute(client, method, unquote(path),
                                   parse_qs(qs, keep_blank_values=True),
                                   r.get("body") if method != "GET" else None,
                                   str(key) if key else None, in_batch=True)
            entry: dict[str, Any] = {"status": out.status}
            if out.headers:
                entry["headers"] = out.headers
            entry["body"] = orjson.Fragment(out.json)
            responses.append(entry)
        return 200, {"responses": responses}, {}, "batchResponse", "item"

    # ------------------------------------------------------------------ OAuth2
    async def token(self, request: Request) -> Response:
        def oauth_error(status: int, error: str, description: str,
                        headers: dict[str, str] | None = None) -> Response:
            return Response(dumps({"error": error, "error_description": description}), status,
                            {"Cache-Control": "no-store", **(headers or {})},
                            media_type=JSON_TYPE)

        if request.method != "POST":
            return oauth_error(405, "invalid_request", "use POST")
        ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return oauth_error(400, "invalid_request",
                               "the body must be application/x-www-form-urlencoded")
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace"),
                                              keep_blank_values=True).items()}
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        auth = request.headers.get("authorization") or ""
        if auth[:6].lower() == "basic ":  # client_secret_basic
            try:
                client_id, _, secret = b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                return oauth_error(401, "invalid_client", "malformed Basic credentials")
        if form.get("grant_type") != "client_credentials":
            return oauth_error(400, "unsupported_grant_type",
                               "only grant_type=client_credentials is supported")
        if not (hmac.compare_digest(client_id.encode(), self.client_id.encode())
                and hmac.compare_digest(secret.encode(), self._client_secret.encode())):
            return oauth_error(401, "invalid_client", "client authentication failed",
                               {"WWW-Authenticate": 'Basic realm="tims"'})
        now = time.time()
        for tok, (_, exp) in list(self.tokens.items()):
            if exp <= now:
                del self.tokens[tok]
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (client_id, now + self.token_ttl)
        return Response(dumps({"access_token": token, "token_type": "Bearer",
                               "expires_in": self.token_ttl}), 200,
                        {"Cache-Control": "no-store", "Pragma": "no-cache"}, media_type=JSON_TYPE)
