"""The ``/_sandbox`` control API: test and demo hooks, never used by product code.

No authentication and no rate limiting: tests and benchmarks drive the
sandbox through these endpoints (clock, faults, counters, webhook
quiescence) without disturbing the ``/v1`` statistics they measure.
Bodies are JSON; every answer is JSON except ``export`` (JSON lines).

=======  ==========================  ==================================================
GET      /_sandbox/health            ``{"status": "ok", "clock": t}`` (503 while starting)
POST     /_sandbox/reset             ``{"regenerate": true}``: wipe, then regenerate history
POST     /_sandbox/clock/advance     ``{"seconds": N}`` -> engine summary
GET      /_sandbox/faults            active rules; POST adds one (see ``faults.py``),
                                     DELETE clears all
GET      /_sandbox/stats             request/status/path counters, faults, webhooks;
                                     DELETE zeroes them
GET      /_sandbox/config            ``rate_limit``, ``live_rate``, ``webhook_*`` knobs;
                                     POST sets any of them
GET      /_sandbox/ground_truth      ``?created_gte=&created_lt=`` -> engine aggregates
GET      /_sandbox/export            ``?object=charge`` -> JSON lines, oldest first
GET      /_sandbox/close_truth       ``?at=T`` -> balances, tax, open invoices as of T
POST     /_sandbox/balance_transactions  ``{"type": ..., "reporting_category": ...,
                                     "currency": ..., "amount": n, "fee": n}`` -> the BT
GET      /_sandbox/webhooks/pending  ``{"pending": n}`` queued events + running deliveries
POST     /_sandbox/webhooks/flush    ``{"timeout": 30}``: wait until pending == 0 (504 if not)
GET      /_sandbox/webhooks/deliveries  attempt log (``?event=evt_…``)
=======  ==========================  ==================================================
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .errors import StripeError
from .faults import Fault, Faults

if TYPE_CHECKING:
    from .app import SandboxApp


@dataclass
class Stats:
    """Counters served by ``GET /_sandbox/stats`` (tests count API calls with them)."""

    requests: int = 0
    rate_limited: int = 0
    replayed: int = 0
    by_path: Counter = field(default_factory=Counter)
    by_status: Counter = field(default_factory=Counter)

    def as_dict(self, faults: Faults) -> dict[str, Any]:
        return {"requests": self.requests, "rate_limited": self.rate_limited,
                "idempotent_replays": self.replayed,
                "faults_injected": faults.injected, "faults_by_kind": faults.injected_by_kind,
                "by_path": dict(self.by_path),
                "by_status": {str(k): v for k, v in self.by_status.items()}}


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status, media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def _opt_int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    return None if value in (None, "") else int(value)


def routes(sb: SandboxApp) -> list[Route]:
    """Control routes bound to one sandbox instance."""

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
                return _json({"error": {"message": f"{type(exc).__name__}: {exc}"}}, 400)
            except StripeError as err:
                return _json({"error": err.to_dict()}, err.status)
        return endpoint

    async def health(request: Request) -> Response:
        if not sb.ready:
            return _json({"status": "starting", "clock": sb.engine.now()}, 503)
        return _json({"status": "ok", "clock": sb.engine.now()})

    async def reset(request: Request) -> Response:
        """Empty the engine; ``{"regenerate": false}`` skips regenerating history."""
        body = await _body(request)
        sb.engine.reset()
        summary = None
        if body.get("regenerate", True) and sb.regenerate is not None:
            summary = sb.regenerate()
        sb.idempotency.clear()
        sb.faults.clear()
        return _json({"status": "ok", "clock": sb.engine.now(), "generated": summary})

    async def advance(request: Request) -> Response:
        body = await _body(request)
        return _json(sb.engine.advance_clock(int(body["seconds"])))

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            sb.faults.add(Fault.from_body(await _body(request)))
        elif request.method == "DELETE":
            sb.faults.clear()
        return _json({"faults": [f.as_dict() for f in sb.faults.rules],
                      "injected": sb.faults.injected})

    async def stats(request: Request) -> Response:
        if request.method == "DELETE":
            sb.reset_stats()
        return _json({**sb.stats.as_dict(sb.faults), "webhooks": sb.webhooks.stats(),
                      "idempotency_keys": len(sb.idempotency)})

    async def config(request: Request) -> Response:
        """``rate_limit``, ``live_rate`` and ``webhook_<knob>`` (see ``WebhookConfig``)."""
        if request.method == "POST":
            body = await _body(request)
            hooks = {k[len("webhook_"):]: v for k, v in body.items() if k.startswith("webhook_")}
            other = {k: v for k, v in body.items() if not k.startswith("webhook_")}
            unknown = set(other) - {"rate_limit", "live_rate"}
            if unknown:
                raise KeyError(", ".join(sorted(unknown)))
            sb.webhooks.config.update(hooks)
            if "rate_limit" in other:
                sb.bucket.configure(float(other["rate_limit"]))
            if "live_rate" in other:
                sb.live_rate = float(other["live_rate"])
        return _json({"rate_limit": sb.bucket.rate, "live_rate": sb.live_rate,
                      **{f"webhook_{k}": v for k, v in sb.webhooks.config.as_dict().items()}})

    async def ground_truth(request: Request) -> Response:
        return _json(sb.engine.ground_truth(_opt_int(request, "created_gte"),
                                            _opt_int(request, "created_lt")))

    async def close_truth(request: Request) -> Response:
        """Balances, tax and open invoices as of ``?at=`` (see ``close_truth.py``)."""
        at = _opt_int(request, "at")
        return _json(sb.engine.close_truth(sb.engine.now() if at is None else at))

    async def balance_transaction(request: Request) -> Response:
        """One BT of a documented ``type``/``reporting_category`` with its source."""
        return Response(sb.engine.create_typed_bt(await _body(request)), 200,
                        media_type="application/json")

    async def export(request: Request) -> Response:
        obj = request.query_params.get("object")
        if not obj:
            raise ValueError("object is required, e.g. ?object=charge")

        def lines() -> Any:
            for data in sb.engine.export(obj):
                yield data + b"\n"
        return StreamingResponse(lines(), media_type="application/x-ndjson")

    async def pending(request: Request) -> Response:
        return _json({"pending": sb.webhooks.pending})

    async def flush(request: Request) -> Response:
        """Wait (up to ``timeout`` seconds, default 30) until no delivery is outstanding."""
        body = await _body(request)
        idle = await sb.webhooks.wait_idle(float(body.get("timeout", 30)))
        return _json({"idle": idle, "pending": sb.webhooks.pending}, 200 if idle else 504)

    async def deliveries(request: Request) -> Response:
        """Delivery attempts, oldest first (``?event=evt_…`` to filter)."""
        event = request.query_params.get("event")
        rows = [d for d in sb.webhooks.deliveries if event is None or d["event"] == event]
        return _json({"deliveries": rows})

    table = [
        ("/health", health, ["GET"]),
        ("/reset", reset, ["POST"]),
        ("/clock/advance", advance, ["POST"]),
        ("/faults", faults, ["GET", "POST", "DELETE"]),
        ("/stats", stats, ["GET", "DELETE"]),
        ("/config", config, ["GET", "POST"]),
        ("/ground_truth", ground_truth, ["GET"]),
        ("/export", export, ["GET"]),
        ("/close_truth", close_truth, ["GET"]),
        ("/balance_transactions", balance_transaction, ["POST"]),
        ("/webhooks/pending", pending, ["GET"]),
        ("/webhooks/flush", flush, ["POST"]),
        ("/webhooks/deliveries", deliveries, ["GET"]),
    ]
    return [Route(path, guarded(fn), methods=methods) for path, fn, methods in table]
