"""The sandbox's control API (``/_sandbox/...``, no auth, tests and demos only) and the
fault rules it installs, mixed into :class:`sandbox.infor.app.InforSandbox`.

health, reset, faults, stats, periods (close/open an accounting period), jobs (M3's
invoicing job: schedule, runs, run now), items, tokens.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .. import erp_common
from .common import warehouse_for
from .m3 import M3


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


class Controls:
    """``/_sandbox`` handlers; the app provides the state they act on."""

    m3: M3
    tenant: str
    ready: bool
    faults: erp_common.Faults
    stats: Stats
    token_ttl: int
    access: dict[str, float]
    refresh: dict[str, str]
    invoicing_interval: float

    def control_routes(self) -> list[tuple[str, Any, list[str]]]:
        return [("health", self.health, ["GET"]), ("reset", self.reset, ["POST"]),
                ("faults", self.faults_route, ["GET", "POST", "DELETE"]),
                ("stats", self.stats_route, ["GET", "DELETE"]),
                ("periods", self.periods, ["GET", "POST"]),
                ("periods/close", self.close_before, ["POST"]),
                ("jobs", self.jobs, ["GET"]), ("jobs/invoicing", self.jobs, ["POST"]),
                ("items", self.items, ["POST"]), ("tokens", self.tokens_route, ["POST"])]

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

    async def periods(self, request: Request) -> Response:
        """``{"close": "YYYY-MM"}`` / ``{"open": "YYYY-MM"}``: the accounting period of the
        division (M3 refuses postings dated in a closed one); GET lists the closed ones."""
        if request.method == "POST":
            try:
                body = orjson.loads(await request.body())
                action = "close" if "close" in body else "open"
                period = datetime.strptime(str(body[action]), "%Y-%m").strftime("%Y%m")
            except (ValueError, KeyError, TypeError) as exc:
                return _json({"error": f'body must be {{"close"|"open": "YYYY-MM"}} ({exc})'}, 400)
            with self.m3.lock:
                self.m3.set_period(period, action == "close")
        return _json({"closed": sorted(f"{p[:4]}-{p[4:]}" for p in self.m3.closed_periods)})

    async def close_before(self, request: Request) -> Response:
        """``{"before": "YYYY-MM-DD"}``: every accounting period before that date closes."""
        try:
            before = datetime.strptime(orjson.loads(await request.body())["before"], "%Y-%m-%d")
        except (ValueError, KeyError, TypeError) as exc:
            return _json({"error": f'body must be {{"before": "YYYY-MM-DD"}} ({exc})'}, 400)
        with self.m3.lock:
            self.m3.closed_before = before.strftime("%Y%m%d")
        return _json({"closed_before": before.date().isoformat()})

    async def jobs(self, request: Request) -> Response:
        """GET: the invoicing job's schedule and last runs.  ``POST jobs/invoicing``
        ``{"invoice_date": "YYYY-MM-DD"}`` (optional): run it now, as M3's job scheduler
        would (OIS180)."""
        if request.method == "POST":
            body = orjson.loads(await request.body() or b"{}")
            try:
                idat = body.get("invoice_date")
                idat = datetime.strptime(idat, "%Y-%m-%d").strftime("%Y%m%d") if idat else None
            except (ValueError, TypeError) as exc:
                return _json({"error": f'body must be {{"invoice_date": "YYYY-MM-DD"}} ({exc})'},
                             400)
            with self.m3.lock:
                return _json(self.m3.run_invoicing(idat))
        return _json({"invoicing_interval_seconds": self.invoicing_interval,
                      "runs": self.m3.job_runs})

    def run_scheduler(self) -> None:
        """M3's job scheduler: the invoicing job every ``invoicing_interval`` seconds (0: only
        on request).  Runs in its own daemon thread."""
        while self.invoicing_interval > 0:
            time.sleep(self.invoicing_interval)    # the schedule, not synchronisation
            with self.m3.lock:
                self.m3.run_invoicing()

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
