"""Webhook delivery: signed POSTs of every new event to matching endpoints.

The dispatcher subscribes to the engine and delivers each event JSON, as
rendered at creation, to every enabled endpoint whose ``enabled_events``
contain ``*`` or the event type, the way Stripe delivers snapshot events:

* ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``;
  ``t`` is wall-clock time (not the sandbox clock), because receivers check
  it against their own clock with a 300 s tolerance.
* at-least-once: any non-2xx, timeout or connection error is retried on a
  compressed exponential schedule (``retry_base_ms * retry_factor**n``, capped
  at ``retry_max_ms``, at most ``max_attempts`` attempts) instead of Stripe's
  hours-long one; retries stop if the endpoint is disabled or deleted.
* knobs to exercise receivers: ``duplicate_rate`` (deliver an extra copy),
  ``shuffle`` (reorder events that arrive together within ``shuffle_window``
  and jitter their start), ``delay_ms`` (hold every delivery).

Progress goes back to the engine (``mark_event_delivery``) so events carry the
right ``pending_webhooks`` and the ``delivery_success`` list filter works.
Deliveries are asyncio tasks on the server's loop and never block requests.
``pending`` counts queued events plus running deliveries, which lets tests
wait for quiescence (``/_sandbox/webhooks/flush``) instead of sleeping.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, fields
from typing import Any

import httpx

log = logging.getLogger("sandbox.stripe.webhooks")

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


@dataclass
class WebhookConfig:
    """Delivery knobs (CLI flags and ``POST /_sandbox/config`` with a ``webhook_`` prefix)."""

    duplicate_rate: float = 0.0
    shuffle: bool = False
    shuffle_window: int = 10
    delay_ms: int = 0
    retry_base_ms: int = 500
    retry_factor: float = 2.0
    retry_max_ms: int = 30_000
    max_attempts: int = 8
    timeout_ms: int = 10_000

    def update(self, values: dict[str, Any]) -> None:
        """Apply known keys with their field's type; unknown keys raise ``KeyError``."""
        types = {f.name: f.type for f in fields(self)}
        for key, value in values.items():
            if key not in types:
                raise KeyError(key)
            kind = str(types[key])
            if kind == "bool":
                value = value if isinstance(value, bool) else str(value).lower() in ("1", "true")
            setattr(self, key, {"float": float, "int": int, "bool": bool}[kind](value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ms = min(self.retry_base_ms * self.retry_factor ** (attempt - 1), self.retry_max_ms)
        return ms / 1000


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Stripe-Signature`` header value for ``body``."""
    mac = hmac.new(secret.encode(), b"%d." % timestamp + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class _EventState:
    """Endpoints of one event not yet delivered to (by the primary copy)."""

    __slots__ = ("event_id", "undelivered")

    def __init__(self, event_id: str, endpoints: int) -> None:
        self.event_id = event_id
        self.undelivered = endpoints


class Dispatcher:
    """Delivers engine events to webhook endpoints from background tasks."""

    def __init__(self, engine: Any, config: WebhookConfig, *, seed: int = 0) -> None:
        self.engine = engine
        self.config = config
        self.rng = random.Random(seed * 31 + 7)
        self.counts: Counter = Counter()
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=5000)
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._queue: asyncio.Queue[tuple[bytes, dict[str, Any]]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._client: httpx.AsyncClient | None = None
        self._runner: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        engine.subscribe(self._on_event)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._queue = asyncio.Queue()
        self._client = httpx.AsyncClient(headers={"User-Agent": USER_AGENT})
        self._runner = asyncio.create_task(self._run())

    async def stop(self) -> None:
        for task in [self._runner, *self._tasks]:
            if task is not None:
                task.cancel()
        if self._client is not None:
            await self._client.aclose()

    @property
    def pending(self) -> int:
        return self._pending

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no event is queued and no delivery is running or scheduled."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    def stats(self) -> dict[str, Any]:
        return {"pending": self._pending, **self.counts}

    # ------------------------------------------------------------------ bookkeeping

    def _add(self, n: int) -> None:
        self._pending += n
        if self._pending > 0:
            self._idle.clear()
        else:
            self._idle.set()

    def _on_event(self, data: bytes, event: dict[str, Any]) -> None:
        """Engine callback; may run on another thread (then hop onto the loop)."""
        if self._loop is None:
            return  # not serving yet (history generation)
        if threading.get_ident() == self._loop_thread:
            self._enqueue(data, event)
        else:
            self._loop.call_soon_threadsafe(self._enqueue, data, event)

    def _enqueue(self, data: bytes, event: dict[str, Any]) -> None:
        assert self._queue is not None
        self._add(1)
        self._queue.put_nowait((data, event))

    # ------------------------------------------------------------------ dispatch

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            if self.config.shuffle:
                while len(batch) < self.config.shuffle_window and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                self.rng.shuffle(batch)
            for data, event in batch:
                try:
                    self._dispatch(data, event)
                except Exception:  # never let one event stop the dispatcher
                    log.exception("webhook dispatch failed for %s", event.get("id"))
                    self._add(-1)

    def _dispatch(self, data: bytes, event: dict[str, Any]) -> None:
        etype = event["type"]
        targets = [ep for ep in self.engine.webhook_endpoint_secrets()
                   if "*" in ep[2] or etype in ep[2]]
        if not targets:
            self._add(-1)
            return
        state = _EventState(event["id"], len(targets))
        self.engine.mark_event_delivery(state.event_id, len(targets), False)
        jobs = []
        for endpoint_id, url, _events, secret in targets:
            jobs.append((endpoint_id, url, secret, True))
            if self.config.duplicate_rate and self.rng.random() < self.config.duplicate_rate:
                jobs.append((endpoint_id, url, secret, False))
                self.counts["duplicates"] += 1
        self._add(len(jobs) - 1)
        for endpoint_id, url, secret, primary in jobs:
            task = asyncio.create_task(self._deliver(
                data, etype, state.event_id, endpoint_id, url, secret,
                state if primary else None))
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._add(-1)

    async def _deliver(self, data: bytes, etype: str, event_id: str, endpoint_id: str, url: str,
                       secret: str, state: _EventState | None) -> None:
        """Deliver one copy with retries; ``state`` is set for the primary copy only."""
        delay = self.config.delay_ms / 1000
        if self.config.shuffle:
            delay += self.rng.random() * 0.05
        if delay:
            await asyncio.sleep(delay)
        attempt = 0
        while True:
            attempt += 1
            ok = await self._attempt(data, etype, event_id, endpoint_id, url, secret, attempt,
                                     duplicate=state is None)
            if ok:
                break
            if attempt >= self.config.max_attempts:
                self.counts["gave_up"] += 1
                break
            await asyncio.sleep(self.config.backoff(attempt))
            if endpoint_id not in {ep[0] for ep in self.engine.webhook_endpoint_secrets()}:
                self.counts["endpoint_gone"] += 1
                break
        if state is not None and ok:
            state.undelivered -= 1
            self.engine.mark_event_delivery(state.event_id, state.undelivered,
                                            state.undelivered == 0)

    async def _attempt(self, data: bytes, etype: str, event_id: str, endpoint_id: str, url: str,
                       secret: str, attempt: int, *, duplicate: bool) -> bool:
        assert self._client is not None
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Stripe-Signature": sign(secret, data, int(time.time()))}
        status: int | None = None
        error: str | None = None
        try:
            resp = await self._client.post(url, content=data, headers=headers,
                                           timeout=self.config.timeout_ms / 1000)
            status = resp.status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        ok = status is not None and 200 <= status < 300
        self.counts["attempts"] += 1
        self.counts["delivered" if ok else "failed_attempts"] += 1
        self.deliveries.append({"event": event_id, "type": etype, "endpoint": endpoint_id,
                                "attempt": attempt, "status": status, "error": error, "ok": ok,
                                "duplicate": duplicate})
        return ok
