"""List endpoints: Stripe's cursor pagination, date ranges and per-endpoint filters.

Pages are assembled by concatenating the rendered JSON the store already
holds, so a page of 100 charges costs one SQLite query and a ``join``; objects
are parsed only when ``expand[]`` asks for it.  ``url`` is the request path
without the query string: stripe-python's ``auto_paging_iter`` re-requests
that path with its original params plus ``starting_after``.

Parameter validation mirrors Stripe's: ``limit`` 1..100, the two cursors are
mutually exclusive, ``created`` is an integer or a ``gt/gte/lt/lte`` hash,
unknown parameters are refused with ``parameter_unknown``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import StripeError, invalid
from .http_expand import expand_rows

RANGE_OPS = ("gt", "gte", "lt", "lte")


@dataclass(frozen=True)
class ListSpec:
    """One list endpoint: the stored ``object`` it lists and what it filters on.

    ``filters`` maps a query parameter to its parser (``str`` or ``boolean``);
    ``ranges`` are integer-or-hash parameters like ``created``; ``required``
    parameters must be present (``subscription`` on subscription items).
    """

    object: str
    filters: dict[str, str] = field(default_factory=dict)
    ranges: tuple[str, ...] = ()
    required: tuple[str, ...] = ()


S, B = "str", "bool"
LISTS: dict[str, ListSpec] = {
    "customers": ListSpec("customer", {"email": S}),
    "products": ListSpec("product", {"active": B}),
    "prices": ListSpec("price", {"active": B, "product": S, "type": S, "currency": S}),
    "payment_intents": ListSpec("payment_intent", {"customer": S}),
    "charges": ListSpec("charge", {"customer": S, "payment_intent": S}),
    "refunds": ListSpec("refund", {"charge": S, "payment_intent": S}),
    "disputes": ListSpec("dispute", {"charge": S, "payment_intent": S}),
    "payouts": ListSpec("payout", {"status": S, "destination": S}, ranges=("arrival_date",)),
    "balance_transactions": ListSpec("balance_transaction",
                                     {"payout": S, "source": S, "type": S, "currency": S}),
    "subscriptions": ListSpec("subscription", {"customer": S, "status": S, "price": S}),
    "subscription_items": ListSpec("subscription_item", {"subscription": S},
                                   required=("subscription",)),
    "invoices": ListSpec("invoice", {"customer": S, "status": S, "subscription": S},
                         ranges=("due_date",)),
    "invoice_payments": ListSpec("invoice_payment", {"invoice": S, "status": S}),
    "events": ListSpec("event", {"type": S, "delivery_success": B}),
    "webhook_endpoints": ListSpec("webhook_endpoint"),
    "accounts": ListSpec("account"),
    "tax_rates": ListSpec("tax_rate", {"active": B}),
    "transfers": ListSpec("transfer", {"destination": S}),
    "application_fees": ListSpec("application_fee", {"charge": S}),
    "topups": ListSpec("topup", {"status": S}),
    "coupons": ListSpec("coupon"),
    "invoiceitems": ListSpec("invoiceitem", {"customer": S, "invoice": S}),
    "credit_notes": ListSpec("credit_note", {"customer": S, "invoice": S}),
}
PAGING = frozenset({"limit", "starting_after", "ending_before", "created", "expand"})


def _int(value: Any, param: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise StripeError(400, "invalid_request_error", f"Invalid integer: {value}",
                          code="parameter_invalid_integer", param=param) from None


def _bool(value: Any, param: str) -> bool:
    text = str(value).lower()
    if text not in ("true", "false"):
        raise invalid(f"Invalid boolean: {value}", param=param)
    return text == "true"


def parse_range(value: Any, param: str) -> dict[str, int]:
    """``created=5`` -> ``{"eq": 5}``; ``created[gte]=5`` -> ``{"gte": 5}``."""
    if isinstance(value, dict):
        out = {}
        for op, v in value.items():
            if op not in RANGE_OPS:
                raise invalid(f"Received unknown parameter: {param}[{op}]",
                              param=f"{param}[{op}]", code="parameter_unknown")
            out[op] = _int(v, f"{param}[{op}]")
        return out
    return {"eq": _int(value, param)}


def parse_limit(params: dict[str, Any]) -> int:
    raw = params.get("limit")
    if raw is None or raw == "":
        return 10
    limit = _int(raw, "limit")
    if limit < 1:
        raise StripeError(400, "invalid_request_error",
                          "This value must be greater than or equal to 1.",
                          code="parameter_invalid_integer", param="limit")
    if limit > 100:
        raise StripeError(400, "invalid_request_error",
                          "This value must be less than or equal to 100.",
                          code="parameter_invalid_integer", param="limit")
    return limit


def _cursor(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid string: {value!r}", param=name)
    return value


def _event_types(params: dict[str, Any], filters: dict[str, Any]) -> None:
    types = params.get("types")
    if types is None:
        return
    if "type" in filters:
        raise StripeError(400, "invalid_request_error",
                          "You may only specify one of these parameters: type, types.",
                          code="parameters_exclusive", param="types")
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise StripeError(400, "invalid_request_error", "Invalid array", param="types")
    if len(types) > 20:
        raise invalid("You may only specify up to 20 types.", param="types")
    filters["types"] = types


def _invoice_payment(params: dict[str, Any], filters: dict[str, Any]) -> None:
    """``payment[type]=payment_intent&payment[payment_intent]=pi_…`` (basil+ charge→invoice link)."""
    payment = params.get("payment")
    if payment is None:
        return
    if not isinstance(payment, dict) or payment.get("type") != "payment_intent":
        raise invalid("Invalid payment[type]: must be payment_intent", param="payment[type]")
    pi = payment.get("payment_intent")
    if not isinstance(pi, str) or not pi:
        raise StripeError(400, "invalid_request_error",
                          "Missing required param: payment[payment_intent].",
                          code="parameter_missing", param="payment[payment_intent]")
    filters["payment_intent"] = pi


@dataclass
class ListQuery:
    """A validated list request, ready for ``Store.list``."""

    object: str
    limit: int
    starting_after: str | None
    ending_before: str | None
    created: dict[str, int] | None
    filters: dict[str, Any]
    extra_ranges: dict[str, dict[str, int]]


def parse(spec: ListSpec, params: dict[str, Any]) -> ListQuery:
    """Validate list params against ``spec`` the way Stripe does."""
    allowed = PAGING | spec.filters.keys() | set(spec.ranges)
    if spec.object == "event":
        allowed = allowed | {"types"}
    elif spec.object == "invoice_payment":
        allowed = allowed | {"payment"}
    for key in params:
        if key not in allowed:
            raise invalid(f"Received unknown parameter: {key}", param=key,
                          code="parameter_unknown")
    for key in spec.required:
        if params.get(key) in (None, ""):
            raise StripeError(400, "invalid_request_error", f"Missing required param: {key}.",
                              code="parameter_missing", param=key)
    limit = parse_limit(params)
    after, before = _cursor(params, "starting_after"), _cursor(params, "ending_before")
    if after and before:
        raise StripeError(400, "invalid_request_error",
                          "You may only specify one of these parameters: ending_before, "
                          "starting_after.", code="parameters_exclusive", param="ending_before")
    filters: dict[str, Any] = {}
    for key, kind in spec.filters.items():
        value = params.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, (dict, list)):
            raise invalid(f"Invalid string: {value!r}", param=key)
        filters[key] = _bool(value, key) if kind == B else value
    if spec.object == "event":
        _event_types(params, filters)
    elif spec.object == "invoice_payment":
        _invoice_payment(params, filters)
    created = params.get("created")
    extra = {name: parse_range(params[name], name) for name in spec.ranges
             if params.get(name) not in (None, "")}
    return ListQuery(spec.object, limit, after, before,
                     None if created in (None, "") else parse_range(created, "created"),
                     filters, extra)


def _bound_by_cursor(store: Any, query: ListQuery) -> dict[str, int] | None:
    """``created`` bounds implied by the cursor, merged with the caller's.

    A page after cursor C only holds objects created at or before C (at or
    after, for ``ending_before``).  Passing that bound lets SQLite walk the
    ``(object, created)`` index from the cursor instead of from the newest
    row: deep pages cost 0.25 ms instead of 1.7 ms at 30k charges.
    """
    created = dict(query.created or {})
    cursor = query.starting_after or query.ending_before
    if cursor is None:
        return query.created
    row = store.query("SELECT created FROM objects WHERE id = ? AND object = ?",
                      (cursor, query.object))
    if not row:
        return query.created  # the store reports the unknown cursor
    op, pick = ("lte", min) if query.starting_after else ("gte", max)
    created[op] = pick(created[op], row[0][0]) if op in created else row[0][0]
    return created


def page(store: Any, query: ListQuery, url: str, expand: list[str]) -> bytes:
    """Run ``query`` and build the list envelope from stored JSON bytes."""
    rows, has_more = store.list(
        query.object, filters=query.filters, created=_bound_by_cursor(store, query),
        limit=query.limit,
        starting_after=query.starting_after, ending_before=query.ending_before,
        extra_ranges=query.extra_ranges or None)
    if expand:
        rows = expand_rows(store, rows, expand)
    return b"".join((b'{"object":"list","data":[', b",".join(rows), b'],"has_more":',
                     b"true" if has_more else b"false", b',"url":"', url.encode(), b'"}'))
