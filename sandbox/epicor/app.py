"""Starlette app: Epicor REST v2 under ``/{Instance}/api/v2/odata/{Company}``, the token
service ``/{Instance}/TokenResource.svc/`` and the control API under ``/_sandbox``."""
from __future__ import annotations

import base64
import hmac
import logging
import re
import secrets
import time
import traceback
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import erp_common
from . import methods, odata
from .errors import (API_EXCEPTION, NOT_FOUND_EXCEPTION, ODATA_EXCEPTION, UNAUTHORIZED_EXCEPTION,
                     EpicorError, error_body)
from .ledger import check_month
from .store import SPECS, Store
from .tables import ENTITY_SETS, KEYS, NAVIGATIONS, type_name

log = logging.getLogger("sandbox.epicor")

NO_ACCESS_COMPANIES = {"EPIC03"}  # exists, but the sandbox user has no access (403)
_KEY_PART = re.compile(r"\s*(?:'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)|(true|false))\s*(?:,|$)")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 \
            else float(value)
    raise TypeError(type(value).__name__)


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_json_default)


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    return Response(dumps(obj), status, headers=headers, media_type="application/json")


def error_response(err: EpicorError, headers: dict[str, str] | None = None) -> Response:
    return json_response(error_body(err), err.status, headers)


# ---------------------------------------------------------------------- faults
@dataclass
class Fault(erp_common.Fault):
    """A fault rule (:class:`sandbox.erp_common.Fault`), also of kind ``502``."""

    KINDS = (*erp_common.KINDS, "502")
    path: str = ""                       # only requests whose path contains this
    methods: tuple[str, ...] = ()        # only these HTTP methods (all when empty)

    @classmethod
    def filters(cls, body: dict[str, Any]) -> dict[str, Any]:
        return {"path": str(body.get("path") or ""),
                "methods": tuple(str(m).upper() for m in body.get("methods") or ())}

    def matches(self, method: str, path: str) -> bool:
        return self.path in path and (not self.methods or method in self.methods)


def fault_error(request: Request, kind: str, status: int, headers: dict[str, str]) -> Response:
    """An injected error with Epicor's error body."""
    message = {"429": "Too many requests. Please retry later.",
               "500": "The server encountered an unexpected internal problem (injected fault).",
               "502": "Bad Gateway", "503": "The service is unavailable. Please retry later.",
               "timeout": "Gateway Timeout", "drop": "Bad Gateway (dropped connection)"}[kind]
    error_type = "System.Exception" if status == 500 else None
    return error_response(EpicorError(message, status=status, error_type=error_type), headers)


