"""In-memory TIMS state and business rules (below HTTP).

Records are kept in their wire shape (dicts with ``Decimal`` amounts), so
rendering is a copy.  Every mutation happens under ``State.lock`` (taken by the
HTTP layer for a whole request or batch).  Identifiers come from deterministic
sequences reset by ``reset()``.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .wire import Problem, exponent, field_error, validation

ACCOUNTS = [("1010", "Operating bank", "Asset"), ("1200", "Accounts receivable", "Asset"),
            ("1250", "Stripe clearing", "Asset"), ("1999", "Suspense", "Asset"),
            ("2200", "Sales tax payable", "Liability"), ("4000", "Revenue", "Revenue"),
            ("4900", "Sales returns and allowances", "Revenue"),
            ("4910", "Chargebacks", "Revenue"), ("6100", "Merchant fees", "Expense"),
            ("6110", "Dispute fees", "Expense"), ("7900", "FX gain/loss", "Expense")]
BANK_ACCOUNTS = [("STRIPE", "Stripe clearing", "1250"), ("OPER", "Operating account", "1010")]
PAYMENT_METHODS = [("CARD", "Credit card"), ("ACH", "ACH bank transfer")]
LOCATIONS = [("MAIN", "Main warehouse"), ("01", "Branch 01")]
STOCK_ON_HAND = Decimal(1_000_000)

# Field lengths (our design, see README): name -> max characters.
MAX = {"customerCode": 10, "name": 60, "email": 100, "phone": 30, "line1": 60, "line2": 60,
       "city": 40, "state": 30, "postalCode": 15, "country": 2, "locationId": 10,
       "externalReference": 64, "purchaseOrderNumber": 30, "description": 100, "memo": 200,
       "reference": 50, "reasonCode": 10, "source": 20, "method": 10, "bankAccountId": 10,
       "orderNumber": 12, "invoiceNumber": 12, "accountNumber": 10, "sku": 30}


def zero(currency: str | None) -> Decimal:
    """0 with the currency's minor unit (renders as 0.00, 0, 0.000)."""
    return Decimal(0).scaleb(-exponent(currency)) if currency else Decimal(0)


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Collection:
    """Records by key (insertion order), a unique externalReference index, creation order."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.rows: dict[str, dict[str, Any]] = {}
        self.by_ext: dict[str, str] = {}
        self.order: dict[str, int] = {}

    def add(self, rec: dict[str, Any]) -> None:
        k = rec[self.key]
        self.order[k] = len(self.order)
        self.rows[k] = rec
        if rec.get("externalReference"):
            self.by_ext[rec["externalReference"]] = k

    def get(self, key: str) -> dict[str, Any] | None:
        return self.rows.get(key)

    def select(self, keys: Iterable[str] | None = None,
               exts: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Rows by key and/or externalReference values (intersection), in creation order."""
        if keys is None and exts is None:
            return list(self.rows.values())
        found: set[str] | None = None
        if keys is not None:
            found = {k for k in keys if k in self.rows}
        if exts is not None:
            by_ext = {self.by_ext[e] for e in exts if e in self.by_ext}
            found = by_ext if found is None else found & by_ext
        return [self.rows[k] for k in sorted(found or (), key=self.order.__getitem__)]


