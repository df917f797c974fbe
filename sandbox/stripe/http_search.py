"""The Search API subset: ``GET /v1/<resource>/search?query=…``.

Stripe's search query language, as far as an ERP sync or a support script
would use it: clauses ``field:value`` (exact), ``field~value`` (substring, at
least 3 characters), ``field>value`` / ``>=`` / ``<`` / ``<=`` (numbers),
``-clause`` (negation), ``metadata['key']:value``, dotted sub-fields, joined by
``AND`` or by ``OR`` (not both, at most 10 clauses).  Results are newest
first in ``search_result`` envelopes with an opaque ``next_page`` token, which
stripe-python's ``auto_paging_iter`` sends back as ``page``.

Search scans the stored objects of one type (there is no index to lag behind,
so unlike Stripe it is read-after-write consistent); it is meant for small
sandboxes, not for bulk extraction, which is what list endpoints are for.
"""
from __future__ import annotations

import base64
import re
from typing import Any, Callable

import orjson

from .errors import StripeError, invalid
from .http_expand import expand_rows
from .http_lists import parse_limit

SEARCHABLE = {"charges": "charge", "customers": "customer", "invoices": "invoice",
              "payment_intents": "payment_intent", "prices": "price", "products": "product",
              "subscriptions": "subscription"}
MAX_CLAUSES = 10
_CLAUSE = re.compile(
    r"""^(?P<neg>-)?(?P<field>[a-z_][a-z0-9_.]*(?:\[['"][^'"]+['"]\])?)\s*"""
    r"""(?P<op>:|~|>=|<=|>|<)\s*(?P<value>'[^']*'|"[^"]*"|[^\s'"]+)$""")


def _bad_query(query: str) -> StripeError:
    return invalid(f"We were unable to parse your search query. Try using the format "
                   f"`metadata[\"key\"]:\"value\"` to query for metadata or `key:\"value\"` to "
                   f"query for other fields. Query: {query}", param="query")


def _lookup(obj: dict[str, Any], field: str) -> Any:
    meta = re.fullmatch(r"metadata\[['\"]([^'\"]+)['\"]\]", field)
    if meta:
        return (obj.get("metadata") or {}).get(meta.group(1))
    value: Any = obj
    for part in field.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _predicate(clause: str, query: str) -> Callable[[dict[str, Any]], bool]:
    m = _CLAUSE.match(clause.strip())
    if m is None:
        raise _bad_query(query)
    field, op, raw = m.group("field"), m.group("op"), m.group("value")
    quoted = raw[:1] in "'\""
    text = raw[1:-1] if quoted else raw
    if op in (">", ">=", "<", "<="):
        try:
            bound = float(text)
        except ValueError:
            raise _bad_query(query) from None
        compare = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__,
                   "<=": float.__le__}[op]

        def test(obj: dict[str, Any]) -> bool:
            value = _lookup(obj, field)
            return isinstance(value, (int, float)) and not isinstance(value, bool) \
                and compare(float(value), bound)
    elif op == "~":
        if len(text) < 3:
            raise invalid("Substring matching requires at least 3 characters.", param="query")
        needle = text.lower()

        def test(obj: dict[str, Any]) -> bool:
            value = _lookup(obj, field)
            return isinstance(value, str) and needle in value.lower()
    else:
        def test(obj: dict[str, Any]) -> bool:
            value = _lookup(obj, field)
            if isinstance(value, bool):
                return str(value).lower() == text.lower()
            if isinstance(value, (int, float)):
                return str(value) == text
            return isinstance(value, str) and value.lower() == text.lower()
    if m.group("neg"):
        return lambda obj: not test(obj)
    return test


def compile_query(query: str) -> Callable[[dict[str, Any]], bool]:
    """Turn a search query into a predicate over parsed objects."""
    has_and, has_or = " AND " in query, " OR " in query
    if has_and and has_or:
        raise invalid("Search queries cannot mix AND and OR.", param="query")
    clauses = re.split(r"\s+(?:AND|OR)\s+", query.strip())
    if len(clauses) > MAX_CLAUSES:
        raise invalid(f"Search queries can have at most {MAX_CLAUSES} clauses.", param="query")
    tests = [_predicate(c, query) for c in clauses]
    if has_or:
        return lambda obj: any(t(obj) for t in tests)
    return lambda obj: all(t(obj) for t in tests)


def _page_offset(token: Any) -> int:
    if token in (None, ""):
        return 0
    try:
        return int(base64.urlsafe_b64decode(str(token).encode()).decode().removeprefix("off:"))
    except (ValueError, UnicodeDecodeError):
        raise invalid(f"Invalid page: {token}", param="page") from None


def search(store: Any, resource: str, params: dict[str, Any], expand: list[str],
           url: str) -> bytes:
    """One page of search results, newest first."""
    unknown = set(params) - {"query", "limit", "page"}
    if unknown:
        key = sorted(unknown)[0]
        raise invalid(f"Received unknown parameter: {key}", param=key, code="parameter_unknown")
    query = params.get("query")
    if not isinstance(query, str) or not query.strip():
        raise StripeError(400, "invalid_request_error", "Missing required param: query.",
                          code="parameter_missing", param="query")
    matches = compile_query(query)
    limit, offset = parse_limit(params), _page_offset(params.get("page"))
    hits = []
    for seq, raw in enumerate(store.iter_objects(SEARCHABLE[resource])):
        obj = orjson.loads(raw)
        if matches(obj):
            hits.append((obj["created"], seq, raw))
    hits.sort(reverse=True)
    rows = [raw for _, _, raw in hits[offset:offset + limit]]
    has_more = offset + limit < len(hits)
    if expand:
        rows = expand_rows(store, rows, expand)
    next_page = base64.urlsafe_b64encode(f"off:{offset + limit}".encode()).decode() \
        if has_more else None
    return b"".join((b'{"object":"search_result","data":[', b",".join(rows), b'],"has_more":',
                     b"true" if has_more else b"false", b',"next_page":', orjson.dumps(next_page),
                     b',"url":"', url.encode(), b'"}'))
