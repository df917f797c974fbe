"""The resources of ``/api/v1``, one table: method, path template, query parameters, body
schema, what answers, and the XML element names (``CONTRACT.md`` documents the same table,
and a test holds the two equal).

``dispatch(state, method, path, query, body)`` serves single requests and every ``/batch``
sub-request alike.  It returns ``(status, object, headers, xml_root, xml_item)`` and raises
:class:`Problem` for errors; a query parameter the route does not take is refused (400),
so a misspelt filter never widens a lookup silently.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from . import banking, credits, inventory, ledger, receivables, sales
from .checks import Collection
from .store import State
from .wire import Problem, field_error

MAX_PAGE_SIZE = 200
PAGING = ("page", "pageSize")
Query = dict[str, list[str]]
Result = tuple[int, Any, dict[str, str], str, str]
Action = Callable[[State, dict[str, str], Query, Any], tuple[int, Any, dict[str, str]]]


def values(query: Query, name: str) -> list[str] | None:
    """A filter's values: repeated parameters and/or comma-separated lists."""
    raw = query.get(name)
    if raw is None:
        return None
    return [v.strip() for item in raw for v in item.split(",") if v.strip()]


def _int(query: Query, name: str, default: int, lo: int, hi: int) -> int:
    raw = query.get(name)
    if not raw:
        return default
    try:
        n = int(raw[-1])
    except ValueError:
        n = lo - 1
    if not lo <= n <= hi:
        message = f"{name} must be an integer between {lo} and {hi}"
        raise Problem(400, message, [field_error(name, "OUT_OF_RANGE", message)])
    return n


def page(rows: list[dict[str, Any]], query: Query, **extra: Any) -> dict[str, Any]:
    number = _int(query, "page", 1, 1, 10**9)
    size = _int(query, "pageSize", 50, 1, MAX_PAGE_SIZE)
    start = (number - 1) * size
    return {**extra, "items": rows[start:start + size], "page": number, "pageSize": size,
            "totalCount": len(rows)}


# ------------------------------------------------------------------------------ actions
def listing(attr: str, key: str, **filters: str) -> tuple[Action, tuple[str, ...]]:
    """A paged collection filtered by its key, externalReference, modifiedSince and
    ``filters`` (query parameter -> record field)."""
    def act(s: State, p: dict[str, str], q: Query, b: Any) -> tuple[int, Any, dict[str, str]]:
        coll: Collection = getattr(s, attr)
        rows = coll.select(values(q, key), values(q, "externalReference"))
        for param, fld in filters.items():
            wanted = values(q, param)
            if wanted is not None:
                rows = [r for r in rows if str(r.get(fld)) in set(wanted)]
        since = (q.get("modifiedSince") or [None])[-1]
        if since:
            rows = [r for r in rows if (r.get("modifiedAt") or r.get("createdAt") or "") >= since]
        return 200, page(rows, q), {}
    return act, (*PAGING, key, "externalReference", "modifiedSince", *filters)


def table(attr: str, key: str | None = None) -> tuple[Action, tuple[str, ...]]:
    """A seeded list (accounts, items, locations...), optionally filtered by its key."""
    def act(s: State, p: dict[str, str], q: Query, b: Any) -> tuple[int, Any, dict[str, str]]:
        rows = list(getattr(s, attr).values())
        wanted = values(q, key) if key else None
        if wanted is not None:
            rows = [r for r in rows if r[key] in set(wanted)]
        return 200, page(rows, q), {}
    return act, (*PAGING, *((key,) if key else ()))


def one(attr: str, what: str) -> tuple[Action, tuple[str, ...]]:
    def act(s: State, p: dict[str, str], q: Query, b: Any) -> tuple[int, Any, dict[str, str]]:
        [key] = p.values()
        rec = getattr(s, attr).get(key)
        if rec is None:
            raise Problem(404, f"{what} {key} does not exist")
        return 200, rec, {}
    return act, ()


def create(fn: Callable[..., dict[str, Any]], location: str) -> tuple[Action, tuple[str, ...]]:
    """``fn(state, *path values, body)`` answered with 201 and the new record's Location."""
    key = re.findall(r"\{(\w+)\}", location)[-1]

    def act(s: State, p: dict[str, str], q: Query, b: Any) -> tuple[int, Any, dict[str, str]]:
        rec = fn(s, *p.values(), b)
        path = location.replace(f"{{{key}}}", quote(str(rec[key]), safe=""))
        return 201, rec, {"Location": "/api/v1" + path}
    return act, ()


