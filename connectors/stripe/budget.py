"""One request budget shared by every thread that talks to one Stripe account.

A token bucket: ``rate`` requests per second sustained, bursts up to
``burst``.  Stripe limits an account (live 100 req/s, test 25 req/s) across
all its clients, so every extraction thread, and every SDK retry, draws from
the same bucket; staying a few percent under the limit keeps 429s away.
"""
from __future__ import annotations

import threading
import time


class RequestBudget:
    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, min(rate / 10, 10.0)))
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting for tokens, for metrics

    def acquire(self) -> None:
        """Take one token, blocking until one is available."""
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                wait = (1.0 - self._tokens) / self.rate
                self.waited += wait
            time.sleep(wait)  # rate pacing: the bucket refills with time itself