class Check:
    """Collects field errors for one request body; ``done()`` raises a 422 with all of them."""

    def __init__(self, body: Any, prefix: str = "") -> None:
        if not isinstance(body, dict):
            raise Problem(400, "The request body must be an object")
        self.body, self.prefix = body, prefix
        self.errors: list[dict[str, str]] = []

    def name(self, f: str) -> str:
        return f"{self.prefix}{f}"

    def err(self, f: str, code: str, message: str) -> None:
        self.errors.append(field_error(self.name(f), code, message))

    def string(self, f: str, required: bool = False, default: str | None = None,
               max_len: int | None = None) -> str | None:
        v = self.body.get(f)
        if v is None or v == "":
            if required:
                self.err(f, "REQUIRED", f"{self.name(f)} is required")
            return default
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            self.err(f, "INVALID", f"{self.name(f)} must be a string")
            return default
        v = str(v)
        limit = max_len if max_len is not None else MAX.get(f)
        if limit is not None and len(v) > limit:
            self.err(f, "TOO_LONG", f"{self.name(f)} exceeds the maximum length of {limit} "
                                    f"characters ({len(v)})")
        return v

    def boolean(self, f: str, default: bool = False) -> bool:
        v = self.body.get(f)
        if v is None or v == "":
            return default
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.lower() in ("true", "false"):
            return v.lower() == "true"
        self.err(f, "INVALID", f"{self.name(f)} must be true or false")
        return default

    def day(self, f: str, required: bool = True) -> date | None:
        v = self.body.get(f)
        if v is None or v == "":
            if required:
                self.err(f, "REQUIRED", f"{self.name(f)} is required")
            return None
        try:
            return date.fromisoformat(str(v))
        except ValueError:
            self.err(f, "INVALID_DATE", f"{self.name(f)} must be a date (YYYY-MM-DD), got {v!r}")
            return None

    def number(self, f: str, required: bool = True, positive: bool = False,
               non_negative: bool = False, nonzero: bool = False,
               default: Decimal | None = None) -> Decimal | None:
        v = self.body.get(f)
        if v is None or v == "":
            if required:
                self.err(f, "REQUIRED", f"{self.name(f)} is required")
            return default
        if isinstance(v, bool) or not isinstance(v, (int, Decimal, str)):
            self.err(f, "INVALID", f"{self.name(f)} must be a number")
            return default
        try:
            d = Decimal(str(v).strip())
        except InvalidOperation:
            self.err(f, "INVALID", f"{self.name(f)} must be a number, got {v!r}")
            return default
        if not d.is_finite():
            self.err(f, "INVALID", f"{self.name(f)} must be a number")
            return default
        if positive and d <= 0:
            self.err(f, "OUT_OF_RANGE", f"{self.name(f)} must be greater than 0")
        elif non_negative and d < 0:
            self.err(f, "OUT_OF_RANGE", f"{self.name(f)} must not be negative")
        elif nonzero and d == 0:
            self.err(f, "OUT_OF_RANGE", f"{self.name(f)} must not be 0")
        return d

    def amount(self, f: str, currency: str | None, required: bool = True, positive: bool = False,
               non_negative: bool = True) -> Decimal | None:
        d = self.number(f, required=required, positive=positive,
                        non_negative=non_negative and not positive,
                        default=None if required else Decimal(0))
        if d is None or currency is None:
            return d
        places = exponent(currency)
        q = Decimal(1).scaleb(-places)
        if d != d.quantize(q, rounding=ROUND_HALF_UP):
            self.err(f, "TOO_MANY_DECIMALS", f"{self.name(f)} {d} has more decimals than "
                                             f"{currency} allows ({places})")
            return d
        return d.quantize(q)

    def currency(self, f: str = "currency") -> str | None:
        v = self.string(f, required=True, max_len=3)
        if v is None:
            return None
        if len(v) != 3 or not v.isalpha():
            self.err(f, "INVALID_CURRENCY", f"{self.name(f)} must be an ISO 4217 code, got {v!r}")
            return None
        return v.upper()

    def lines(self, f: str = "lines", minimum: int = 1) -> list[Check]:
        v = self.body.get(f)
        if v is None or v == "" or v == []:
            self.err(f, "REQUIRED", f"{self.name(f)} must contain at least {minimum} "
                                    f"line{'s' if minimum > 1 else ''}")
            return []
        if isinstance(v, dict):  # XML with a single <line>
            v = [v]
        if not isinstance(v, list):
            self.err(f, "INVALID", f"{self.name(f)} must be an array")
            return []
        if len(v) < minimum:
            self.err(f, "REQUIRED", f"{self.name(f)} must contain at least {minimum} lines")
        subs = []
        for i, item in enumerate(v):
            if not isinstance(item, dict):
                self.err(f"{f}[{i}]", "INVALID", f"{self.name(f)}[{i}] must be an object")
                continue
            subs.append(Check(item, f"{self.prefix}{f}[{i}]."))
        return subs

    def absorb(self, sub: Check) -> None:
        self.errors.extend(sub.errors)

    def done(self) -> None:
        if self.errors:
            raise validation(self.errors)


