"""``Stripe-Version``: responses in the shape of the version a request asks for.

The store holds objects rendered at the pinned version (``2026-10-28.endive``).
A request may name another version (the header overrides the account default,
per Stripe's versioning docs); the sandbox then re-shapes the response for
the breaking changes the product and the clients it must serve (tap-stripe
3.3.0 pins ``2022-11-15``) meet, each from Stripe's changelog:

* ``2025-03-31.basil`` "Adds subscription item-level billing periods and
  removes subscription-level periods": before it, ``current_period_start``
  and ``current_period_end`` are on the subscription, not on its items; the
  same release removed ``Subscription.discount`` and ``Plan.aggregate_usage``
  (stripe-python 12.0.0 changelog), so older versions have them (null).
* ``2026-05-27.dahlia`` "Billed until property on subscription items is no
  longer included in responses by default": before it, ``billed_until`` is
  rendered (null without prebilling); from it on, only when expanded.

Everything else renders in the pinned shape whatever the version (the README
lists what is not modelled: e.g. pre-basil invoices and charges).  Events are
never re-shaped: their ``data`` keeps the version they were created with.
"""
from __future__ import annotations

import re
from typing import Any

import orjson

PINNED = "2026-10-28.endive"
BASIL = "2025-03-31"
BILLED_UNTIL_INCLUDABLE = "2026-05-27"
# ``2026-10-28.endive``; versions before acacia have no release name (``2022-11-15``).
VERSION_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(\.[a-z]+)?$")
OLDEST = "2011-01-01"


def valid(version: str) -> bool:
    match = VERSION_RE.match(version)
    return bool(match) and OLDEST <= match.group(1) <= PINNED[:10]


def needs_reshape(version: str) -> bool:
    return version[:10] < BILLED_UNTIL_INCLUDABLE


def reshape(body: bytes, version: str) -> bytes:
    """``body`` (rendered at ``PINNED``) as ``version`` renders it."""
    if b'"object":"subscription' not in body and b'"object":"plan"' not in body:
        return body
    data = orjson.loads(body)
    _walk(data, version[:10])
    return orjson.dumps(data)


def _walk(node: Any, date: str) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, date)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("object")
    if kind == "event":
        return  # rendered at the event's own api_version, never re-shaped
    if kind == "subscription" and date < BASIL:
        items = (node.get("items") or {}).get("data") or [{}]
        _set(node, current_period_start=items[0].get("current_period_start"),
             current_period_end=items[0].get("current_period_end"), discount=None)
    for value in node.values():
        if isinstance(value, (dict, list)):
            _walk(value, date)
    if kind == "subscription_item":
        if date < BILLED_UNTIL_INCLUDABLE and "billed_until" not in node:
            _set(node, billed_until=None)
        if date < BASIL:
            node.pop("current_period_start", None)
            node.pop("current_period_end", None)
    elif kind == "plan" and date < BASIL:
        _set(node, aggregate_usage=None)


def _set(node: dict[str, Any], **values: Any) -> None:
    """Add ``values`` keeping Stripe's key order (``id``, ``object``, then alphabetical)."""
    node.update(values)
    ordered = sorted(node.items(), key=lambda kv: (kv[0] != "id", kv[0] != "object", kv[0]))
    node.clear()
    node.update(ordered)
