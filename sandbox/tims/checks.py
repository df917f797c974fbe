"""Validation primitives and record collections shared by the document families.

:class:`Check` reads one request body field by field and collects every error, so a
422 answer lists all of them (``done()``); a field the contract does not define is an
error too (``UNKNOWN_FIELD``: a misspelt field never drops data silently).
:class:`Collection` keeps records by key with a unique ``externalReference`` index.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .wire import Problem, exponent, field_error, validation

# Field lengths (CONTRACT.md): name -> max characters.
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


def duplicate(what: str, ext: str, existing: str) -> Problem:
    return Problem(409, f"A {what} with externalReference '{ext}' already exists ({existing})",
                   [field_error("externalReference", "DUPLICATE",
                                f"externalReference '{ext}' is already used by {existing}")],
                   extra={"existingId": existing})


class Check:
    """Collects field errors for one request body; ``done()`` raises a 422 with all of them."""

    def __init__(self, body: Any, prefix: str = "") -> None:
        if not isinstance(body, dict):
            raise Problem(400, "The request body must be an object")
        self.body, self.prefix = body, prefix
        self.errors: list[dict[str, str]] = []
        self.seen: set[str] = set()

    def name(self, f: str) -> str:
        return f"{self.prefix}{f}"

    def get(self, f: str) -> Any:
        self.seen.add(f)
        return self.body.get(f)

    def err(self, f: str, code: str, message: str) -> None:
        self.errors.append(field_error(self.name(f), code, message))

    def string(self, f: str, required: bool = False, default: str | None = None,
               max_len: int | None = None) -> str | None:
        v = self.get(f)
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
        v = self.get(f)
        if v is None or v == "":
            return default
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.lower() in ("true", "false"):
            return v.lower() == "true"
        self.err(f, "INVALID", f"{self.name(f)} must be true or false")
        return default

    def day(self, f: str, required: bool = True) -> date | None:
        v = self.get(f)
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
        v = self.get(f)
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
        v = self.get(f)
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

    def unknown_fields(self) -> list[dict[str, str]]:
        return [field_error(self.name(k), "UNKNOWN_FIELD",
                            f"{self.name(k)} is not a field of this resource")
                for k in self.body if k not in self.seen]

    def absorb(self, sub: Check) -> None:
        self.errors.extend(sub.errors + sub.unknown_fields())

    def done(self) -> None:
        errors = self.errors + self.unknown_fields()
        if errors:
            raise validation(errors)