def duplicate(what: str, ext: str, existing: str) -> Problem:
    return Problem(409, f"A {what} with externalReference '{ext}' already exists ({existing})",
                   [field_error("externalReference", "DUPLICATE",
                                f"externalReference '{ext}' is already used by {existing}")],
                   extra={"existingId": existing})


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    # -------------------------------------------------------------------- seed
    def reset(self) -> None:
        self.accounts = {n: {"accountNumber": n, "name": name, "type": t, "active": True}
                         for n, name, t in ACCOUNTS}
        self.bank_accounts = {i: {"bankAccountId": i, "name": name, "glAccountNumber": gl}
                              for i, name, gl in BANK_ACCOUNTS}
        self.payment_methods = {c: {"code": c, "description": d} for c, d in PAYMENT_METHODS}
        self.locations = {i: {"locationId": i, "name": name} for i, name in LOCATIONS}
        self.items: dict[str, dict[str, Any]] = {}
        self.stock: dict[tuple[str, str], Decimal] = {}
        for n in range(1000, 1100):
            self.put_item(f"SKU-{n:05d}", STOCK_ON_HAND, "MAIN", True)
        for n in range(1, 11):
            self.put_item(f"SUB-{n:03d}", None, None, False, "Subscription plan")
        self.put_item("MISC", None, None, False, "Miscellaneous charge")
        self.customers = Collection("customerCode")
        self.orders = Collection("orderNumber")
        self.invoices = Collection("invoiceNumber")
        self.payments = Collection("paymentNumber")
        self.journals = Collection("journalEntryId")
        self.adjustments = Collection("adjustmentId")
        self.deposits = Collection("depositId")
        self.seq: dict[str, int] = {}
        self.closed_before: date | None = None

    def put_item(self, sku: str, on_hand: Decimal | None, location: str | None, stocked: bool,
                 description: str | None = None) -> None:
        self.items[sku] = {"sku": sku, "description": description or f"Item {sku}",
                           "uom": "EA", "stocked": stocked, "active": True}
        if stocked and location:
            self.locations.setdefault(location, {"locationId": location, "name": location})
            self.stock[(sku, location)] = Decimal(str(on_hand or 0))

    def next_id(self, name: str, fmt: str, start: int = 1) -> str:
        n = self.seq.get(name, start - 1) + 1
        self.seq[name] = n
        return fmt.format(n)

    def close_periods(self, before: date) -> None:
        self.closed_before = before

    def check_period(self, c: Check, f: str, when: date | None) -> None:
        if when is not None and self.closed_before is not None and when < self.closed_before:
            c.err(f, "PERIOD_CLOSED", f"The accounting period for {when.isoformat()} is closed "
                                      f"(periods before {self.closed_before.isoformat()} are "
                                      f"closed)")

    # -------------------------------------------------------------------- helpers
    def _customer(self, c: Check, f: str = "customerCode") -> dict[str, Any] | None:
        code = c.string(f, required=True)
        if code is None:
            return None
        cust = self.customers.get(code)
        if cust is None:
            c.err(f, "UNKNOWN_CUSTOMER", f"Customer {code} does not exist")
        return cust

    def _location(self, c: Check, default: str | None) -> str | None:
        loc = c.string("locationId", required=default is None, default=default)
        if loc is not None and loc not in self.locations:
            c.err("locationId", "UNKNOWN_LOCATION", f"Location {loc} does not exist")
        return loc

    def _ext(self, c: Check, coll: Collection, what: str) -> str | None:
        ext = c.string("externalReference")
        if ext and ext in coll.by_ext:  # the duplicate wins over any other error
            raise duplicate(what, ext, coll.by_ext[ext])
        return ext

    def _sale_lines(self, c: Check, currency: str | None) -> list[dict[str, Any]]:
        out = []
        for i, lc in enumerate(c.lines()):
            sku = lc.string("sku", required=True)
            item = self.items.get(sku) if sku else None
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

    # -------------------------------------------------------------------- customers
    def create_customer(self, body: Any) -> dict[str, Any]:
        c = Check(body)
        ext = self._ext(c, self.customers, "customer")
        code = c.string("customerCode")
        name = c.string("name", required=True)
        email = c.string("email")
        if email and "@" not in email:
            c.err("email", "INVALID_EMAIL", f"email {email!r} is not an e-mail address")
        phone = c.string("phone")
        address = self._address(c)
        location = self._location(c, "01")
        currency = c.currency()
        tax_exempt = c.boolean("taxExempt")
        if code and code in self.customers.rows:
            c.err("customerCode", "DUPLICATE", f"Customer {code} already exists")
        c.done()
        if not code:
            code = self.next_id("customer", "C{:05d}", 10001)
        ts = now_iso()
        rec = {"customerCode": code, "name": name, "email": email, "phone": phone,
               "billingAddress": address, "locationId": location, "currency": currency,
               "taxExempt": tax_exempt, "status": "Active", "balance": zero(currency),
               "externalReference": ext, "createdAt": ts, "modifiedAt": ts}
        self.customers.add(rec)
        return rec

    def _address(self, c: Check) -> dict[str, Any] | None:
        addr = c.body.get("billingAddress")
        if addr in (None, "", {}):
            return None
        if not isinstance(addr, dict):
            c.err("billingAddress", "INVALID", "billingAddress must be an object")
            return None
        ac = Check(addr, f"{c.prefix}billingAddress.")
        out = {f: ac.string(f) for f in ("line1", "line2", "city", "state", "postalCode",
                                        "country")}
        c.absorb(ac)
        return out

    def update_customer(self, code: str, body: Any) -> dict[str, Any]:
        rec = self.customers.get(code)
        if rec is None:
            raise Problem(404, f"Customer {code} does not exist")
        c = Check(body)
        name = c.string("name", required=True)
        email = c.string("email")
        phone = c.string("phone")
        address = self._address(c)
        location = self._location(c, rec["locationId"])
        currency = c.currency()
        tax_exempt = c.boolean("taxExempt")
        ext = c.string("externalReference")
        if ext and ext != rec["externalReference"] and ext in self.customers.by_ext:
            c.done()
            raise duplicate("customer", ext, self.customers.by_ext[ext])
        c.done()
        if rec["externalReference"] and ext != rec["externalReference"]:
            self.customers.by_ext.pop(rec["externalReference"], None)
        if ext:
            self.customers.by_ext[ext] = code
        rec.update(name=name, email=email, phone=phone, billingAddress=address,
                   locationId=location, currency=currency, taxExempt=tax_exempt,
                   externalReference=ext, modifiedAt=now_iso())
        return rec

    # -------------------------------------------------------------------- sales orders
    def create_order(self, body: Any) -> dict[str, Any]:
        c = Check(body)
        ext = self._ext(c, self.orders, "sales order")
        cust = self._customer(c)
        location = self._location(c, "MAIN")
        po = c.string("purchaseOrderNumber")
        order_date = c.day("orderDate")
        currency = c.currency()
        lines = self._sale_lines(c, currency)
        c.done()
        total = sum((ln["extendedPrice"] for ln in lines), zero(currency))
        number = self.next_id("order", "SO-{:06d}")
        ts = now_iso()
        rec = {"orderNumber": number, "customerCode": cust["customerCode"], "locationId": location,
               "purchaseOrderNumber": po, "orderDate": order_date.isoformat(),
               "currency": currency, "status": "Open", "lines": lines, "total": total,
               "externalReference": ext, "createdAt": ts, "modifiedAt": ts}
        self.orders.add(rec)
        return rec

    # -------------------------------------------------------------------- AR invoices
    def create_invoice(self, body: Any) -> dict[str, Any]:
        c = Check(body)
        ext = self._ext(c, self.invoices, "invoice")
        cust = self._customer(c)
        order_no = c.string("orderNumber")
        order = self.orders.get(order_no) if order_no else None
        if order_no and order is None:
            c.err("orderNumber", "UNKNOWN_ORDER", f"Sales order {order_no} does not exist")
        invoice_date = c.day("invoiceDate")
        due_date = c.day("dueDate", required=False) or invoice_date
        if invoice_date and due_date and due_date < invoice_date:
            c.err("dueDate", "INVALID_DATE", f"dueDate {due_date} is before invoiceDate "
                                             f"{invoice_date}")
        currency = c.currency()
        if order and cust and order["customerCode"] != cust["customerCode"]:
            c.err("orderNumber", "ORDER_CUSTOMER_MISMATCH",
                  f"Sales order {order_no} belongs to customer {order['customerCode']}, "
                  f"not {cust['customerCode']}")
        if order and currency and order["currency"] != currency:
            c.err("currency", "CURRENCY_MISMATCH", f"Invoice currency {currency} differs from "
                                                   f"sales order {order_no} ({order['currency']})")
        lines = self._sale_lines(c, currency)
        tax = c.amount("taxAmount", currency, required=False)
        freight = c.amount("freightAmount", currency, required=False)
        self.check_period(c, "invoiceDate", invoice_date)
        c.done()
        subtotal = sum((ln["extendedPrice"] for ln in lines), zero(currency))
        total = subtotal + tax + freight
        number = self.next_id("invoice", "INV-{:06d}")
        ts = now_iso()
        rec = {"invoiceNumber": number, "customerCode": cust["customerCode"],
               "orderNumber": order_no, "invoiceDate": invoice_date.isoformat(),
               "dueDate": due_date.isoformat(), "currency": currency, "lines": lines,
               "subtotal": subtotal, "taxAmount": tax, "freightAmount": freight, "total": total,
               "balance": total, "status": "Open" if total > 0 else "Paid",
               "externalReference": ext, "createdAt": ts, "modifiedAt": ts}
        self.invoices.add(rec)
        if order:
            order["status"] = "Invoiced"
        cust["balance"] += total
        return rec

    # -------------------------------------------------------------------- AR payments
    def create_payment(self, body: Any) -> dict[str, Any]:
        c = Check(body)
        ext = self._ext(c, self.payments, "payment")
        cust = self._customer(c)
        pay_date = c.day("paymentDate")
        currency = c.currency()
        amount = c.amount("amount", currency, positive=True)
        method = c.string("method", required=True)
        if method and method not in self.payment_methods:
            c.err("method", "UNKNOWN_PAYMENT_METHOD", f"Payment method {method} does not exist")
        bank = c.string("bankAccountId", required=True)
        if bank and bank not in self.bank_accounts:
            c.err("bankAccountId", "UNKNOWN_BANK_ACCOUNT", f"Bank account {bank} does not exist")
        reference = c.string("reference")
        self.check_period(c, "paymentDate", pay_date)
        apps: list[dict[str, Any]] = []
        pending: dict[str, Decimal] = {}
        raw = c.body.get("applications")
        if raw not in (None, "", []):
            for i, ac in enumerate(c.lines("applications")):
                inv_no = ac.string("invoiceNumber", required=True)
                inv = self.invoices.get(inv_no) if inv_no else None
                app_amount = ac.amount("amount", currency, positive=True)
                if inv_no and inv is None:
                    ac.err("invoiceNumber", "UNKNOWN_INVOICE", f"Invoice {inv_no} does not exist")
                elif inv is not None:
                    if cust and inv["customerCode"] != cust["customerCode"]:
                        ac.err("invoiceNumber", "INVOICE_CUSTOMER_MISMATCH",
                               f"Invoice {inv_no} belongs to customer {inv['customerCode']}, "
                               f"not {cust['customerCode']}")
                    elif currency and inv["currency"] != currency:
                        ac.err("invoiceNumber", "CURRENCY_MISMATCH",
                               f"Invoice {inv_no} is in {inv['currency']}, the payment in "
                               f"{currency}")
                    elif app_amount is not None:
                        left = inv["balance"] - pending.get(inv_no, Decimal(0))
                        if app_amount > left:
                            ac.err("amount", "OVER_APPLIED",
                                   f"Application of {app_amount} exceeds the open balance "
                                   f"{left} of invoice {inv_no}")
                        else:
                            pending[inv_no] = pending.get(inv_no, Decimal(0)) + app_amount
                c.absorb(ac)
                apps.append({"invoiceNumber": inv_no, "amount": app_amount})
        applied = sum((a["amount"] for a in apps if a["amount"] is not None), zero(currency))
        if amount is not None and applied > amount:
            c.err("applications", "OVER_APPLIED", f"Applications total {applied} exceeds the "
                                                  f"payment amount {amount}")
        c.done()
        for inv_no, value in pending.items():
            inv = self.invoices.rows[inv_no]
            inv["balance"] -= value
            inv["status"] = "Paid" if inv["balance"] == 0 else "Open"
            inv["modifiedAt"] = now_iso()
        cust["balance"] -= applied
        number = self.next_id("payment", "PMT-{:06d}")
        ts = now_iso()
        rec = {"paymentNumber": number, "customerCode": cust["customerCode"],
               "paymentDate": pay_date.isoformat(), "amount": amount, "currency": currency,
               "method": method, "bankAccountId": bank, "reference": reference,
               "applications": apps, "appliedAmount": applied, "unappliedAmount": amount - applied,
               "externalReference": ext, "createdAt": ts, "modifiedAt": ts}
        self.payments.add(rec)
        return rec

    # -------------------------------------------------------------------- GL journals
    def create_journal(self, body: Any) -> dict[str, Any]:
        c = Check(body)
        ext = self._ext(c, self.journals, "journal entry")
        entry_date = c.day("entryDate")
        currency = c.currency()
        memo = c.string("memo")
        source = c.string("source")
        self.check_period(c, "entryDate", entry_date)
        lines = []
        debits = credits = zero(currency)
        for i, lc in enumerate(c.lines(minimum=2)):
            acct = lc.string("accountNumber", required=True)
            if acct and acct not in self.accounts:
                lc.err("accountNumber", "UNKNOWN_ACCOUNT", f"Account {acct} does not exist")
            debit = lc.amount("debit", currency, required=False)
            credit = lc.amount("credit", currency, required=False)
            if debit is not None and credit is not None and (debit > 0) == (credit > 0):
                lc.err("debit", "ONE_SIDED", f"Line {i + 1} must have either a debit or a "
                                             f"credit amount")
            line_memo = lc.string("memo")
            c.absorb(lc)
            debits += debit or 0
            credits += credit or 0
            lines.append({"lineNumber": i + 1, "accountNumber": acct, "debit": debit,
                          "credit": credit, "memo": line_memo})
        if not c.errors and debits != credits:
            c.err("lines", "UNBALANCED", f"debits {debits} != credits {credits}")
            raise Problem(422, "Journal entry is not balanced", c.errors)
        c.done()
        year = entry_date.year
        je_id = self.next_id(f"journal-{year}", f"JE-{year}-{{:06d}}")
        ts = now_iso()
        rec = {"journalEntryId": je_id, "entryDate": entry_date.isoformat(), "currency": currency,
               "memo": memo, "source": source, "lines": lines, "totalDebit": debits,
               "totalCredit": credits, "posted": True, "externalReference": ext,
               "createdAt": ts, "modifiedAt": ts}
        self.journals.add(rec)
        return rec

    # -------------------------------------------------------------------- inventory
    def item(self, sku: str) -> dict[str, Any]:
        item = self.items.get(sku)
        if item is None:
            raise Problem(404, f"Item {sku} does not exist",
                          [field_error("sku", "UNKNOWN_ITEM", f"Item {sku} does not exist")])
        return item

    def item_view(self, sku: str) -> dict[str, Any]:
        item = self.item(sku)
        locs = [{"locationId": loc, "onHand": qty} for (s, loc), qty in self.stock.items()
                if s == sku] if item["stocked"] else []
        return {**item, "locations": locs}

    def quantity(self, sku: str, location: str | None) -> dict[str, Any]:
        item = self.item(sku)
        location = location or "MAIN"
        if location not in self.locations:
            raise Problem(404, f"Location {location} does not exist")
        on_hand = self.stock.get((sku, location), Decimal(0)) if item["stocked"] else Decimal(0)
        return {"sku": sku, "locationId": location, "onHand": on_hand, "allocated": Decimal(0),
                "available": on_hand}

    def adjust(self, sku: str, body: Any, absolute: bool = False) -> dict[str, Any]:
        item = self.item(sku)
        c = Check(body)
        ext = self._ext(c, self.adjustments, "inventory adjustment")
        location = self._location(c, None)
        if absolute:
            target = c.number("onHand", non_negative=True)
            delta = None
        else:
            delta = c.number("delta", nonzero=True)
            target = None
        reason = c.string("reasonCode", default="ADJ")
        if not item["stocked"]:
            c.err("sku", "NOT_STOCKED", f"Item {sku} is not a stocked item")
        c.done()
        before = self.stock.get((sku, location), Decimal(0))
        if absolute:
            delta = target - before
        after = before + delta
        self.stock[(sku, location)] = after
        adj_id = self.next_id("adjustment", "ADJ-{:06d}")
        rec = {"adjustmentId": adj_id, "sku": sku, "locationId": location, "delta": delta,
               "onHandBefore": before, "onHandAfter": after, "reasonCode": reason,
               "adjustmentDate": c.body.get("adjustmentDate") or date.today().isoformat(),
               "externalReference": ext, "createdAt": now_iso()}
        self.adjustments.add(rec)
        return rec

    # -------------------------------------------------------------------- banking
    def create_deposit(self, body: Any) -> dict[str, Any]:
        c = Check(body)
        ext = self._ext(c, self.deposits, "deposit")
        bank = c.string("bankAccountId", required=True)
        if bank and bank not in self.bank_accounts:
            c.err("bankAccountId", "UNKNOWN_BANK_ACCOUNT", f"Bank account {bank} does not exist")
        deposit_date = c.day("depositDate")
        currency = c.currency()
        amount = c.amount("amount", currency, positive=True)
        clearing = c.string("clearingAccountNumber", default="1250", max_len=10)
        if clearing and clearing not in self.accounts:
            c.err("clearingAccountNumber", "UNKNOWN_ACCOUNT", f"Account {clearing} does not exist")
        status = c.string("status", default="Posted", max_len=10)
        if status not in ("Posted", "Failed"):
            c.err("status", "INVALID", f"status must be Posted or Failed, got {status!r}")
        memo = c.string("memo")
        journal_id = c.string("journalEntryId", max_len=20)
        if journal_id and journal_id not in self.journals.rows:
            c.err("journalEntryId", "UNKNOWN_JOURNAL_ENTRY",
                  f"Journal entry {journal_id} does not exist")
        self.check_period(c, "depositDate", deposit_date)
        c.done()
        dep_id = self.next_id("deposit", "DEP-{:06d}")
        ts = now_iso()
        rec = {"depositId": dep_id, "bankAccountId": bank, "depositDate": deposit_date.isoformat(),
               "amount": amount, "currency": currency, "clearingAccountNumber": clearing,
               "status": status, "memo": memo, "journalEntryId": journal_id,
               "externalReference": ext, "createdAt": ts, "modifiedAt": ts}
        self.deposits.add(rec)
        return rec
