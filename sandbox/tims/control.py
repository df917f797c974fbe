"""The control API ``/_sandbox/**`` (JSON, no auth, for tests and demos; never product code).

``GET health``; ``POST reset`` (documents, ledger, faults, closed periods, idempotency
keys, stats; tokens survive); ``POST|GET|DELETE faults``; ``GET|DELETE stats``;
``POST periods {"close": "YYYY-MM"}`` / ``{"open": "YYYY-MM"}`` and ``GET periods`` (the
accounting periods an accountant closes in TIMS); ``POST periods/close {"before":
"YYYY-MM-DD"}`` (every period before a date); ``POST items``; ``POST tokens/revoke``.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..erp_common import health_response, json_response
from .faults import Fault
from .wire import loads

if TYPE_CHECKING:
    from .app import TimsApp


def _error(message: str) -> Response:
    return json_response({"error": message}, 400)


class Control:
    def __init__(self, app: TimsApp) -> None:
        self.app = app

    def routes(self) -> list[Route]:
        return [Route("/_sandbox/health", self.health, methods=["GET"]),
                Route("/_sandbox/reset", self.reset, methods=["POST"]),
                Route("/_sandbox/faults", self.faults, methods=["GET", "POST", "DELETE"]),
                Route("/_sandbox/stats", self.stats, methods=["GET", "DELETE"]),
                Route("/_sandbox/periods", self.periods, methods=["GET", "POST"]),
                Route("/_sandbox/periods/close", self.close_before, methods=["POST"]),
                Route("/_sandbox/items", self.items, methods=["POST"]),
                Route("/_sandbox/tokens/revoke", self.revoke_tokens, methods=["POST"])]

    async def health(self, request: Request) -> Response:
        return health_response(self.app.ready)

    async def reset(self, request: Request) -> Response:
        app = self.app
        with app.state.lock:
            app.state.reset()
            app.faults.clear()
            app.idempotency.clear()
            app.zero_stats()
        app.on_change()
        return json_response({"status": "reset"})

    async def faults(self, request: Request) -> Response:
        faults = self.app.faults
        if request.method == "POST":
            try:
                faults.add(Fault.from_body(loads(await request.body())))
            except (ValueError, TypeError) as exc:
                return _error(str(exc))
        elif request.method == "DELETE":
            faults.clear()
        return json_response({"faults": [f.as_dict() for f in faults.rules]})

    async def stats(self, request: Request) -> Response:
        app = self.app
        if request.method == "DELETE":
            app.zero_stats()
        return json_response({"requests": app.requests, "by_path": app.by_path,
                              "faults_injected": app.faults.injected})

    async def periods(self, request: Request) -> Response:
        state = self.app.state
        if request.method == "POST":
            try:
                body = loads(await request.body())
                (action, period), = body.items()
            except (ValueError, TypeError, AttributeError):
                return _error('body must be {"close": "YYYY-MM"} or {"open": "YYYY-MM"}')
            if action not in ("close", "open") or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])",
                                                                  str(period)):
                return _error('body must be {"close": "YYYY-MM"} or {"open": "YYYY-MM"}')
            with state.lock:
                (state.closed_periods.add if action == "close"
                 else state.closed_periods.discard)(period)
            self.app.on_change()
        closed_before = state.closed_before.isoformat() if state.closed_before else None
        return json_response({"closed": sorted(state.closed_periods),
                              "closed_before": closed_before})

    async def close_before(self, request: Request) -> Response:
        try:
            before = loads(await request.body()).get("before")
            with self.app.state.lock:
                self.app.state.closed_before = date.fromisoformat(before) if before else None
            self.app.on_change()
        except (ValueError, TypeError, AttributeError) as exc:
            return _error(f"before must be YYYY-MM-DD ({exc})")
        return json_response({"closed_before": before})

    async def items(self, request: Request) -> Response:
        state = self.app.state
        try:
            rows: Any = loads(await request.body())
            rows = rows if isinstance(rows, list) else [rows]
            with state.lock:
                for r in rows:
                    state.put_item(str(r["sku"]), Decimal(str(r.get("on_hand", 0))),
                                   str(r.get("location") or "MAIN"),
                                   bool(r.get("stocked", True)), r.get("description"))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return _error(f"bad item list ({exc!r})")
        return json_response({"items": len(rows)})

    async def revoke_tokens(self, request: Request) -> Response:
        self.app.tokens.clear()
        return json_response({"revoked": True})
