"""``expand[]`` for retrieve, create/update responses and lists.

A path is walked through the parsed response the way Stripe resolves it: the
type of each node is its ``object`` field, and a segment is accepted only if
the table in :mod:`.expandable` says that object has such a property:

* an *expandable* property (the SDK's ``ExpandableField``) holding an id is
  replaced by the stored object, which becomes the node the rest of the path
  applies to (``payment_intent.customer`` expands both, as Stripe does);
* an *includable* property is built on request (``customer.sources``,
  ``charge.refunds``, ...);
* a sub-hash on the way to an expandable property
  (``invoice_settings.default_payment_method``), an embedded object or a
  list (``items.data.price``, ``lines.data.x``) is walked through;
* anything else is refused with Stripe's 400 ``This property cannot be
  expanded (<path up to the failing segment>).`` (no ``param``; on a list
  endpoint a path that would be valid under ``data.`` gets Stripe's hint).

Ids of objects the sandbox does not store (``pm_``, ``ba_``) stay strings
(documented in the README's fidelity table).  Paths are limited to four
levels like Stripe's.  Objects are only parsed when an expansion is
requested; lists without ``expand`` never reach this module.
"""
from __future__ import annotations

from typing import Any, Protocol

import orjson

from .errors import StripeError
from .expandable import EXPANDABLE, INCLUDABLE, PREFIXES, TYPE_ALIASES

MAX_DEPTH = 4
SUB_LIST_LIMIT = 10  # an embedded sub-list shows the first page (Stripe's default limit)


class Reader(Protocol):
    def get(self, id: str) -> bytes | None: ...
    def list(self, object: str, **kw: Any) -> tuple[list[bytes], bool]: ...


def cannot_expand(path: str, hint: str | None = None) -> StripeError:
    message = f"This property cannot be expanded ({path})."
    if hint:
        message += f" You may want to try expanding '{hint}' instead."
    return StripeError(400, "invalid_request_error", message)


def check_paths(expand: Any) -> list[str]:
    """Validate the ``expand`` param (an array of dotted strings, at most 4 levels)."""
    if expand is None or expand == "":
        return []
    if not isinstance(expand, list) or not all(isinstance(p, str) for p in expand):
        raise StripeError(400, "invalid_request_error", "Invalid array", param="expand")
    for path in expand:
        if path.count(".") + 1 > MAX_DEPTH:
            raise StripeError(400, "invalid_request_error",
                              f"You cannot expand more than {MAX_DEPTH} levels of a property.",
                              param="expand")
    return list(dict.fromkeys(p for p in expand if p))


def _type(node: dict[str, Any]) -> str | None:
    kind = node.get("object")
    return TYPE_ALIASES.get(kind, kind) if isinstance(kind, str) else None


