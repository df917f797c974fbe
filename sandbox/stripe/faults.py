"""Fault injection for the ``/v1`` API, configured through ``/_sandbox/faults``.

A fault rule fires either for the next ``count`` matching requests or with a
probability ``rate`` (drawn from a seeded RNG so runs are reproducible), and
optionally only for paths starting with ``path_prefix``.  Kinds:

* ``429``: rate-limit error; ``should_retry`` decides whether
  ``Stripe-Should-Retry: true`` is sent (stripe-python retries a 429 only
  with that header).
* ``500``/``502``/``503``: ``api_error`` with ``Stripe-Should-Retry: true``
  unless ``should_retry`` is false.
* ``latency``: sleep ``latency_ms`` during execution, after the idempotency
  key is reserved, so a concurrent request with the same key sees 409.
* ``drop``: close the TCP connection without any response.

With ``"after": true`` an error or drop fault lets the request execute first
(its result is stored under the ``Idempotency-Key``) and only replaces the
response, which models a response lost on the way back to the client.
"""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from .errors import StripeError
from .ratelimit import rate_limit_error

KINDS = frozenset({"429", "500", "502", "503", "latency", "drop"})


@dataclass
class Fault:
    kind: str
    count: int | None = None
    rate: float | None = None
    latency_ms: int = 0
    path_prefix: str = ""
    should_retry: bool = True
    after: bool = False
    methods: frozenset[str] | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Fault:
        kind = str(body.get("kind", ""))
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}")
        count, rate = body.get("count"), body.get("rate")
        if (count is None) == (rate is None):
            raise ValueError("give exactly one of count or rate")
        if count is not None and int(count) < 1:
            raise ValueError("count must be >= 1")
        if rate is not None and not 0.0 <= float(rate) <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        methods = body.get("methods")
        return cls(
            kind=kind,
            count=None if count is None else int(count),
            rate=None if rate is None else float(rate),
            latency_ms=int(body.get("latency_ms", 0)),
            path_prefix=str(body.get("path_prefix", "") or ""),
            should_retry=bool(body.get("should_retry", True)),
            after=bool(body.get("after", False)),
            methods=frozenset(m.upper() for m in methods) if methods else None,
        )

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "count": self.count, "rate": self.rate,
                "latency_ms": self.latency_ms, "path_prefix": self.path_prefix,
                "should_retry": self.should_retry, "after": self.after,
                "methods": sorted(self.methods) if self.methods else None}


class Faults:
    """The active fault rules; the first matching rule that fires wins."""

    def __init__(self, seed: int = 0) -> None:
        self.rules: list[Fault] = []
        self.rng = random.Random(seed)
        self.injected = 0
        self.injected_by_kind: dict[str, int] = {}

    def add(self, fault: Fault) -> None:
        self.rules.append(fault)

    def clear(self) -> None:
        self.rules.clear()

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault to apply to this request, consuming one ``count`` if it fires."""
        if not self.rules:
            return None
        self.rules = [r for r in self.rules if r.count is None or r.count > 0]
        for rule in self.rules:
            if rule.path_prefix and not path.startswith(rule.path_prefix):
                continue
            if rule.methods and method not in rule.methods:
                continue
            if rule.count is not None:
                rule.count -= 1
            elif self.rng.random() >= (rule.rate or 0.0):
                continue
            self.injected += 1
            self.injected_by_kind[rule.kind] = self.injected_by_kind.get(rule.kind, 0) + 1
            return rule
        return None


def fault_error(fault: Fault) -> tuple[StripeError, dict[str, str]]:
    """The Stripe error and extra headers an error fault answers with."""
    retry = {"Stripe-Should-Retry": "true" if fault.should_retry else "false"}
    if fault.kind == "429":
        headers = {"Stripe-Rate-Limited-Reason": "global-rate"}
        if fault.should_retry:
            headers.update(retry)
        return rate_limit_error(), headers
    status = int(fault.kind)
    err = StripeError(status, "api_error",
                      "An unknown error occurred while processing your request "
                      f"(injected {status} fault).")
    return err, retry


async def drop_connection(request: Request) -> None:
    """Close the client's TCP connection without sending a response.

    uvicorn's ``receive`` is a bound method of its per-request cycle, which
    holds the transport; aborting it makes the client see a connection reset
    (requests/httpx raise a connection error, which stripe-python retries).
    Yielding once lets uvicorn's ``connection_lost`` mark the cycle
    disconnected, so the response Starlette sends afterwards is discarded and
    uvicorn logs no error.
    """
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("drop faults need uvicorn's transport")
    transport.abort()
    await asyncio.sleep(0)
