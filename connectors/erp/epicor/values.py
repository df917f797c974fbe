"""Epicor values at the API boundary: JSON numbers, dates, OData literals, keys."""
from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import orjson

from domain.money import Money, from_decimal

Row = dict[str, Any]
MAX_ROWS = 100  # Epicor's server page size


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        if Decimal(repr(as_float)) != value:
            raise ValueError(f"{value} cannot be sent exactly as a JSON number")
        return as_float
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_json_default)


def dec(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def qty(value: Any) -> Decimal:
    q = dec(value)
    return Decimal(int(q)) if q == q.to_integral_value() else q.normalize()


def money(value: Any, currency: str) -> Money:
    return Money(from_decimal(dec(value), currency), currency)


def edate(d: date) -> str:
    return f"{d.isoformat()}T00:00:00"


def pdate(value: Any) -> date:
    return date.fromisoformat(str(value)[:10])


def quote(value: Any) -> str:
    """An OData literal: strings single-quoted with quotes doubled."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def guid() -> str:
    return str(uuid.uuid4())


def cust_id(external_id: str) -> str:
    """A stable 10-character CustID for a Stripe customer (the Stripe id is in ExternalID)."""
    digest = hashlib.sha1(external_id.encode()).digest()
    return "S" + base64.b32encode(digest).decode()[:9]


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def parse_map(text: str) -> dict[str, str]:
    """``"1010=OPER,1250=STRIPE"`` -> ``{"1010": "OPER", "1250": "STRIPE"}``."""
    out: dict[str, str] = {}
    for part in text.split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out
