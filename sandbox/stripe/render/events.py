"""Webhook endpoints and events (pre-serialised bytes: the hottest path)."""
from __future__ import annotations

from typing import Any

from .base import API_VERSION, dumps

_EVT_HEAD = (
    b'{"id":"%s","object":"event","api_version":"'
    + API_VERSION.encode()
    + b'","context":null,"created":%d,"data":{"object":'
)


_NO_REQUEST = dumps({"id": None, "idempotency_key": None})


def event_parts(
    id: str,
    created: int,
    type: str,
    previous_attributes: dict[str, Any] | None,
    pending_webhooks: int,
    request_id: str | None,
    idempotency_key: str | None,
) -> tuple[bytes, bytes]:
    """The bytes before and after the object snapshot in an event's JSON.

    Snapshots are immutable ("The contents of ``data`` never change"), so an
    event is ``head + snapshot + tail``: the object's already-rendered bytes
    are reused verbatim instead of being serialised again.
    """
    request = (
        _NO_REQUEST
        if request_id is None and idempotency_key is None
        else dumps({"id": request_id, "idempotency_key": idempotency_key})
    )
    tail = b'},"livemode":false,"pending_webhooks":%d,"request":%s,"type":"%s"}' % (
        pending_webhooks,
        request,
        type.encode(),
    )
    if previous_attributes is not None:
        tail = b',"previous_attributes":' + dumps(previous_attributes) + tail
    return _EVT_HEAD % (id.encode(), created), tail


def event_bytes(
    id: str,
    created: int,
    type: str,
    snapshot: bytes,
    previous_attributes: dict[str, Any] | None,
    pending_webhooks: int,
    request_id: str | None,
    idempotency_key: str | None,
) -> bytes:
    """An event's JSON around the snapshot bytes of its object (see ``event_parts``)."""
    head, tail = event_parts(
        id, created, type, previous_attributes, pending_webhooks, request_id, idempotency_key
    )
    return head + snapshot + tail
