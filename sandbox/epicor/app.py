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
from decimal import Decimal
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import erp_common
from . import methods, odata
from .control import Control, Fault, fault_error
from .errors import (API_EXCEPTION, NOT_FOUND_EXCEPTION, ODATA_EXCEPTION, UNAUTHORIZED_EXCEPTION,
                     EpicorError)
from .responses import error_response, json_response
from .store import Store
from .tables import ENTITY_SETS, KEYS, NAVIGATIONS, type_name
from .updates import SPECS

log = logging.getLogger("sandbox.epicor")

NO_ACCESS_COMPANIES = {"EPIC03"}  # exists, but the sandbox user has no access (403)
_KEY_PART = re.compile(r"\s*(?:'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)|(true|false))\s*(?:,|$)")


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
        self.control = Control(self)
        self.asgi = Starlette(routes=[
            *self.control.routes(),
            Route("/{instance}/TokenResource.svc", self.token, methods=["POST"]),
            Route("/{instance}/TokenResource.svc/", self.token, methods=["POST"]),
            Route("/{instance}/api/v2/odata/{company}/{rest:path}", self.api,
                  methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
            Route("/{instance}/api/v2/odata/{company}", self.api,
                  methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
        ])

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