def answer(fn: Callable[..., Any], *params: str) -> tuple[Action, tuple[str, ...]]:
    """``fn(state, *path values, query)`` answered with 200."""
    def act(s: State, p: dict[str, str], q: Query, b: Any) -> tuple[int, Any, dict[str, str]]:
        return 200, fn(s, *p.values(), q) if b is None else fn(s, *p.values(), b), {}
    return act, params


def _trial_balance(s: State, q: Query) -> dict[str, Any]:
    as_of, rows = ledger.trial_balance(s, q)
    return page(rows, q, asOf=as_of.isoformat())


def _quantity_put(s: State, sku: str, body: Any) -> dict[str, Any]:
    adj = inventory.adjust(s, sku, body, absolute=True)
    return inventory.quantity(s, sku, adj["locationId"])


def _item_adjustments(s: State, p: dict[str, str], q: Query, b: Any
                      ) -> tuple[int, Any, dict[str, str]]:
    inventory.item(s, p["sku"])
    return ADJUSTMENTS[0](s, p, {**q, "sku": [p["sku"]]}, b)


ADJUSTMENTS = listing("adjustments", "adjustmentId", sku="sku", locationId="locationId")
GL_FILTERS = ("accountNumber", "currency")


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    action: Action
    query: frozenset[str]
    body: str | None          # request schema (CONTRACT.md)
    root: str                 # XML root element
    item: str = "item"        # XML element of each entry of "items"

    @property
    def pattern(self) -> re.Pattern[str]:
        return _PATTERNS[self.template]


def _r(method: str, template: str, action: tuple[Action, tuple[str, ...]], root: str,
       item: str = "item", body: str | None = None) -> Route:
    return Route(method, template, action[0], frozenset(action[1]), body, root, item)


