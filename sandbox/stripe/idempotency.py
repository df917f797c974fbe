"""Stripe's v1 idempotency layer for POST requests.

Stripe saves the status code and body of the first request made with a key
once endpoint execution has begun (including 5xx results) and replays them
for retries with ``Idempotent-Replayed: true`` and ``Original-Request`` set to
the first request's id.  Reusing a key with different parameters is a 400
``idempotency_error``; a retry racing the still-running original is a 409
``idempotency_key_in_use``.  Requests rejected before execution (401, 429,
parameter validation) store nothing, so the caller ``release``s the key.
Keys are pruned after 24 hours of *sandbox* time, so ``clock/advance`` ages
them like the real thing.

Keys are scoped per API key, as Stripe scopes them per account.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import StripeError

TTL_SECONDS = 24 * 3600


@dataclass
class Entry:
    fingerprint: Any
    request_id: str
    created: int
    done: bool = False
    status: int = 0
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def mismatch(key: str) -> StripeError:
    return StripeError(
        400, "idempotency_error",
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.")


def in_use(key: str) -> StripeError:
    return StripeError(
        409, "invalid_request_error",
        "There is currently another in-progress request using this Idempotent Key (that "
        "probably means you submitted twice, and the other request is still going through): "
        f"{key}. Please try again later.", code="idempotency_key_in_use")


class IdempotencyStore:
    """In-memory key store; ``now`` is the sandbox clock."""

    def __init__(self, now: Callable[[], int]) -> None:
        self._now = now
        self._entries: dict[tuple[str, str], Entry] = {}

    def begin(self, scope: str, key: str, fingerprint: Any, request_id: str) -> Entry | None:
        """Reserve ``key`` for a new execution, or return the finished entry to replay.

        Raises the 400 mismatch or 409 in-progress error as Stripe does.
        """
        self._prune()
        entry = self._entries.get((scope, key))
        if entry is None:
            self._entries[(scope, key)] = Entry(fingerprint, request_id, self._now())
            return None
        if entry.fingerprint != fingerprint:
            raise mismatch(key)
        if not entry.done:
            raise in_use(key)
        return entry

    def finish(self, scope: str, key: str, status: int, body: bytes,
               headers: dict[str, str]) -> None:
        entry = self._entries.get((scope, key))
        if entry is not None:
            entry.done, entry.status, entry.body, entry.headers = True, status, body, headers

    def release(self, scope: str, key: str) -> None:
        """Forget a reservation whose request failed before execution began."""
        entry = self._entries.get((scope, key))
        if entry is not None and not entry.done:
            del self._entries[(scope, key)]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _prune(self) -> None:
        """Drop keys older than 24 h; entries are in creation order, so stop early."""
        cutoff = self._now() - TTL_SECONDS
        while self._entries:
            k, e = next(iter(self._entries.items()))
            if e.created >= cutoff:
                break
            del self._entries[k]
