"""One retry policy for every ERP adapter, on tenacity.

What is retried: :class:`~connectors.erp.base.ErpTransientError` (timeouts, dropped
connections, 429, 502/503/504, and 500 where the request is safe to repeat).  How:
exponential backoff with full jitter (``base * 2**n`` seconds, at most ``cap``), never
shorter than the ERP's ``Retry-After``.  How long: an **outage budget** of
``max_seconds`` (``ERP_RETRY_MAX_SECONDS``, default 30) counted from the first failure
of the current run of failures.  Every layer that retries (the HTTP layer for reads, an
adapter's find-then-create for writes, the posting run for a whole batch) shares its
adapter's policy, so an outage costs ``max_seconds`` in all, plus at most the one
request that was in flight when it began (requests sent during an outage time out
within what is left of the budget), not the product of the layers' budgets.  Any
answer from the ERP ends the outage.  ``attempts`` (``ERP_RETRY_ATTEMPTS``, default 6)
bounds each layer's tries.

When the budget is spent the last :class:`ErpTransientError` propagates; the posting
run turns it into :class:`~connectors.erp.base.ErpUnavailable`, naming the ERP, its
base URL, the document and the status, and the next run resumes from that batch.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import tenacity

T = TypeVar("T")

DEFAULT_MAX_SECONDS = 30.0
DEFAULT_ATTEMPTS = 6


def public_url(url: str) -> str:
    """``url`` without user information, query or fragment: safe to show in errors."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


@dataclass
class RetryPolicy:
    """Backoff and the shared outage budget (see the module docstring)."""

    max_seconds: float = DEFAULT_MAX_SECONDS
    attempts: int = DEFAULT_ATTEMPTS
    base: float = 0.2
    cap: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    retries: int = field(default=0, init=False)          # sleeps taken, all layers
    slept: float = field(default=0.0, init=False)        # seconds asked to sleep, all layers
    _outage_since: float | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RetryPolicy:
        """``ERP_RETRY_MAX_SECONDS`` and ``ERP_RETRY_ATTEMPTS`` (defaults 30 and 6)."""
        max_seconds = float(env.get("ERP_RETRY_MAX_SECONDS") or DEFAULT_MAX_SECONDS)
        attempts = int(env.get("ERP_RETRY_ATTEMPTS") or DEFAULT_ATTEMPTS)
        if max_seconds < 0 or attempts < 1:
            raise ValueError("ERP_RETRY_MAX_SECONDS must be >= 0 and ERP_RETRY_ATTEMPTS >= 1")
        return cls(max_seconds=max_seconds, attempts=attempts)

    # ------------------------------------------------------------------ outage clock
    def answered(self) -> None:
        """The ERP answered: whatever outage there was is over."""
        self._outage_since = None

    def failed(self) -> None:
        """A transient failure: starts the outage clock if it is not running."""
        if self._outage_since is None:
            self._outage_since = self.clock()

    def outage_seconds(self) -> float:
        return 0.0 if self._outage_since is None else self.clock() - self._outage_since

    def remaining(self) -> float:
        return max(0.0, self.max_seconds - self.outage_seconds())

    def timeout(self, default: float) -> float:
        """A request's timeout: during an outage, no longer than what is left of the budget
        (at least one second), so a hanging ERP cannot stretch the outage much past it."""
        if self._outage_since is None:
            return default
        return max(1.0, min(default, self.remaining()))

    # ------------------------------------------------------------------ tenacity
    def _stop(self, state: tenacity.RetryCallState) -> bool:
        return state.attempt_number >= self.attempts or self.remaining() <= 0.0

    def _wait(self, state: tenacity.RetryCallState, settle: Callable[[Any], float] | None
              ) -> float:
        exc = state.outcome.exception() if state.outcome else None
        delay = random.uniform(0, min(self.cap, self.base * 2 ** (state.attempt_number - 1)))
        delay = max(delay, getattr(exc, "retry_after", None) or 0.0,
                    settle(exc) if settle and exc is not None else 0.0)
        return min(delay, self.remaining())

    def _slept(self, seconds: float) -> None:
        self.retries += 1
        self.slept += seconds
        self.sleep(seconds)

    def retrying(self, settle: Callable[[Any], float] | None = None) -> tenacity.Retrying:
        """A tenacity ``Retrying`` on this policy; ``settle(exc)`` adds a minimum wait."""
        from .base import ErpTransientError  # base imports this module

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(ErpTransientError), stop=self._stop,
            wait=lambda state: self._wait(state, settle), sleep=self._slept, reraise=True)

    def run(self, fn: Callable[[], T], settle: Callable[[Any], float] | None = None) -> T:
        """``fn()`` with retries on transient failures, keeping the outage clock."""
        from .base import ErpTransientError

        def attempt() -> T:
            try:
                result = fn()
            except ErpTransientError:
                self.failed()
                raise
            self.answered()
            return result

        return self.retrying(settle)(attempt)