AR = "/accounts/receivable"
ROUTES: list[Route] = [
    _r("GET", "/customers", listing("customers", "customerCode", status="status"),
       "customers", "customer"),
    _r("POST", "/customers", create(sales.create_customer, "/customers/{customerCode}"),
       "customer", body="Customer"),
    _r("GET", "/customers/{customerCode}", one("customers", "Customer"), "customer"),
    _r("PUT", "/customers/{customerCode}", answer(sales.update_customer), "customer",
       body="Customer"),
    _r("PUT", "/customers/{customerCode}/subscription", answer(sales.put_subscription),
       "subscription", body="CustomerSubscription"),
    _r("GET", "/salesorders", listing("orders", "orderNumber", customerCode="customerCode",
                                      status="status"), "salesOrders", "salesOrder"),
    _r("POST", "/salesorders", create(sales.create_order, "/salesorders/{orderNumber}"),
       "salesOrder", body="SalesOrder"),
    _r("GET", "/salesorders/{orderNumber}", one("orders", "Sales order"), "salesOrder"),
    _r("GET", f"{AR}/invoices", listing("invoices", "invoiceNumber", customerCode="customerCode",
                                        status="status", orderNumber="orderNumber"),
       "invoices", "invoice"),
    _r("POST", f"{AR}/invoices", create(receivables.create_invoice,
                                        f"{AR}/invoices/{{invoiceNumber}}"),
       "invoice", body="Invoice"),
    _r("GET", f"{AR}/invoices/{{invoiceNumber}}", one("invoices", "Invoice"), "invoice"),
    _r("GET", f"{AR}/payments", listing("payments", "paymentNumber",
                                        customerCode="customerCode"), "payments", "payment"),
    _r("POST", f"{AR}/payments", create(receivables.create_payment,
                                        f"{AR}/payments/{{paymentNumber}}"),
       "payment", body="Payment"),
    _r("GET", f"{AR}/payments/{{paymentNumber}}", one("payments", "Payment"), "payment"),
    _r("GET", f"{AR}/creditmemos", listing("credit_memos", "creditMemoNumber",
                                           customerCode="customerCode",
                                           invoiceNumber="invoiceNumber"),
       "creditMemos", "creditMemo"),
    _r("POST", f"{AR}/creditmemos", create(credits.create_credit_memo,
                                           f"{AR}/creditmemos/{{creditMemoNumber}}"),
       "creditMemo", body="CreditMemo"),
    _r("GET", f"{AR}/creditmemos/{{creditMemoNumber}}", one("credit_memos", "Credit memo"),
       "creditMemo"),
    _r("GET", f"{AR}/refunds", listing("refunds", "refundNumber", customerCode="customerCode"),
       "refunds", "refund"),
    _r("POST", f"{AR}/refunds", create(credits.create_refund, f"{AR}/refunds/{{refundNumber}}"),
       "refund", body="Refund"),
    _r("GET", f"{AR}/refunds/{{refundNumber}}", one("refunds", "Refund"), "refund"),
    _r("GET", f"{AR}/paymentmethods", table("payment_methods"), "paymentMethods",
       "paymentMethod"),
    _r("GET", "/generalledger/journalentries", listing("journals", "journalEntryId",
                                                       source="source"),
       "journalEntries", "journalEntry"),
    _r("POST", "/generalledger/journalentries",
       create(ledger.create_journal, "/generalledger/journalentries/{journalEntryId}"),
       "journalEntry", body="JournalEntry"),
    _r("GET", "/generalledger/journalentries/{journalEntryId}",
       one("journals", "Journal entry"), "journalEntry"),
    _r("GET", "/generalledger/accounts", table("accounts", "accountNumber"), "accounts",
       "account"),
    _r("GET", "/generalledger/accounts/{accountNumber}", one("accounts", "Account"), "account"),
    _r("GET", "/generalledger/postingsetup", answer(lambda s, q: s.posting_setup),
       "postingSetup"),
    _r("GET", "/generalledger/entries",
       answer(lambda s, q: page(ledger.entries(s, q), q), *PAGING, "from", "to", *GL_FILTERS,
              "sourceType", "sourceNumber"), "generalLedgerEntries", "entry"),
    _r("GET", "/generalledger/trialbalance",
       answer(_trial_balance, *PAGING, "asOf", *GL_FILTERS), "trialBalance", "line"),
    _r("GET", "/inventory/items", table("items", "sku"), "items", "item"),
    _r("GET", "/inventory/items/{sku}", answer(lambda s, sku, q: inventory.item_view(s, sku)),
       "item"),
    _r("GET", "/inventory/items/{sku}/quantity",
       answer(lambda s, sku, q: inventory.quantity(s, sku, (q.get("locationId") or [None])[-1]),
              "locationId"), "itemQuantity"),
    _r("PUT", "/inventory/items/{sku}/quantity", answer(_quantity_put), "itemQuantity",
       body="QuantityUpdate"),
    _r("GET", "/inventory/items/{sku}/adjustments", (_item_adjustments, ADJUSTMENTS[1]),
       "adjustments", "adjustment"),
    _r("POST", "/inventory/items/{sku}/adjustments",
       create(inventory.adjust, "/inventory/adjustments/{adjustmentId}"), "adjustment",
       body="Adjustment"),
    _r("GET", "/inventory/adjustments", ADJUSTMENTS, "adjustments", "adjustment"),
    _r("GET", "/inventory/adjustments/{adjustmentId}", one("adjustments", "Adjustment"),
       "adjustment"),
    _r("GET", "/inventory/locations", table("locations"), "locations", "location"),
    _r("GET", "/banking/accounts", table("bank_accounts"), "bankAccounts", "bankAccount"),
    _r("GET", "/banking/deposits", listing("deposits", "depositId",
                                           bankAccountId="bankAccountId"),
       "deposits", "deposit"),
    _r("POST", "/banking/deposits", create(banking.create_deposit,
                                           "/banking/deposits/{depositId}"),
       "deposit", body="Deposit"),
    _r("GET", "/banking/deposits/{depositId}", one("deposits", "Deposit"), "deposit"),
]
_PATTERNS = {r.template: re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)",
                                                 re.escape(r.template)) + "$")
             for r in ROUTES}


def resolve(method: str, path: str) -> tuple[Route, dict[str, str]]:
    path = path.rstrip("/") or "/"
    allowed = []
    for route in ROUTES:
        m = route.pattern.match(path)
        if m:
            if route.method == method:
                return route, m.groupdict()
            allowed.append(route.method)
    if allowed:
        raise Problem(405, f"{method} is not allowed on {path}",
                      headers={"Allow": ", ".join(allowed)})
    raise Problem(404, f"No resource at {path}")


def dispatch(s: State, method: str, path: str, query: Query, body: Any) -> Result:
    route, params = resolve(method, path)
    unknown = sorted(set(query) - route.query)
    if unknown:
        raise Problem(400, f"Unknown query parameter{'s' if len(unknown) > 1 else ''} "
                           f"{', '.join(unknown)} for {method} {route.template}",
                      [field_error(n, "UNKNOWN_PARAMETER", f"{n} is not a parameter of "
                                                          f"{route.template}")
                       for n in unknown])
    if route.body is not None and body is None:
        body = {}
    status, obj, headers = route.action(s, params, query, body)
    return status, obj, headers, route.root, route.item if "items" in (obj or {}) else "item"
