"""Routes of ``/api/v1`` below HTTP: ``dispatch(state, method, path, query, body)``.

Used for single requests and for each ``/batch`` sub-request alike, so both
behave identically.  Returns ``(status, object, headers, xml_root, xml_item)``;
raises :class:`Problem` for errors.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from .store import Collection, State
from .wire import Problem

MAX_PAGE_SIZE = 200
Result = tuple[int, Any, dict[str, str], str, str]
Handler = Callable[[State, dict[str, str], dict[str, list[str]], Any], Result]


def values(query: dict[str, list[str]], name: str) -> list[str] | None:
    """A filter's values: repeated parameters and/or comma-separated lists."""
    raw = query.get(name)
    if raw is None:
        return None
    return [v.strip() for item in raw for v in item.split(",") if v.strip()]


def _int(query: dict[str, list[str]], name: str, default: int, lo: int, hi: int) -> int:
    raw = query.get(name)
    if not raw:
        return default
    try:
        n = int(raw[-1])
    except ValueError:
        n = lo - 1
    if not lo <= n <= hi:
        raise Problem(400, f"{name} must be an integer between {lo} and {hi}",
                      [{"field": name, "code": "OUT_OF_RANGE",
                        "message": f"{name} must be an integer between {lo} and {hi}"}])
    return n


