"""``expand[]`` for retrieve, create/update responses and lists.

Expansion here is generic, as the reference asks: walk a dotted path through
the parsed object and replace the id string found there by the stored object
(``Store.get``).  Intermediate ids are expanded on the way (``expand[]=
payment_intent.customer`` expands both, as Stripe does), lists along the path
(``lines.data.x``, ``dispute.balance_transactions``) are walked element by
element, and paths are limited to four levels like Stripe.

A few fields are *includable* rather than expandable: Stripe omits them unless
asked (``charge.refunds`` since 2022-11-15, ``invoice.payments``); asking
builds the sub-list from the store.

Objects are only parsed when an expansion is requested; lists without
``expand`` never reach this module.
"""
from __future__ import annotations

from typing import Any, Protocol

import orjson

from .errors import StripeError

MAX_DEPTH = 4

# (object, field) -> (listed object, filter column, sub-list url template)
INCLUDABLE: dict[tuple[str, str], tuple[str, str, str]] = {
    ("charge", "refunds"): ("refund", "charge", "/v1/charges/{id}/refunds"),
    ("invoice", "payments"): ("invoice_payment", "invoice", "/v1/invoice_payments"),
}


class Reader(Protocol):
    def get(self, id: str) -> bytes | None: ...
    def list(self, object: str, **kw: Any) -> tuple[list[bytes], bool]: ...


def cannot_expand(path: str) -> StripeError:
    return StripeError(400, "invalid_request_error",
                       f"This property cannot be expanded ({path}).", param="expand")


def check_paths(expand: Any) -> list[str]:
    """Validate the ``expand`` param (an array of dotted strings, at most 4 levels)."""
    if expand is None or expand == "":
        return []
    if not isinstance(expand, list) or not all(isinstance(p, str) for p in expand):
        raise StripeError(400, "invalid_request_error", "Invalid array", param="expand")
    for path in expand:
        if path.count(".") + 1 > MAX_DEPTH:
            raise StripeError(400, "invalid_request_error",
                              f"You cannot expand more than {MAX_DEPTH} levels of a property. "
                              f"Property: {path}", param="expand")
    return list(dict.fromkeys(p for p in expand if p))


class Expander:
    """Expands paths against one store, memoising fetched objects per request."""

    def __init__(self, store: Reader) -> None:
        self.store = store
        self._cache: dict[str, Any] = {}

    def _fetch(self, id: str) -> Any | None:
        if id not in self._cache:
            raw = self.store.get(id)
            self._cache[id] = None if raw is None else orjson.loads(raw)
        return self._cache[id]

    def _include(self, obj: dict[str, Any], field: str) -> dict[str, Any] | None:
        spec = INCLUDABLE.get((obj.get("object"), field))
        if spec is None:
            return None
        listed, column, url = spec
        rows, has_more = self.store.list(listed, filters={column: obj["id"]}, limit=100)
        return {"object": "list", "data": [orjson.loads(r) for r in rows],
                "has_more": has_more, "url": url.format(id=obj["id"])}

    def expand(self, obj: Any, path: str) -> None:
        """Expand one dotted ``path`` in place inside ``obj``."""
        self._walk(obj, path.split("."), path)

    def _walk(self, node: Any, parts: list[str], path: str) -> None:
        if isinstance(node, list):
            for item in node:
                self._walk(item, parts, path)
            return
        if not isinstance(node, dict):
            return
        key, rest = parts[0], parts[1:]
        if key not in node:
            included = self._include(node, key)
            if included is None:
                raise cannot_expand(path)
            node[key] = included
        value = node[key]
        if isinstance(value, str):
            fetched = self._fetch(value)
            if fetched is None:
                if "_" not in value:  # not an id at all (e.g. a currency code)
                    raise cannot_expand(path)
                return  # an id the sandbox does not store (pm_, ba_ ...) stays a string
            node[key] = value = fetched
        elif value is not None and not isinstance(value, (dict, list)):
            raise cannot_expand(path)
        if rest and value is not None:
            self._walk(value, rest, path)


def expand_object(store: Reader, raw: bytes, paths: list[str]) -> bytes:
    """Apply ``paths`` to one rendered object; returns it unchanged when there are none."""
    if not paths:
        return raw
    obj = orjson.loads(raw)
    expander = Expander(store)
    for path in paths:
        expander.expand(obj, path)
    return orjson.dumps(obj)


def expand_rows(store: Reader, rows: list[bytes], paths: list[str]) -> list[bytes]:
    """Apply list-style paths (``data.x``) to each row of a page."""
    item_paths = []
    for path in paths:
        head, _, tail = path.partition(".")
        if head != "data" or not tail:
            raise cannot_expand(path)
        item_paths.append(tail)
    if not item_paths:
        return rows
    expander = Expander(store)
    out = []
    for raw in rows:
        obj = orjson.loads(raw)
        for path in item_paths:
            expander.expand(obj, path)
        out.append(orjson.dumps(obj))
    return out
