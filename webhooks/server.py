"""The receiver's HTTP server: uvicorn with every wait bounded.

uvicorn bounds the keep-alive wait between requests (``timeout_keep_alive``), the size of a
request's head (``h11_max_incomplete_event_size``, h11 only) and the requests served at once
(``limit_concurrency``: beyond it, 503, which Stripe retries).  It has no limit on the time a
client may take to send its headers: a connection that opens and never finishes them is held
for good, and thousands of them exhaust the server.  ``HeaderTimeoutProtocol`` (uvicorn's h11
protocol plus one timer) closes a connection whose request headers are not complete within
``header_timeout`` seconds of the connection opening or of the previous response.  The app
bounds the time to read the body (``body_timeout``, app.py).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(frozen=True)
class Limits:
    """Every bound the receiver puts on a client (README: "Webhook receiver limits")."""

    header_timeout: float = 10.0       # seconds to send the request line and headers
    body_timeout: float = 30.0         # seconds to send the body once the headers are in
    keep_alive_timeout: int = 5        # seconds an idle connection is kept between requests
    limit_concurrency: int = 1000      # connections + requests at once; beyond it 503
    max_header_bytes: int = 16 * 1024  # request line + headers
    max_body_bytes: int = 512 * 1024   # Stripe events are well under this


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol that closes connections whose headers do not arrive in time."""

    header_timeout: float = Limits.header_timeout

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request line and headers are in
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_timer()  # the next request's headers get the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_late)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_late(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def protocol_class(header_timeout: float) -> type[HeaderTimeoutProtocol]:
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,),
                {"header_timeout": header_timeout})


def serve(app, host: str, port: int, limits: Limits) -> None:  # noqa: ANN001 - ASGI app
    """Run ``app`` until SIGINT/SIGTERM with every limit in ``limits`` applied."""
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                http=protocol_class(limits.header_timeout),
                timeout_keep_alive=limits.keep_alive_timeout,
                limit_concurrency=limits.limit_concurrency,
                h11_max_incomplete_event_size=limits.max_header_bytes)
