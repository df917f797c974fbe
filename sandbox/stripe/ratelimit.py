"""Global request-rate limiter (token bucket), like Stripe's ``global-rate`` limiter.

Stripe allows 25 requests/s per account in test mode and 100 in live mode and
answers excess requests with a 429 carrying ``Stripe-Rate-Limited-Reason``.
The bucket holds one second's worth of tokens, so short bursts up to the rate
pass and sustained traffic above it is refused.  The limiter runs before
idempotency (a 429 is never stored against an ``Idempotency-Key``).

Documented choice: the 429 carries ``Stripe-Rate-Limited-Reason: global-rate``
*and* ``Stripe-Should-Retry: true``.  stripe-python retries a 429 only when
that header says ``true`` (a bare 429 raises ``RateLimitError`` at once), so
with the header the SDK's own backoff absorbs bursts over the limit the way a
well-behaved client should.  A bare 429 can still be produced with the
``429`` fault and ``"should_retry": false``.
"""
from __future__ import annotations

import time

from .errors import StripeError

# Headers of every rate-limit 429 (see the module docstring for Should-Retry).
HEADERS = {"Stripe-Rate-Limited-Reason": "global-rate", "Stripe-Should-Retry": "true"}


def rate_limit_error() -> StripeError:
    """Stripe's 429 body for the global limiter."""
    return StripeError(429, "invalid_request_error",
                       "Request rate limit exceeded. You can learn more about rate limits here "
                       "https://stripe.com/docs/rate-limits.", code="rate_limit")


class TokenBucket:
    """``rate`` tokens per second, burst capacity ``rate``; ``rate <= 0`` disables."""

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        self._tokens = self.rate
        self._stamp = time.monotonic()

    def configure(self, rate: float) -> None:
        """Change the rate and refill the bucket (a config change starts a fresh second)."""
        self.rate = float(rate)
        self._tokens = self.rate
        self._stamp = time.monotonic()

    def take(self) -> bool:
        """Consume one token; ``False`` when the request must be rate limited."""
        if self.rate <= 0:
            return True
        now = time.monotonic()
        self._tokens = min(self.rate, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
