"""Customers and sales orders (no general-ledger effect)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .checks import Check, duplicate, now_iso, zero
from .store import State
from .wire import Problem, exponent


def create_customer(s: State, body: Any) -> dict[str, Any]:
    c = Check(body)
    ext = s.external_ref(c, s.customers, "customer")
    code = c.string("customerCode")
    name = c.string("name", required=True)
    email = c.string("email")
    if email and "@" not in email:
        c.err("email", "INVALID_EMAIL", f"email {email!r} is not an e-mail address")
    phone = c.string("phone")
    address, shipping = _address(c, "billingAddress"), _address(c, "shippingAddress")
    location = s.location_of(c, "01")
    currency = c.currency()
    tax_exempt = c.boolean("taxExempt")
    if code and code in s.customers.rows:
        c.err("customerCode", "DUPLICATE", f"Customer {code} already exists")
    c.done()
    if not code:
        code = s.next_id("customer", "C{:05d}", 10001)
    ts = now_iso()
    rec = {"customerCode": code, "name": name, "email": email, "phone": phone,
           "billingAddress": address, "shippingAddress": shipping, "locationId": location,
           "currency": currency,
           "taxExempt": tax_exempt, "status": "Active", "balance": zero(currency),
           "externalReference": ext, "subscription": None, "createdAt": ts, "modifiedAt": ts}
    s.customers.add(rec)
    return rec


def _address(c: Check, field: str) -> dict[str, Any] | None:
    """``billingAddress`` or ``shippingAddress``: the same fields and lengths."""
    addr = c.get(field)
    if addr in (None, "", {}):
        return None
    if not isinstance(addr, dict):
        c.err(field, "INVALID", f"{field} must be an object")
        return None
    ac = Check(addr, f"{c.prefix}{field}.")
    out = {f: ac.string(f) for f in ("line1", "line2", "city", "state", "postalCode",
                                    "country")}
    c.absorb(ac)
    return out


def update_customer(s: State, code: str, body: Any) -> dict[str, Any]:
    rec = s.customers.get(code)
    if rec is None:
        raise Problem(404, f"Customer {code} does not exist")
    c = Check(body)
    if c.get("customerCode") not in (None, "", code):
        c.err("customerCode", "KEY_MISMATCH", f"customerCode must be {code} (the path's key)")
    name = c.string("name", required=True)
    email = c.string("email")
    phone = c.string("phone")
    address, shipping = _address(c, "billingAddress"), _address(c, "shippingAddress")
    location = s.location_of(c, rec["locationId"])
    currency = c.currency()
    tax_exempt = c.boolean("taxExempt")
    ext = c.string("externalReference")
    if ext and ext != rec["externalReference"] and ext in s.customers.by_ext:
        c.done()
        raise duplicate("customer", ext, s.customers.by_ext[ext])
    c.done()
    if rec["externalReference"] and ext != rec["externalReference"]:
        s.customers.by_ext.pop(rec["externalReference"], None)
    if ext:
        s.customers.by_ext[ext] = code
    rec.update(name=name, email=email, phone=phone, billingAddress=address,
               shippingAddress=shipping, locationId=location, currency=currency, taxExempt=tax_exempt,
               externalReference=ext, modifiedAt=now_iso())
    return rec


# what a customer's subscription may say (our contract: CONTRACT.md, CustomerSubscription)
SUBSCRIPTION_STATUSES = ("active", "trialing", "past_due", "unpaid", "paused", "canceled",
                         "incomplete", "incomplete_expired")


def put_subscription(s: State, code: str, body: Any) -> dict[str, Any]:
    """``PUT /customers/{customerCode}/subscription``: replaces the customer's subscription
    summary (status, plan, quantity, renewal date, MRR); nothing posts to the ledger."""
    rec = s.customers.get(code)
    if rec is None:
        raise Problem(404, f"Customer {code} does not exist")
    c = Check(body)
    sub_id = c.string("subscriptionId", required=True, max_len=64)
    status = c.string("status", required=True, max_len=20)
    if status is not None and status not in SUBSCRIPTION_STATUSES:
        c.err("status", "INVALID", f"status {status!r} is not one of "
                                   f"{', '.join(SUBSCRIPTION_STATUSES)}")
    plan = c.string("plan", required=True, max_len=30)
    if plan and plan not in s.items:
        c.err("plan", "UNKNOWN_ITEM", f"Item {plan} does not exist")
    quantity = c.number("quantity", non_negative=True)
    if quantity is not None and quantity != quantity.to_integral_value():
        c.err("quantity", "INVALID", "quantity must be a whole number")
    renewal = c.day("renewalDate")
    currency = c.currency("mrrCurrency")
    mrr = c.amount("mrr", currency)
    c.done()
    rec["subscription"] = {"subscriptionId": sub_id, "status": status, "plan": plan,
                           "quantity": int(quantity or 0), "renewalDate": renewal.isoformat()
                           if renewal else None, "mrr": mrr, "mrrCurrency": currency}
    rec["modifiedAt"] = now_iso()
    return rec["subscription"]


def sale_lines(s: State, c: Check, currency: str | None) -> list[dict[str, Any]]:
    """Order and invoice lines: known items, positive quantities, exact unit prices."""
    out = []
    for i, lc in enumerate(c.lines()):
        sku = lc.string("sku", required=True)
        item = s.items.get(sku) if sku else None
        if sku and item is None:
            lc.err("sku", "UNKNOWN_ITEM", f"Item {sku} does not exist")
        description = lc.string("description") or (item or {}).get("description", "")
        qty = lc.number("quantity", positive=True)
        price = lc.amount("unitPrice", currency)
        line_no = lc.number("lineNumber", required=False, positive=True)
        c.absorb(lc)
        ext_price = None
        if qty is not None and price is not None and currency is not None:
            ext_price = (qty * price).quantize(Decimal(1).scaleb(-exponent(currency)),
                                               rounding=ROUND_HALF_UP)
        out.append({"lineNumber": int(line_no) if line_no is not None else i + 1,
                    "sku": sku, "description": description, "quantity": qty,
                    "unitPrice": price, "extendedPrice": ext_price})
    return out


def create_order(s: State, body: Any) -> dict[str, Any]:
    c = Check(body)
    ext = s.external_ref(c, s.orders, "sales order")
    cust = s.customer_of(c)
    location = s.location_of(c, "MAIN")
    po = c.string("purchaseOrderNumber")
    order_date = c.day("orderDate")
    currency = c.currency()
    lines = sale_lines(s, c, currency)
    c.done()
    total = sum((ln["extendedPrice"] for ln in lines), zero(currency))
    number = s.next_id("order", "SO-{:06d}")
    ts = now_iso()
    rec = {"orderNumber": number, "customerCode": cust["customerCode"], "locationId": location,
           "purchaseOrderNumber": po, "orderDate": order_date.isoformat(),
           "currency": currency, "status": "Open", "lines": lines, "total": total,
           "externalReference": ext, "createdAt": ts, "modifiedAt": ts}
    s.orders.add(rec)
    return rec
