"""``POST /webhooks/stripe``: verify the signature, land the event, then answer 2xx.

* The ``Stripe-Signature`` header is checked with the SDK's verifier (HMAC-SHA256
  over ``{t}.{body}``, constant-time comparison, 300 s tolerance) against every
  configured secret, so a secret can be rotated without dropping events.  The SDK
  refuses timestamps older than the tolerance but not ones ahead of the clock; a
  timestamp more than the tolerance in the future is refused here.
* Bodies over the limit get 413 before being read whole, a body not sent within
  ``body_timeout`` gets 408; broken JSON, or an event without a field the product
  relies on (warehouse/event_shape.py), gets 400 naming the field; a bad, stale or
  future signature 400 (Stripe's own convention for its libraries).  Nothing is
  landed for any of them.
* A valid event is stored in ``stripe_events`` keyed by its id, and the answer
  is sent only after the transaction that holds it committed: a duplicate is a
  no-op (200, ``"duplicate": true``).  Unknown event types are stored too;
  the sync run marks them ignored.  An event that cannot be stored gets 503 and
  never takes another event down with it (landing.py).
* Optionally (``nudger``) new events trigger an immediate sync run (nudge.py).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import orjson
import sqlalchemy as sa
import stripe
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from warehouse.event_shape import EventShapeError
from warehouse.events import event_row

from .landing import GroupCommitter
from .nudge import Nudger
from .server import Limits

TOLERANCE = 300

log = logging.getLogger("webhooks")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def build_app(engine: sa.Engine, secrets: Sequence[str], limits: Limits = Limits(),
              tolerance: int = TOLERANCE, nudger: Nudger | None = None) -> Starlette:
    secrets = [s.strip() for s in secrets if s.strip()]
    if not secrets:
        raise ValueError("STRIPE_WEBHOOK_SECRET is not set (comma-separate several to rotate)")
    committer = GroupCommitter(engine, on_new=nudger.poke if nudger else None)
    max_body = limits.max_body_bytes

    async def receive(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            return _error(413, f"body over {max_body} bytes")
        body = bytearray()
        try:
            async with asyncio.timeout(limits.body_timeout):
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > max_body:
                        return _error(413, f"body over {max_body} bytes")
        except TimeoutError:
            return _error(408, f"body not received within {limits.body_timeout:g} s")
        except ClientDisconnect:
            return _error(400, "client disconnected")
        refused = _signature_refused(bytes(body), request.headers.get("stripe-signature"),
                                     secrets, tolerance)
        if refused:
            return _error(400, refused)
        try:
            row = event_row(orjson.loads(body), body.decode("utf-8"))
        except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(400, f"not JSON: {exc}")
        except EventShapeError as exc:
            # validly signed, so Stripe sent it and will retry it: say so where operators look
            log.warning("refused a signed event (%s): %s", _event_id(body), exc)
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
        return JSONResponse({"status": "ok", **committer.backlog()})

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


def _event_id(body: bytes) -> str:
    """The event's id for a log line, if it is a plausible one; else a placeholder."""
    try:
        eid = orjson.loads(body).get("id")
    except (orjson.JSONDecodeError, AttributeError):
        return "no id"
    return eid if isinstance(eid, str) and eid.isascii() and eid.isprintable() \
        and len(eid) <= 255 else "no usable id"


def _signature_refused(body: bytes, header: str | None, secrets: Sequence[str],
                       tolerance: int) -> str | None:
    """Why the signature is refused, or None when one secret verifies it and it is not ahead."""
    payload = body.decode("utf-8", errors="replace")
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
        except stripe.SignatureVerificationError:
            continue
        # verify_header refuses old timestamps only; one ahead of the clock is refused here
        if _signed_at(header) > time.time() + tolerance:
            return f"Stripe-Signature timestamp more than {tolerance} s in the future"
        return None
    return "invalid or stale Stripe-Signature"


def _signed_at(header: str | None) -> int:
    """The ``t=`` the SDK verified: the first item named exactly ``t``, parsed as the SDK does."""
    return int([item.split("=", 2)[1] for item in (header or "").split(",")
                if item.split("=", 2)[0] == "t"][0])
