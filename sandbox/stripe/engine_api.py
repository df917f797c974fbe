"""The engine's request-level interface: what the HTTP layer calls.

``EngineAPI`` is a base class of :class:`~.engine.Engine`: each call runs one
handler of ``operations.py`` atomically (``Engine._call``) or reads after
catching up with the clock.  The object access, events, jobs and write path
the handlers use are in ``engine.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from . import connect, ledger, truth
from .close_truth import close_truth
from .errors import invalid
from .operations import ACTION as _ACTION, CREATE as _CREATE, DELETE as _DELETE
from .operations import UPDATE as _UPDATE
from .render import dumps

if TYPE_CHECKING:
    import threading

    from .store import Store

Obj = dict[str, Any]


class EngineAPI:
    """Public operations of the engine (create, update, delete, action, reads)."""

    if TYPE_CHECKING:  # provided by Engine
        lock: threading.RLock
        store: Store
        endpoints: dict[str, Obj]
        secrets: dict[str, str]

        def now(self) -> int: ...
        def _caught_up(self) -> None: ...
        def _call(
            self,
            fn: Callable[..., Any],
            *args: Any,
            request_id: str | None = None,
            idempotency_key: str | None = None,
        ) -> Any: ...

    def _route(
        self,
        handler: Callable[..., Any] | None,
        url: str,
        *args: Any,
        request_id: str | None,
        idempotency_key: str | None,
    ) -> bytes:
        """Run ``handler(engine, *args, t)``, or 400 like Stripe for an unknown URL."""
        if handler is None:
            raise invalid(f"Unrecognized request URL ({url}).")
        return self._call(
            handler, self, *args, request_id=request_id, idempotency_key=idempotency_key
        )

    def create(
        self,
        resource: str,
        params: dict[str, Any],
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> bytes:
        return self._route(
            _CREATE.get(resource),
            f"POST: /v1/{resource}",
            params,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )

    def update(
        self,
        resource: str,
        id: str,
        params: dict[str, Any],
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> bytes:
        return self._route(
            _UPDATE.get(resource),
            f"POST: /v1/{resource}/{id}",
            id,
            params,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )

    def delete(
        self,
        resource: str,
        id: str,
        params: dict[str, Any] | None = None,
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> bytes:
        return self._route(
            _DELETE.get(resource),
            f"DELETE: /v1/{resource}/{id}",
            id,
            params or {},
            request_id=request_id,
            idempotency_key=idempotency_key,
        )

    def action(
        self,
        resource: str,
        id: str,
        action: str,
        params: dict[str, Any],
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> bytes:
        return self._route(
            _ACTION.get((resource, action)),
            f"POST: /v1/{resource}/{id}/{action}",
            id,
            params,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )

    def mark_event_delivery(
        self, event_id: str, pending_webhooks: int, delivery_success: bool | None
    ) -> None:
        """Record webhook delivery progress (called by the webhook dispatcher).

        Rewrites the event's ``pending_webhooks`` and sets the column behind the
        ``delivery_success`` list filter.
        """
        with self.lock:
            data = self.store.get(event_id)
            if data is None:
                return
            cut = data.rindex(b',"pending_webhooks":')
            end = data.index(b",", cut + 1)
            new = data[:cut] + b',"pending_webhooks":%d' % pending_webhooks + data[end:]
            self.store.write(
                {},
                [
                    (
                        "UPDATE events SET data=?, delivery_success=? WHERE id=?",
                        (
                            new,
                            None if delivery_success is None else int(delivery_success),
                            event_id,
                        ),
                    )
                ],
            )

    def balance(self) -> bytes:
        """The ``GET /v1/balance`` object (USD settlement)."""
        with self.lock:
            self._caught_up()
            return dumps(ledger.balance_object(self))  # type: ignore[arg-type]

    def webhook_endpoint_secrets(self) -> list[tuple[str, str, list[str], str]]:
        """(endpoint id, url, enabled_events, secret) for every enabled endpoint."""
        with self.lock:
            return [
                (ep["id"], ep["url"], list(ep["enabled_events"]), self.secrets[ep["id"]])
                for ep in self.endpoints.values()
                if ep["status"] == "enabled"
            ]

    def ground_truth(
        self, created_gte: int | None = None, created_lt: int | None = None
    ) -> dict[str, Any]:
        """Exact aggregates per object type for objects created in [gte, lt)."""
        with self.lock:
            self._caught_up()
            return truth.ground_truth(self.store, self.now(), created_gte, created_lt)

    def close_truth(self, at: int) -> dict[str, Any]:
        """Balances, tax and open invoices as of ``at`` (``close_truth.py``)."""
        with self.lock:
            self._caught_up()
            return close_truth(self.store, at)

    def create_typed_bt(self, params: dict[str, Any]) -> bytes:
        """One balance transaction of a documented type (``connect.create_typed``)."""
        return self._call(connect.create_typed, self, params)

    def export(self, object: str) -> Iterator[bytes]:
        """Every stored object of a type (current state), oldest first."""
        return self.store.iter_objects(object)

    def tick_live(self, n: int = 1) -> int:
        """Create ``n`` pieces of realistic activity at the current clock (``--live-rate``)."""
        from .generator import live_activity

        return self._call(live_activity, self, n)
