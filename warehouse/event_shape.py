"""The shape of a Stripe event the product relies on, checked before anything is landed.

Every field the landing table and the sync run read is checked here, so a malformed event is
refused alone (the receiver answers 400 naming the field) instead of failing the transaction
it would have shared with valid events:

* ``id``: a string of at most 255 characters, no control characters (not its ``evt_`` prefix:
  Stripe says prefixes are not a contract, and the signature already proves the sender);
* ``object``: ``"event"``; ``type``: a non-empty string, at most 128 characters;
* ``created``: an integer (Unix seconds) between 2010-01-01 and three years from now;
* ``livemode``: a boolean when present;
* ``data.object``: an object whose ``object`` is a string (at most 64 characters) and whose
  ``id`` is a string of at most 255 characters without control characters.  Stripe's few
  objects without an id (the balance, tax settings: ``OBJECTS_WITHOUT_ID``) may omit it.

Lengths follow Stripe's statement that ids may be up to 255 characters (the width of the
landing table's id columns too).
"""
from __future__ import annotations

import re
import time
from typing import Any

MAX_ID_LENGTH = 255          # Stripe: ids may be up to 255 characters
MAX_TYPE_LENGTH = 128        # stripe_events.type
MAX_OBJECT_NAME_LENGTH = 64  # stripe_events.object_type
CREATED_MIN = 1262304000     # 2010-01-01T00:00:00Z, before Stripe's first API
CREATED_MAX_AHEAD = 3 * 365 * 86400  # test clocks may run ahead of today; nothing real runs further

# Object names whose class in the stripe SDK (stripe._object_classes) declares no ``id``;
# tests/webhooks/test_event_shape.py keeps this list equal to the installed SDK's.
OBJECTS_WITHOUT_ID = frozenset({
    "account_link", "account_session", "balance", "balance_settings", "billing.alert_triggered",
    "billing.credit_balance_summary", "billing.meter_event", "billing.meter_event_adjustment",
    "cash_balance", "customer_session", "entitlements.active_entitlement_summary",
    "funding_instructions", "list", "login_link", "search_result", "tax.settings",
    "terminal.connection_token", "terminal.onboarding_link",
    "treasury.financial_account_features",
})

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class EventShapeError(ValueError):
    """The event lacks a field the product relies on, or holds one of the wrong shape."""


def check_event(event: Any, now: float | None = None) -> dict[str, Any]:
    """Return ``data.object`` of a well-formed event; raise EventShapeError naming the field."""
    if not isinstance(event, dict):
        raise EventShapeError("the body must be a JSON object")
    _text(event, "id", "id", MAX_ID_LENGTH)
    if event.get("object") != "event":
        raise EventShapeError("object must be 'event'")
    _text(event, "type", "type", MAX_TYPE_LENGTH)
    created = event.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        raise EventShapeError("created must be an integer (Unix seconds)")
    latest = (time.time() if now is None else now) + CREATED_MAX_AHEAD
    if not CREATED_MIN <= created <= latest:
        raise EventShapeError("created is out of range (2010-01-01 to three years from now)")
    if "livemode" in event and not isinstance(event["livemode"], bool):
        raise EventShapeError("livemode must be a boolean")
    data = event.get("data")
    if not isinstance(data, dict):
        raise EventShapeError("data must be an object")
    obj = data.get("object")
    if not isinstance(obj, dict):
        raise EventShapeError("data.object must be an object")
    _text(obj, "object", "data.object.object", MAX_OBJECT_NAME_LENGTH)
    if "id" in obj or obj["object"] not in OBJECTS_WITHOUT_ID:
        _text(obj, "id", "data.object.id", MAX_ID_LENGTH)
    return obj


def _text(holder: dict[str, Any], key: str, name: str, max_length: int) -> None:
    value = holder.get(key)
    if not isinstance(value, str):
        raise EventShapeError(f"{name} must be a string")
    if not value:
        raise EventShapeError(f"{name} must not be empty")
    if len(value) > max_length:
        raise EventShapeError(f"{name} is longer than {max_length} characters")
    if _CONTROL.search(value):
        raise EventShapeError(f"{name} must not contain control characters")