def page(rows: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    number = _int(query, "page", 1, 1, 10**9)
    size = _int(query, "pageSize", 50, 1, MAX_PAGE_SIZE)
    start = (number - 1) * size
    return {"items": rows[start:start + size], "page": number, "pageSize": size,
            "totalCount": len(rows)}


def listing(coll: Collection, query: dict[str, list[str]], key_param: str,
            filters: dict[str, str] | None = None) -> dict[str, Any]:
    rows = coll.select(values(query, key_param), values(query, "externalReference"))
    for param, field in (filters or {}).items():
        wanted = values(query, param)
        if wanted is not None:
            wanted_set = set(wanted)
            rows = [r for r in rows if str(r.get(field)) in wanted_set]
    since = (query.get("modifiedSince") or [None])[-1]
    if since:
        rows = [r for r in rows if (r.get("modifiedAt") or r.get("createdAt") or "") >= since]
    return page(rows, query)


def _one(rec: dict[str, Any] | None, what: str, key: str) -> dict[str, Any]:
    if rec is None:
        raise Problem(404, f"{what} {key} does not exist")
    return rec


def created(rec: dict[str, Any], location: str, root: str) -> Result:
    return 201, rec, {"Location": "/api/v1" + location}, root, "item"


# ------------------------------------------------------------------------------ handlers
def customers_list(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, listing(s.customers, q, "customerCode", {"status": "status"}), {}, "customers", \
        "customer"


def customers_post(s: State, p: dict, q: dict, b: Any) -> Result:
    rec = s.create_customer(b)
    return created(rec, f"/customers/{quote(rec['customerCode'])}", "customer")


def customer_get(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, _one(s.customers.get(p["code"]), "Customer", p["code"]), {}, "customer", "item"


def customer_put(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, s.update_customer(p["code"], b), {}, "customer", "item"


def orders_list(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, listing(s.orders, q, "orderNumber", {"customerCode": "customerCode",
                                                     "status": "status"}), {}, \
        "salesOrders", "salesOrder"


def orders_post(s: State, p: dict, q: dict, b: Any) -> Result:
    rec = s.create_order(b)
    return created(rec, f"/salesorders/{rec['orderNumber']}", "salesOrder")


def order_get(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, _one(s.orders.get(p["number"]), "Sales order", p["number"]), {}, "salesOrder", \
        "item"


def invoices_list(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, listing(s.invoices, q, "invoiceNumber", {
        "customerCode": "customerCode", "status": "status", "orderNumber": "orderNumber"}), {}, \
        "invoices", "invoice"


def invoices_post(s: State, p: dict, q: dict, b: Any) -> Result:
    rec = s.create_invoice(b)
    return created(rec, f"/accounts/receivable/invoices/{rec['invoiceNumber']}", "invoice")


def invoice_get(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, _one(s.invoices.get(p["number"]), "Invoice", p["number"]), {}, "invoice", "item"


def payments_list(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, listing(s.payments, q, "paymentNumber", {"customerCode": "customerCode"}), {}, \
        "payments", "payment"


def payments_post(s: State, p: dict, q: dict, b: Any) -> Result:
    rec = s.create_payment(b)
    return created(rec, f"/accounts/receivable/payments/{rec['paymentNumber']}", "payment")


def payment_get(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, _one(s.payments.get(p["number"]), "Payment", p["number"]), {}, "payment", "item"


def payment_methods(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, page(list(s.payment_methods.values()), q), {}, "paymentMethods", "paymentMethod"


def journals_list(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, listing(s.journals, q, "journalEntryId", {"source": "source"}), {}, \
        "journalEntries", "journalEntry"


def journals_post(s: State, p: dict, q: dict, b: Any) -> Result:
    rec = s.create_journal(b)
    return created(rec, f"/generalledger/journalentries/{rec['journalEntryId']}", "journalEntry")


def journal_get(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, _one(s.journals.get(p["id"]), "Journal entry", p["id"]), {}, "journalEntry", \
        "item"


def accounts_list(s: State, p: dict, q: dict, b: Any) -> Result:
    rows = list(s.accounts.values())
    wanted = values(q, "accountNumber")
    if wanted is not None:
        rows = [r for r in rows if r["accountNumber"] in set(wanted)]
    return 200, page(rows, q), {}, "accounts", "account"


def account_get(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, _one(s.accounts.get(p["number"]), "Account", p["number"]), {}, "account", "item"


def items_list(s: State, p: dict, q: dict, b: Any) -> Result:
    rows = list(s.items.values())
    wanted = values(q, "sku")
    if wanted is not None:
        rows = [r for r in rows if r["sku"] in set(wanted)]
    return 200, page(rows, q), {}, "items", "item"


def item_get(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, s.item_view(p["sku"]), {}, "item", "item"


def quantity_get(s: State, p: dict, q: dict, b: Any) -> Result:
    loc = (q.get("locationId") or [None])[-1]
    return 200, s.quantity(p["sku"], loc), {}, "itemQuantity", "item"


def quantity_put(s: State, p: dict, q: dict, b: Any) -> Result:
    adj = s.adjust(p["sku"], b, absolute=True)
    return 200, s.quantity(p["sku"], adj["locationId"]), {}, "itemQuantity", "item"


def adjustments_post(s: State, p: dict, q: dict, b: Any) -> Result:
    rec = s.adjust(p["sku"], b)
    return created(rec, f"/inventory/adjustments/{rec['adjustmentId']}", "adjustment")


def item_adjustments(s: State, p: dict, q: dict, b: Any) -> Result:
    s.item(p["sku"])
    q = {**q, "sku": [p["sku"]]}
    return adjustments_list(s, p, q, b)


def adjustments_list(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, listing(s.adjustments, q, "adjustmentId", {"sku": "sku",
                                                           "locationId": "locationId"}), {}, \
        "adjustments", "adjustment"


def adjustment_get(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, _one(s.adjustments.get(p["id"]), "Adjustment", p["id"]), {}, "adjustment", "item"


def bank_accounts(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, page(list(s.bank_accounts.values()), q), {}, "bankAccounts", "bankAccount"


def deposits_list(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, listing(s.deposits, q, "depositId", {"bankAccountId": "bankAccountId"}), {}, \
        "deposits", "deposit"


def deposits_post(s: State, p: dict, q: dict, b: Any) -> Result:
    rec = s.create_deposit(b)
    return created(rec, f"/banking/deposits/{rec['depositId']}", "deposit")


def deposit_get(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, _one(s.deposits.get(p["id"]), "Deposit", p["id"]), {}, "deposit", "item"


def locations_list(s: State, p: dict, q: dict, b: Any) -> Result:
    return 200, page(list(s.locations.values()), q), {}, "locations", "location"


SEG = r"(?P<{}>[^/]+)"
ROUTES: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
    (re.compile(pattern.format(**{n: SEG.format(n) for n in ("code", "number", "id", "sku")})
                + "$"), methods)
    for pattern, methods in [
        ("/customers", {"GET": customers_list, "POST": customers_post}),
        ("/customers/{code}", {"GET": customer_get, "PUT": customer_put}),
        ("/salesorders", {"GET": orders_list, "POST": orders_post}),
        ("/salesorders/{number}", {"GET": order_get}),
        ("/accounts/receivable/invoices", {"GET": invoices_list, "POST": invoices_post}),
        ("/accounts/receivable/invoices/{number}", {"GET": invoice_get}),
        ("/accounts/receivable/payments", {"GET": payments_list, "POST": payments_post}),
        ("/accounts/receivable/payments/{number}", {"GET": payment_get}),
        ("/accounts/receivable/paymentmethods", {"GET": payment_methods}),
        ("/generalledger/journalentries", {"GET": journals_list, "POST": journals_post}),
        ("/generalledger/journalentries/{id}", {"GET": journal_get}),
        ("/generalledger/accounts", {"GET": accounts_list}),
        ("/generalledger/accounts/{number}", {"GET": account_get}),
        ("/inventory/items", {"GET": items_list}),
        ("/inventory/items/{sku}", {"GET": item_get}),
        ("/inventory/items/{sku}/quantity", {"GET": quantity_get, "PUT": quantity_put}),
        ("/inventory/items/{sku}/adjustments", {"GET": item_adjustments,
                                                "POST": adjustments_post}),
        ("/inventory/adjustments", {"GET": adjustments_list}),
        ("/inventory/adjustments/{id}", {"GET": adjustment_get}),
        ("/inventory/locations", {"GET": locations_list}),
        ("/banking/accounts", {"GET": bank_accounts}),
        ("/banking/deposits", {"GET": deposits_list, "POST": deposits_post}),
        ("/banking/deposits/{id}", {"GET": deposit_get}),
    ]
]


def resolve(method: str, path: str) -> tuple[Handler, dict[str, str]]:
    path = path.rstrip("/") or "/"
    for pattern, methods in ROUTES:
        m = pattern.match(path)
        if m:
            handler = methods.get(method)
            if handler is None:
                raise Problem(405, f"{method} is not allowed on {path}",
                              headers={"Allow": ", ".join(methods)})
            return handler, m.groupdict()
    raise Problem(404, f"No resource at {path}")
