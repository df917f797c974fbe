"""The sandbox's control API under ``/_sandbox`` (no auth, never used by product code):
health, reset, fault injection, request statistics, fiscal periods, items, token expiry."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import erp_common
from . import odata
from .errors import EpicorError
from .ledger import check_month
from .responses import error_response, json_response

if TYPE_CHECKING:
    from .app import EpicorSandbox


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

class Control:
    def __init__(self, sb: EpicorSandbox) -> None:
        self.sb = sb

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox/health", self.health, methods=["GET"]),
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
            Route("/_sandbox/faults", self.set_faults, methods=["POST", "DELETE", "GET"]),
            Route("/_sandbox/stats", self.stats, methods=["GET", "DELETE"]),
            Route("/_sandbox/periods", self.periods, methods=["GET", "POST"]),
            Route("/_sandbox/periods/close", self.close_period, methods=["POST"]),
            Route("/_sandbox/items", self.items, methods=["POST"]),
            Route("/_sandbox/tokens/expire", self.expire_tokens, methods=["POST"]),
        ]

    # ------------------------------------------------------------------ control
    async def health(self, request: Request) -> Response:
        return erp_common.health_response(self.sb.ready)

    async def reset(self, request: Request) -> Response:
        self.sb.store.reset()
        self.sb.faults.clear()
        self.sb.faults.injected = 0
        self.sb.requests, self.sb.by_path = 0, {}
        return json_response({"status": "reset"})

    async def set_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.sb.faults.clear()
            return json_response({"faults": []})
        if request.method == "GET":
            return json_response({"faults": [r.as_dict() for r in self.sb.faults.rules]})
        try:
            fault = Fault.from_body(orjson.loads(await request.body() or b"{}"))
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return json_response({"error": str(exc)}, 400)
        self.sb.faults.add(fault)
        return json_response({"faults": [r.as_dict() for r in self.sb.faults.rules]})

    async def stats(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.sb.requests, self.sb.by_path, self.sb.faults.injected = 0, {}, 0
        return json_response({"requests": self.sb.requests, "by_path": self.sb.by_path,
                              "faults_injected": self.sb.faults.injected})

    async def periods(self, request: Request) -> Response:
        """``{"close": "YYYY-MM"}`` / ``{"open": "YYYY-MM"}``; GET lists the closed ones."""
        if request.method == "GET":
            return json_response({"closed": self.sb.store.periods()})
        try:
            body = orjson.loads(await request.body())
            close, open_ = body.get("close"), body.get("open")
            if not (isinstance(close, str) or isinstance(open_, str)):
                raise ValueError("give close or open")
            closed = self.sb.store.periods(close=close and check_month(close),
                                           open_=open_ and check_month(open_))
        except (AttributeError, ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return json_response({"error": f"body must be {{\"close\"|\"open\": "
                                           f"\"YYYY-MM\"}}: {exc}"}, 400)
        return json_response({"closed": closed})

    async def close_period(self, request: Request) -> Response:
        """Older form: close every period before a date (``{"before": "YYYY-MM-DD"}``)."""
        try:
            before = str(orjson.loads(await request.body())["before"])
            self.sb.store.periods(before=before)
        except (KeyError, ValueError, TypeError, orjson.JSONDecodeError):
            return json_response({"error": "body must be {\"before\": \"YYYY-MM-DD\"}"}, 400)
        return json_response({"closed_before": before})

    async def items(self, request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
            items = body if isinstance(body, list) else [body]
            for item in items:
                self.sb.store.add_item(str(item["sku"]), odata.to_decimal(item.get("on_hand", 0)),
                                       str(item.get("location") or "MAIN"),
                                       bool(item.get("stocked", True)))
        except (KeyError, ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return json_response({"error": f"bad item: {exc}"}, 400)
        return json_response({"items": len(items)})

    async def expire_tokens(self, request: Request) -> Response:
        self.sb.tokens.clear()
        return json_response({"expired": True})

    # ------------------------------------------------------------------ auth