# ---------------------------------------------------------------------- app
class EpicorSandbox:
    def __init__(self, *, instance: str, company: str, api_key: str, username: str,
                 password: str, token_ttl: int = 3600, seed: int = 0) -> None:
        self.instance, self.company = instance, company
        self.api_key, self.username, self.password = api_key, username, password
        self.token_ttl = token_ttl
        self.store = Store(company, user=username)
        self.faults: erp_common.Faults[Fault] = erp_common.Faults(seed, fault_error)
        self.tokens: dict[str, float] = {}
        self.requests = 0
        self.by_path: dict[str, int] = {}
        self.ready = False
        self._origin = ""
        self.asgi = Starlette(routes=[
            Route("/_sandbox/health", self.health, methods=["GET"]),
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
            Route("/_sandbox/faults", self.set_faults, methods=["POST", "DELETE", "GET"]),
            Route("/_sandbox/stats", self.stats, methods=["GET", "DELETE"]),
            Route("/_sandbox/periods", self.periods, methods=["GET", "POST"]),
            Route("/_sandbox/periods/close", self.close_period, methods=["POST"]),
            Route("/_sandbox/items", self.items, methods=["POST"]),
            Route("/_sandbox/tokens/expire", self.expire_tokens, methods=["POST"]),
            Route("/{instance}/TokenResource.svc", self.token, methods=["POST"]),
            Route("/{instance}/TokenResource.svc/", self.token, methods=["POST"]),
            Route("/{instance}/api/v2/odata/{company}/{rest:path}", self.api,
                  methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
            Route("/{instance}/api/v2/odata/{company}", self.api,
                  methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
        ])

    # ------------------------------------------------------------------ control
    async def health(self, request: Request) -> Response:
        return erp_common.health_response(self.ready)

    async def reset(self, request: Request) -> Response:
        self.store.reset()
        self.faults.clear()
        self.faults.injected = 0
        self.requests, self.by_path = 0, {}
        return json_response({"status": "reset"})

    async def set_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
            return json_response({"faults": []})
        if request.method == "GET":
            return json_response({"faults": [r.as_dict() for r in self.faults.rules]})
        try:
            fault = Fault.from_body(orjson.loads(await request.body() or b"{}"))
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return json_response({"error": str(exc)}, 400)
        self.faults.add(fault)
        return json_response({"faults": [r.as_dict() for r in self.faults.rules]})

    async def stats(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.requests, self.by_path, self.faults.injected = 0, {}, 0
        return json_response({"requests": self.requests, "by_path": self.by_path,
                              "faults_injected": self.faults.injected})

    async def periods(self, request: Request) -> Response:
        """``{"close": "YYYY-MM"}`` / ``{"open": "YYYY-MM"}``; GET lists the closed ones."""
        if request.method == "GET":
            return json_response({"closed": self.store.periods()})
        try:
            body = orjson.loads(await request.body())
            close, open_ = body.get("close"), body.get("open")
            if not (isinstance(close, str) or isinstance(open_, str)):
                raise ValueError("give close or open")
            closed = self.store.periods(close=close and check_month(close),
                                        open_=open_ and check_month(open_))
        except (AttributeError, ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return json_response({"error": f"body must be {{\"close\"|\"open\": "
                                           f"\"YYYY-MM\"}}: {exc}"}, 400)
        return json_response({"closed": closed})

    async def close_period(self, request: Request) -> Response:
        """Older form: close every period before a date (``{"before": "YYYY-MM-DD"}``)."""
        try:
            before = str(orjson.loads(await request.body())["before"])
            self.store.periods(before=before)
        except (KeyError, ValueError, TypeError, orjson.JSONDecodeError):
            return json_response({"error": "body must be {\"before\": \"YYYY-MM-DD\"}"}, 400)
        return json_response({"closed_before": before})

    async def items(self, request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
            items = body if isinstance(body, list) else [body]
            for item in items:
                self.store.add_item(str(item["sku"]), odata.to_decimal(item.get("on_hand", 0)),
                                    str(item.get("location") or "MAIN"),
                                    bool(item.get("stocked", True)))
        except (KeyError, ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return json_response({"error": f"bad item: {exc}"}, 400)
        return json_response({"items": len(items)})

    async def expire_tokens(self, request: Request) -> Response:
        self.tokens.clear()
        return json_response({"expired": True})

    # ------------------------------------------------------------------ auth
    def _count(self, key: str) -> None:
        self.requests += 1
        self.by_path[key] = self.by_path.get(key, 0) + 1

    async def token(self, request: Request) -> Response:
        if request.path_params["instance"] != self.instance:
            return error_response(EpicorError("Not Found", status=404, error_type=API_EXCEPTION))
        self._count("POST TokenResource.svc")
        user = request.headers.get("username", "")
        password = request.headers.get("password", "")
        if not (hmac.compare_digest(user, self.username)
                and hmac.compare_digest(password, self.password)):
            return error_response(EpicorError("Invalid user ID or password.", status=401,
                                              error_type=None))
        token = secrets.token_urlsafe(32)
        self.tokens[token] = time.monotonic() + self.token_ttl
        return json_response({"AccessToken": token, "ExpiresIn": self.token_ttl,
                              "TokenType": "Bearer"})

    def _authenticate(self, request: Request) -> EpicorError | None:
        key = request.headers.get("x-api-key") or request.query_params.get("api-key") or ""
        if not key or not hmac.compare_digest(key, self.api_key):
            return EpicorError("Access denied: a valid API key is required (x-api-key)."
                               if key == "" else "Access denied: invalid API key.",
                               status=401, error_type=None)
        auth = request.headers.get("authorization", "")
        scheme, _, cred = auth.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(cred).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user = password = ""
            if hmac.compare_digest(user, self.username) and \
                    hmac.compare_digest(password, self.password):
                return None
            return EpicorError("Invalid user ID or password.", status=401, error_type=None)
        if scheme.lower() == "bearer":
            expiry = self.tokens.get(cred.strip())
            if expiry is not None and expiry > time.monotonic():
                return None
            self.tokens.pop(cred.strip(), None)
            return EpicorError("Access token is invalid or expired.", status=401,
                               error_type=None)
        return EpicorError("Authorization is required (Basic or Bearer).", status=401,
                           error_type=None)

    # ------------------------------------------------------------------ API
    async def api(self, request: Request) -> Response:
        if request.path_params["instance"] != self.instance:
            return error_response(EpicorError("Not Found", status=404, error_type=API_EXCEPTION))
        rest = request.path_params.get("rest", "")
        self._count(f"{request.method} {_path_key(rest)}")
        body = await request.body()
        fault = self.faults.draw(request.method, rest)
        if fault is not None and not fault.after:
            return await self.faults.respond(request, fault)
        try:
            resp = self._dispatch(request, rest, body)
        except EpicorError as err:
            resp = error_response(err)
        except Exception:  # noqa: BLE001 - answer like Epicor does on an internal error
            log.error("internal error on %s %s\n%s", request.method, rest,
                      traceback.format_exc())
            resp = error_response(EpicorError(
                "The server encountered an unexpected internal problem.", status=500,
                error_type="System.Exception"))
        if fault is not None:
            return await self.faults.respond(request, fault)
        return resp

    def _dispatch(self, request: Request, rest: str, body: bytes) -> Response:
        self._origin = str(request.base_url).rstrip("/")  # for @odata.context (no awaits here)
        denied = self._authenticate(request)
        if denied is not None:
            return error_response(denied, {"WWW-Authenticate": 'Basic realm="Epicor"'})
        company = request.path_params["company"]
        if company != self.company:
            if company in NO_ACCESS_COMPANIES:
                raise EpicorError(f"User does not have access to company {company}.",
                                  status=403, error_type=UNAUTHORIZED_EXCEPTION)
            raise EpicorError(f"Company {company} not found.", status=404,
                              error_type=API_EXCEPTION)
        segments = [s for s in rest.split("/") if s]
        if not segments:
            return json_response({"@odata.context": self._root() + "/$metadata",
                                  "value": [{"name": s, "kind": "Service", "url": s}
                                            for s in ENTITY_SETS]})
        service = segments[0]
        if service not in ENTITY_SETS:
            raise EpicorError(f"Service '{service}' was not found.", status=404,
                              error_type=API_EXCEPTION)
        sets = ENTITY_SETS[service]
        if len(segments) == 1:
            if request.method != "GET":
                raise EpicorError("Method not allowed.", status=405, error_type=API_EXCEPTION)
            return json_response({"@odata.context": f"{self._root()}/{service}/$metadata",
                                  "value": [{"name": n, "kind": "EntitySet", "url": n}
                                            for n in sets]})
        name, key_text = _split_key(segments[1])
        posts = methods.METHODS.get(service, set()) | (
            {"UpdateExt"} if service in SPECS else set())
        gets = methods.GET_METHODS.get(service, set())
        if name in sets:
            return self._entity(request, service, name, key_text, segments[2:], body)
        if name in posts | gets and key_text is None and len(segments) == 2:
            if request.method != ("GET" if name in gets else "POST"):
                raise EpicorError("Method not allowed.", status=405, error_type=API_EXCEPTION)
            return json_response(methods.call(self.store, service, name,
                                              None if name in gets else _load(body)))
        raise EpicorError(f"Resource '{segments[1]}' was not found in service '{service}'.",
                          status=404, error_type=API_EXCEPTION)

    def _root(self) -> str:
        return f"{self._origin}/{self.instance}/api/v2/odata/{self.company}"

    # ------------------------------------------------------------------ entity sets
    def _entity(self, request: Request, service: str, set_name: str, key_text: str | None,
                rest: list[str], body: bytes) -> Response:
        table = ENTITY_SETS[service][set_name]
        store = self.store
        if key_text is None:
            if rest:
                raise EpicorError("Resource not found.", status=404, error_type=API_EXCEPTION)
            if request.method == "GET":
                return self._collection(request, service, set_name, table, None)
            if request.method == "POST":
                return self._create(service, set_name, table, _load(body))
            raise EpicorError("Method not allowed.", status=405, error_type=API_EXCEPTION)
        key = _parse_key(key_text, table, self.company)
        with store.lock:
            row = store.t[table].get(key)
        if row is None:
            raise EpicorError("Record not found.", status=404, error_type=NOT_FOUND_EXCEPTION,
                              table=table)
        if rest:
            nav = NAVIGATIONS.get(table)
            if len(rest) != 1 or nav is None or rest[0] != nav[0] or request.method != "GET":
                raise EpicorError("Resource not found.", status=404, error_type=API_EXCEPTION)
            child_set = next(n for n, t in ENTITY_SETS[service].items() if t == nav[1])
            return self._collection(request, service, child_set, nav[1], (row, nav[2]))
        if request.method == "GET":
            q = odata.parse_query(request.query_params.multi_items(), store.t[table].fields(),
                                  type_name(table), _navs(service, table))
            with store.lock:
                out = self._shape(row, table, q)
            out = {"@odata.context": f"{self._root()}/{service}/$metadata#{set_name}/$entity",
                   **out}
            return json_response(out)
        if request.method in ("PATCH", "PUT"):
            data = _load(body)
            if not isinstance(data, dict):
                raise EpicorError("Unable to deserialize entity.", error_type=ODATA_EXCEPTION)
            store.patch(table, key, data)
            return Response(status_code=204)
        raise EpicorError("Deleting records is not supported by the sandbox.", status=405,
                          error_type=API_EXCEPTION)

    def _collection(self, request: Request, service: str, set_name: str, table: str,
                    parent: tuple[dict, tuple[str, ...]] | None) -> Response:
        store = self.store
        q = odata.parse_query(request.query_params.multi_items(), store.t[table].fields(),
                              type_name(table), _navs(service, table))
        with store.lock:
            tbl = store.t[table]
            if parent is not None:
                prow, link = parent
                rows = children(tbl, link, prow)
            else:
                rows = tbl.candidates(q.filter.hint if q.filter else None)
            page, total = odata.apply(rows, q)
            value = [self._shape(r, table, q) for r in page]
        out: dict[str, Any] = {"@odata.context": f"{self._root()}/{service}/$metadata#{set_name}"}
        if q.count:
            out["@odata.count"] = total
        out["value"] = value
        return json_response(out)

    def _shape(self, row: dict, table: str, q: odata.Query) -> dict:
        out = {k: row[k] for k in q.select if k in row} if q.select else dict(row)
        for nav_name in q.expand:
            nav = NAVIGATIONS[table]
            out[nav_name] = [dict(r) for r in children(self.store.t[nav[1]], nav[2], row)]
        return out

    def _create(self, service: str, set_name: str, table: str, data: Any) -> Response:
        if not isinstance(data, dict):
            raise EpicorError("Unable to deserialize entity. Input data is not in correct "
                              "format.", error_type=ODATA_EXCEPTION)
        spec = SPECS.get(service)
        if spec is None or table not in (spec.header, spec.child):
            raise EpicorError(f"Creating {set_name} is not supported by the sandbox.",
                              status=405, error_type=API_EXCEPTION)
        data = dict(data)
        data.setdefault("RowMod", "A")
        result = self.store.update_ext(service, {table: [data]}, False, True)
        rows = result["parameters"]["ds"].get(table) or []
        if not rows:
            raise EpicorError("The record was not created.", table=table)
        return json_response({"@odata.context":
                              f"{self._root()}/{service}/$metadata#{set_name}/$entity",
                              **rows[0]}, 201)


def children(table: Any, link: tuple[str, ...], parent: dict) -> list[dict]:
    """Rows of ``table`` whose link fields equal the parent's (through an index if any)."""
    via = next((f for f in link if f in table.index), link[-1])
    return [r for r in table.where(via, parent[via]) if all(r[f] == parent[f] for f in link)]


def _navs(service: str, table: str) -> list[str]:
    nav = NAVIGATIONS.get(table)
    if nav and nav[1] in ENTITY_SETS[service].values():
        return [nav[0]]
    return []


def _load(body: bytes) -> Any:
    try:
        return orjson.loads(body or b"null")
    except orjson.JSONDecodeError:
        raise EpicorError("Unable to deserialize entity. Input data is not in correct format.",
                          error_type=ODATA_EXCEPTION) from None


def _split_key(segment: str) -> tuple[str, str | None]:
    if segment.endswith(")") and "(" in segment:
        name, _, keys = segment.partition("(")
        return name, keys[:-1]
    return segment, None


def _parse_key(text: str, table: str, company: str) -> tuple:
    values: list[Any] = []
    pos = 0
    while pos < len(text):
        m = _KEY_PART.match(text, pos)
        if not m or m.end() == pos:
            raise EpicorError(f"Invalid key '{text}'.", error_type=ODATA_EXCEPTION)
        pos = m.end()
        if m.group(1) is not None:
            values.append(m.group(1).replace("''", "'"))
        elif m.group(2) is not None:
            values.append(int(m.group(2)) if "." not in m.group(2) else Decimal(m.group(2)))
        else:
            values.append(m.group(3) == "true")
    keys = KEYS[table]
    if len(values) != len(keys):
        raise EpicorError(f"The number of keys specified in the URI does not match number of "
                          f"key properties for the resource '{type_name(table)}' "
                          f"({', '.join(keys)}).", error_type=ODATA_EXCEPTION)
    return tuple(values)


def _path_key(rest: str) -> str:
    parts = [re.sub(r"\(.*\)$", "(…)", p) for p in rest.split("/") if p]
    return "/".join(parts[:3]) or "/"
