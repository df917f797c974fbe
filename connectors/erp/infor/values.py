"""M3 values at the API boundary: keys that fit M3's field lengths, dates, amounts."""
from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from decimal import Decimal

from domain.money import Money, from_decimal, to_decimal

from ..base import ErpValidationError, decimal_str

SEP = ";"                                  # EXPORTMI column separator
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SAFE = re.compile(r"^[A-Za-z0-9_:.\-]+$")  # ids EXPORTMI can look up (no quoting there)


def short_key(prefix: str, text: str, width: int) -> str:
    """``prefix`` + base36 of SHA-256(text), ``width`` characters: a stable M3 key for a long id."""
    n = int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")
    out = []
    for _ in range(width - len(prefix)):
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
    return prefix + "".join(out)


def order_key(external_id: str) -> str:
    """CUOR (20): the Stripe id itself when it fits, else a hash of it."""
    return external_id if len(external_id) <= 20 and SAFE.match(external_id) else (
        short_key("S", external_id, 20))


def ymd(d: date) -> str:
    return d.strftime("%Y%m%d")


def m3_date(text: str) -> date:
    return datetime.strptime(text.strip(), "%Y%m%d").date()


def quote(value: str) -> str:
    if "'" in value:
        raise ErpValidationError(f"{value!r} cannot be looked up in M3 (quote character)")
    return f"'{value}'"


def amount(money: Money) -> str:
    return decimal_str(to_decimal(money.amount, money.currency))


def money(text: str, currency: str) -> Money:
    return Money(from_decimal(Decimal(text.strip() or "0"), currency), currency)


def pairs(text: str) -> dict[str, str]:
    """``"MAIN=100,EAST=200"`` -> ``{"MAIN": "100", "EAST": "200"}`` (keys upper-cased)."""
    out = {}
    for part in (text or "").split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip().upper()] = v.strip()
    return out
