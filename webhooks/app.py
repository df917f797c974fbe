"""``POST /webhooks/stripe``: verify the signature, land the event, then answer 2xx.

* The ``Stripe-Signature`` header is checked with the SDK's verifier (HMAC-SHA256
  over ``{t}.{body}``, constant-time comparison, 300 s tolerance) against every
  configured secret, so a secret can be rotated without dropping events.
* Bodies over the limit get 413 before being read whole; broken JSON or an
  object that is not a Stripe event gets 400; a bad or stale signature 400
  (Stripe's own convention for its libraries).  Nothing is landed for any of them.
* A valid event is stored in ``stripe_events`` keyed by its id, and the answer
  is sent only after the transaction that holds it committed: a duplicate is a
  no-op (200, ``"duplicate": true``).  Unknown event types are stored too;
  the sync run marks them ignored.
* Writes go through one writer thread that commits whatever has queued up in
  one transaction (group commit): durable and fast under bursts.
* Optionally (``nudger``) new events trigger an immediate sync run (nudge.py).
"""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
import stripe
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from warehouse.events import event_row, insert_events

from .nudge import Nudger

log = logging.getLogger("webhooks")

DEFAULT_MAX_BODY = 512 * 1024   # Stripe events are well under this
TOLERANCE = 300


@dataclass
class _Pending:
    row: dict[str, Any]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


class GroupCommitter:
    """One thread, one transaction per batch of waiting events; futures resolved after commit."""

    def __init__(self, engine: sa.Engine, max_batch: int = 500,
                 on_new: Callable[[], None] | None = None) -> None:
        self.engine, self.max_batch, self.on_new = engine, max_batch, on_new
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="landing-writer", daemon=True)
        self.healthy = True
        self._thread.start()

    async def land(self, row: dict[str, Any]) -> bool:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._queue.put(_Pending(row, fut, loop))
        return await fut

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: Sequence[_Pending]) -> None:
        try:
            with self.engine.begin() as conn:
                fresh = insert_events(conn, [p.row for p in batch])
            self.healthy = True
        except Exception as exc:  # noqa: BLE001 - every waiting request gets the failure
            self.healthy = False
            log.error("landing failed for %d events: %s", len(batch), type(exc).__name__)
            for p in batch:
                p.loop.call_soon_threadsafe(_set_exception, p.future, exc)
            return
        if fresh and self.on_new is not None:
            self.on_new()
        seen: set[str] = set()
        for p in batch:
            new = p.row["id"] in fresh and p.row["id"] not in seen
            seen.add(p.row["id"])
            p.loop.call_soon_threadsafe(_set_result, p.future, new)


def _set_result(fut: asyncio.Future, value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future, exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def build_app(engine: sa.Engine, secrets: Sequence[str], max_body: int = DEFAULT_MAX_BODY,
              tolerance: int = TOLERANCE, nudger: Nudger | None = None) -> Starlette:
    secrets = [s.strip() for s in secrets if s.strip()]
    if not secrets:
        raise ValueError("STRIPE_WEBHOOK_SECRET is not set (comma-separate several to rotate)")
    committer = GroupCommitter(engine, on_new=nudger.poke if nudger else None)

    async def receive(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            return _error(413, f"body over {max_body} bytes")
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    return _error(413, f"body over {max_body} bytes")
        except ClientDisconnect:
            return _error(400, "client disconnected")
        header = request.headers.get("stripe-signature")
        if not _verified(bytes(body), header, secrets, tolerance):
            return _error(400, "invalid or stale Stripe-Signature")
        try:
            event = orjson.loads(body)
            if not isinstance(event, dict):
                raise ValueError("body is not a JSON object")
            row = event_row(event, body.decode("utf-8"))
        except (orjson.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
            return _error(400, f"not a Stripe event: {exc}")
        try:
            new = await committer.land(row)
        except Exception:  # noqa: BLE001 - Stripe retries a 5xx; nothing was acknowledged
            return _error(503, "could not store the event; retry")
        return JSONResponse({"received": True, "id": row["id"], "duplicate": not new})

    async def health(request: Request) -> JSONResponse:
        try:
            await asyncio.to_thread(_ping, engine)
        except Exception as exc:  # noqa: BLE001
            return _error(503, f"landing store unavailable: {type(exc).__name__}")
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        committer.close()
        if nudger is not None:
            nudger.close()

    app = Starlette(routes=[Route("/webhooks/stripe", receive, methods=["POST"]),
                            Route("/health", health, methods=["GET"])], lifespan=lifespan)
    app.state.committer = committer
    return app


def _ping(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


def _verified(body: bytes, header: str | None, secrets: Sequence[str], tolerance: int) -> bool:
    payload = body.decode("utf-8", errors="replace")
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
            return True
        except stripe.SignatureVerificationError:
            continue
    return False