def _sub_list(url: str, rows: list[bytes] = (), has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": [orjson.loads(r) for r in rows], "has_more": has_more,
            "url": url}


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

    def _include(self, obj: dict[str, Any], kind: str, field: str) -> Any:
        """The value of includable ``field`` on ``obj`` (see ``expandable.INCLUDABLE``)."""
        oid = obj.get("id")
        store = self.store
        if kind == "customer":
            url = f"/v1/customers/{oid}/{field}"
            if field == "subscriptions":  # current ones: the list's default excludes canceled
                return _sub_list(url, *store.list("subscription", filters={"customer": oid},
                                                  limit=SUB_LIST_LIMIT))
            if field == "tax_ids":
                return _sub_list(url, *store.list("tax_id", filters={"customer": oid},
                                                  limit=SUB_LIST_LIMIT))
            if field == "sources":  # test payment methods are PaymentMethods, not sources
                return _sub_list(url)
            if field == "cash_balance":
                return {"object": "cash_balance", "available": None, "customer": oid,
                        "customer_account": None, "livemode": False,
                        "settings": {"reconciliation_mode": "automatic",
                                     "using_merchant_default": True}}
            if field == "invoice_credit_balance":
                return {}
            return {"automatic_tax": "not_collecting", "ip_address": None, "location": None,
                    "provider": "stripe"}
        if kind == "charge":
            return _sub_list(f"/v1/charges/{oid}/refunds",
                             *store.list("refund", filters={"charge": oid}, limit=100))
        if kind == "invoice":
            return _sub_list("/v1/invoice_payments",
                             *store.list("invoice_payment", filters={"invoice": oid},
                                         limit=100))
        if kind == "price" and field == "currency_options":
            return {obj["currency"]: {"custom_unit_amount": None,
                                      "tax_behavior": obj["tax_behavior"], "tiers": None,
                                      "unit_amount": obj["unit_amount"],
                                      "unit_amount_decimal": obj["unit_amount_decimal"]}}
        return None  # tiers of a per-unit price, billed_until without prebilling

    def expand(self, obj: Any, path: str) -> None:
        """Expand one dotted ``path`` in place inside ``obj``."""
        self._walk(obj, path.split("."), 0, None, "")

    def _walk(self, node: Any, parts: list[str], at: int, kind: str | None, rel: str) -> None:
        """Apply ``parts[at:]`` to ``node``; ``kind``/``rel`` locate a sub-hash in its object."""
        if at == len(parts) or node is None:
            return
        if isinstance(node, list):
            for item in node:
                self._walk(item, parts, at, kind, rel)
            return
        if not isinstance(node, dict):
            raise cannot_expand(".".join(parts[:at]))
        typed = _type(node)
        if typed == "list" or typed == "search_result":
            if parts[at] != "data":
                raise cannot_expand(".".join(parts[: at + 1]))
            self._walk(node.get("data"), parts, at + 1, None, "")
            return
        if kind is None:  # a new object: its own properties from here on
            kind, rel = typed, ""
        seg = parts[at]
        key = f"{rel}.{seg}" if rel else seg
        done = ".".join(parts[: at + 1])
        if kind not in EXPANDABLE:
            raise cannot_expand(done)
        if key in EXPANDABLE[kind]:
            value = node.get(seg)
            if isinstance(value, str):
                fetched = self._fetch(value)
                if fetched is not None:
                    node[seg] = value = fetched
                elif at + 1 < len(parts):
                    return  # an id the sandbox does not store (pm_, ba_ ...) stays a string
            self._walk(value, parts, at + 1, None, "")
        elif (kind, key) in INCLUDABLE:
            if seg not in node:
                node[seg] = self._include(node, kind, seg)
            self._walk(node[seg], parts, at + 1, None, "")
        elif key in PREFIXES[kind]:
            self._walk(node.get(seg), parts, at + 1, kind, key)
        elif seg in node and _holds_objects(node[seg]):
            self._walk(node[seg], parts, at + 1, None, "")
        else:
            raise cannot_expand(done)


def _holds_objects(value: Any) -> bool:
    """An embedded object or list of objects (``items``, ``lines``, ``price``, ...)."""
    if isinstance(value, dict):
        return isinstance(value.get("object"), str)
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict) \
        and "object" in value[0]


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
            raise cannot_expand(path if head != "data" else "data",
                                hint=f"data.{path}" if head != "data" else None)
        item_paths.append(tail)
    if not item_paths:
        return rows
    expander = Expander(store)
    out = []
    for raw in rows:
        obj = orjson.loads(raw)
        for path in item_paths:
            try:
                expander.expand(obj, path)
            except StripeError as err:
                raise _in_list(err) from None
        out.append(orjson.dumps(obj))
    return out


def _in_list(err: StripeError) -> StripeError:
    """Name the failing path as the caller wrote it (``data.`` + path)."""
    prefix = "This property cannot be expanded ("
    if err.message.startswith(prefix):
        return cannot_expand("data." + err.message[len(prefix):-2])
    return err
