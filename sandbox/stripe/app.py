"""The sandbox's HTTP layer: Stripe's ``/v1`` wire protocol over the engine.

Request pipeline for ``/v1`` (order matters and follows Stripe):

1. ``Request-Id`` and ``Stripe-Version`` (request header or the pinned
   version) on every response; POSTs also echo ``Idempotency-Key`` and carry
   ``Original-Request``.
2. Injected faults that act before execution (``faults.py``).
3. Authentication (``http_auth.py``).
4. Global rate limiting (token bucket, before idempotency: nothing is stored
   for a 429).
5. Routing and form/query decoding (400s here store nothing either).
6. Idempotency (POST with ``Idempotency-Key``): replay, mismatch, in-use.
7. Execution by the engine; the result (including engine 5xx) is stored
   under the key, except 400 validation errors.

Engine calls run on the event loop thread: the engine is synchronous and
guarded by the store lock, list pages are one SQLite query, and keeping one
thread avoids hand-offs on the hot path.  Webhook delivery runs as asyncio
tasks (``webhooks.py``) and never blocks requests.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import traceback
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from . import accounts, control, http_lists, http_search, operations, ratelimit, versions
from .control import Stats
from .errors import StripeError
from .faults import Fault, Faults, drop_connection, fault_error
from .http_auth import authenticate
from .http_expand import check_paths, expand_object
from .http_forms import decode
from .idempotency import IdempotencyStore
from .render import API_VERSION
from .webhooks import Dispatcher, WebhookConfig

log = logging.getLogger("sandbox.stripe")

# URL plural -> stored ``object`` for retrieve; doubles as the set of known resources.
RESOURCES: dict[str, str] = {name: spec.object for name, spec in http_lists.LISTS.items()}
# Operations the engine implements (kept here so unknown routes 404 like Stripe,
# before any engine call).
CREATABLE = frozenset(operations.CREATE)
UPDATABLE = frozenset(operations.UPDATE)
DELETABLE = frozenset(operations.DELETE)
ACTIONS = frozenset(operations.ACTION)
JSON = "application/json"


def new_request_id() -> str:
    return "req_" + secrets.token_urlsafe(11).replace("-", "a").replace("_", "b")[:14]


def error_body(err: StripeError) -> bytes:
    return orjson.dumps({"error": err.to_dict()})


@dataclass
class V1Route:
    """A resolved ``/v1`` route.

    ``run(params, expand, request_id, idempotency_key)`` returns the body;
    list routes expand their rows themselves (``expands`` true), the others
    get ``expand[]`` applied to the single object they return.
    """

    run: Callable[[dict[str, Any], list[str], str, str | None], bytes]
    expands: bool = False


class SandboxApp:
    """State shared by the API and control routes; ``asgi`` is the Starlette app."""

    def __init__(self, engine: Any, *, api_key: str, rate_limit: float = 25, seed: int = 0,
                 webhook_config: WebhookConfig | None = None,
                 regenerate: Callable[[], Any] | None = None, live_rate: float = 0) -> None:
        self.engine = engine
        self.store = engine.store
        self.api_key = api_key
        self.idempotency = IdempotencyStore(engine.now)
        self.bucket = ratelimit.TokenBucket(rate_limit)
        self.faults = Faults(seed)
        self.stats = Stats()
        self.webhooks = Dispatcher(engine, webhook_config or WebhookConfig(), seed=seed)
        self.regenerate = regenerate
        self.live_rate = live_rate
        # Set once the socket accepts connections (and the env file is written);
        # until then /_sandbox/health answers 503 so waiters never race the env file.
        self.ready = False
        self._live_task: asyncio.Task | None = None
        self.asgi = Starlette(
            routes=[Mount("/_sandbox", routes=control.routes(self)),
                    Route("/{path:path}", self.api, methods=[
                        "GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"])],
            lifespan=self._lifespan)

    def reset_stats(self) -> None:
        """Zero the request, fault and webhook counters (``DELETE /_sandbox/stats``)."""
        self.stats = Stats()
        self.faults.injected = 0
        self.faults.injected_by_kind = {}
        self.webhooks.counts.clear()
        self.webhooks.deliveries.clear()

    # ------------------------------------------------------------------ lifecycle

    @asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self.webhooks.start()
        self._live_task = asyncio.create_task(self._live_loop())
        try:
            yield
        finally:
            self._live_task.cancel()
            await self.webhooks.stop()

    async def _live_loop(self) -> None:
        """``--live-rate``: create about ``live_rate`` events per second of activity."""
        carry = 0.0
        while True:
            await asyncio.sleep(0.2)
            if self.live_rate <= 0:
                carry = 0.0
                continue
            carry += self.live_rate * 0.2
            n, carry = int(carry), carry - int(carry)
            if n:
                try:
                    self.engine.tick_live(n)
                except Exception:  # a bad tick must not kill the loop
                    log.exception("live activity tick failed")

    # ------------------------------------------------------------------ routing

    def _resolve(self, method: str, path: str) -> V1Route | None:
        parts = path.split("/")
        if len(parts) < 3 or parts[0] != "" or parts[1] != "v1" or "" in parts[2:]:
            return None
        parts = parts[2:]
        if method == "GET" and (parts == ["account"] or parts[0] == "accounts" and len(parts) == 2):
            return V1Route(lambda p, e, r, k: accounts.retrieve(
                self.engine, parts[1] if len(parts) == 2 else None, self.api_key, p))
        if parts[0] == "balance":
            if len(parts) == 1:
                return V1Route(lambda p, e, r, k: self.engine.balance()) \
                    if method == "GET" else None
            if parts[1] != "history":
                return None
            parts = ["balance_transactions", *parts[2:]]
        resource = parts[0]
        if resource not in RESOURCES:
            return None
        eng = self.engine
        if len(parts) == 1:
            if method == "GET":
                spec = http_lists.LISTS[resource]
                return V1Route(lambda p, e, r, k: self._list(spec, p, e, path), expands=True)
            if method == "POST" and resource in CREATABLE:
                return V1Route(lambda p, e, r, k: eng.create(
                    resource, p, request_id=r, idempotency_key=k))
            return None
        oid = parts[1]
        if len(parts) == 2:
            if method == "GET" and resource == "credit_notes" and oid == "preview":
                return V1Route(lambda p, e, r, k: eng.create("credit_notes/preview", p))
            if method == "GET" and oid == "search" and resource in http_search.SEARCHABLE:
                return V1Route(lambda p, e, r, k: http_search.search(
                    self.store, resource, p, e, path), expands=True)
            if method == "GET":
                return V1Route(lambda p, e, r, k: self._retrieve(resource, oid, p))
            if method == "POST" and resource in UPDATABLE:
                return V1Route(lambda p, e, r, k: eng.update(
                    resource, oid, p, request_id=r, idempotency_key=k))
            if method == "DELETE" and resource in DELETABLE:
                return V1Route(lambda p, e, r, k: eng.delete(
                    resource, oid, p, request_id=r, idempotency_key=k))
            return None
        if len(parts) == 3:
            sub = parts[2]
            if method == "GET" and resource == "invoices" and sub == "lines":
                return V1Route(lambda p, e, r, k: self._lines(oid, p, e, path), expands=True)
            if method == "GET" and resource == "credit_notes" and sub == "lines":
                return V1Route(lambda p, e, r, k: self._embedded_lines(oid, p))
            if method == "GET" and resource == "customers" and sub in ("sources", "tax_ids"):
                return V1Route(lambda p, e, r, k: self._customer_list(oid, sub, p, e, path),
                               expands=True)
            if method == "POST" and (resource, sub) in ACTIONS:
                return V1Route(lambda p, e, r, k: eng.action(
                    resource, oid, sub, p, request_id=r, idempotency_key=k))
        return None

    # ------------------------------------------------------------------ reads

    def _catch_up(self) -> None:
        """Run engine jobs that fell due as real time passed (payout steps, renewals).

        Mutating engine calls do this themselves; reads would otherwise show
        state frozen at the last write.  ``advance_clock(0)`` is a no-op when
        nothing is due.
        """
        self.engine.advance_clock(0)

    def _retrieve(self, resource: str, oid: str, params: dict[str, Any]) -> bytes:
        self._catch_up()
        if params:
            key = next(iter(params))
            raise StripeError(400, "invalid_request_error", f"Received unknown parameter: {key}",
                              code="parameter_unknown", param=key)
        kind = RESOURCES[resource]
        raw = self.store.get(oid)
        if raw is None or orjson.loads(raw).get("object") != kind:
            raise StripeError(404, "invalid_request_error", f"No such {kind}: '{oid}'",
                              code="resource_missing", param="id")
        return raw

    def _list(self, spec: http_lists.ListSpec, params: dict[str, Any], expand: list[str],
              url: str) -> bytes:
        query = http_lists.parse(spec, params)
        self._catch_up()
        return http_lists.page(self.store, query, url, expand)

    def _lines(self, invoice_id: str, params: dict[str, Any], expand: list[str],
               url: str) -> bytes:
        self._retrieve("invoices", invoice_id, {})
        query = http_lists.parse(http_lists.ListSpec("line_item"), params)
        query.filters["invoice"] = invoice_id
        return http_lists.page(self.store, query, url, expand)

    def _embedded_lines(self, credit_note_id: str, params: dict[str, Any]) -> bytes:
        """``/v1/credit_notes/{id}/lines``: the credit note's lines (one page)."""
        raw = self._retrieve("credit_notes", credit_note_id, {})
        return orjson.dumps(orjson.loads(raw)["lines"])

    def _customer_list(self, customer_id: str, sub: str, params: dict[str, Any],
                       expand: list[str], url: str) -> bytes:
        """``/v1/customers/{id}/sources`` (always empty: test cards are PaymentMethods)
        and ``/tax_ids``."""
        self._retrieve("customers", customer_id, {})
        query = http_lists.parse(http_lists.ListSpec("tax_id"), params)
        if sub == "sources":
            return b'{"object":"list","data":[],"has_more":false,"url":"%s"}' % url.encode()
        query.filters["customer"] = customer_id
        return http_lists.page(self.store, query, url, expand)

    # ------------------------------------------------------------------ the /v1 handler

    def _respond(self, status: int, body: bytes, headers: dict[str, str]) -> Response:
        self.stats.by_status[status] += 1
        return Response(body, status, headers, media_type=JSON)

    def _error(self, err: StripeError, headers: dict[str, str]) -> Response:
        if 400 <= err.status < 500 and err.status not in (409, 429):
            headers.setdefault("Stripe-Should-Retry", "false")
        return self._respond(err.status, error_body(err), headers)

    async def api(self, request: Request) -> Response:
        method, path = request.method, request.url.path
        rid = new_request_id()
        headers = {"Request-Id": rid,
                   "Stripe-Version": request.headers.get("stripe-version") or API_VERSION}
        idem_key = request.headers.get("idempotency-key") if method == "POST" else None
        if method == "POST":
            headers["Original-Request"] = rid
            if idem_key:
                headers["Idempotency-Key"] = idem_key
        self.stats.requests += 1
        self.stats.by_path[f"{method} {path}"] += 1

        fault = self.faults.pick(method, path)
        if fault is not None and not fault.after and fault.kind != "latency":
            return await self._fault_response(request, fault, headers)

        key, auth_error = authenticate(request.headers.get("authorization"), self.api_key)
        if auth_error is not None:
            return self._error(auth_error, headers)
        version = headers["Stripe-Version"]
        if not versions.valid(version):
            return self._error(StripeError(
                400, "invalid_request_error", f"Invalid Stripe API version: {version}"), headers)
        account_error = accounts.check_header(
            self.engine, request.headers.get("stripe-account"), self.api_key)
        if account_error is not None:
            return self._error(account_error, headers)
        if not self.bucket.take():
            self.stats.rate_limited += 1
            headers.update(ratelimit.HEADERS)
            return self._error(ratelimit.rate_limit_error(), headers)

        route = self._resolve(method, path)
        if route is None:
            return self._error(StripeError(
                404, "invalid_request_error",
                f"Unrecognized request URL ({method}: {path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/."),
                headers)
        try:
            raw = await request.body() if method == "POST" else request.url.query
            params = decode(raw)
            expand = check_paths(params.pop("expand", None))
        except StripeError as err:
            return self._error(err, headers)

        if idem_key and len(idem_key) > 255:
            return self._error(StripeError(
                400, "invalid_request_error",
                "Idempotency keys can be at most 255 characters long."), headers)
        if idem_key:
            fingerprint = (method, path, orjson.dumps(params, option=orjson.OPT_SORT_KEYS),
                           tuple(expand))
            try:
                entry = self.idempotency.begin(key, idem_key, fingerprint, rid)
            except StripeError as err:
                return self._error(err, headers)
            if entry is not None:
                self.stats.replayed += 1
                headers.update(entry.headers)
                headers["Idempotent-Replayed"] = "true"
                headers["Original-Request"] = entry.request_id
                return self._respond(entry.status, entry.body, headers)

        try:
            if fault is not None and fault.kind == "latency":
                await asyncio.sleep(fault.latency_ms / 1000)
            status, body, stored, extra = self._execute(route, params, expand, rid, idem_key)
            if status == 200 and versions.needs_reshape(version):
                body = versions.reshape(body, version)
        except BaseException:  # cancelled mid-latency: never leave the key "in progress"
            if idem_key:
                self.idempotency.release(key, idem_key)
            raise
        if idem_key:
            if stored:
                self.idempotency.finish(key, idem_key, status, body, extra)
            else:
                self.idempotency.release(key, idem_key)
        headers.update(extra)
        if fault is not None and fault.after:
            return await self._fault_response(request, fault, headers)
        return self._respond(status, body, headers)

    def _execute(self, route: V1Route, params: dict[str, Any], expand: list[str], rid: str,
                 idem_key: str | None) -> tuple[int, bytes, bool, dict[str, str]]:
        """Run the route; returns status, body, whether idempotency stores it, extra headers."""
        no_retry = {"Stripe-Should-Retry": "false"}
        try:
            body = route.run(params, expand, rid, idem_key)
        except StripeError as err:
            # Stripe stores results once execution began, but not validation failures.
            return (err.status, error_body(err), err.status != 400,
                    no_retry if err.status < 500 and err.status != 409 else {})
        except Exception:
            log.error("engine error on %s\n%s", rid, traceback.format_exc())
            err = StripeError(500, "api_error",
                              "An unknown error occurred while processing your request.")
            # Stored, so a retry would replay it: tell the SDK not to bother.
            return 500, error_body(err), True, no_retry
        if expand and not route.expands:
            try:
                body = expand_object(self.store, body, expand)
            except StripeError as err:
                # The operation already happened: store the error so a retry cannot repeat it.
                return err.status, error_body(err), True, no_retry
        return 200, body, True, {}

    async def _fault_response(self, request: Request, fault: Fault,
                              headers: dict[str, str]) -> Response:
        if fault.kind == "drop":
            await drop_connection(request)
            return Response(b"", 500)
        err, extra = fault_error(fault)
        headers.update(extra)
        return self._error(err, headers)
