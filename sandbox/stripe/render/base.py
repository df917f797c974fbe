"""API version, ids, serialisation and the pieces every object shares."""
from __future__ import annotations

import base64
import random
from typing import Any

import orjson

API_VERSION = "2026-10-28.endive"

# Fields the SDK models declare that this sandbox does not render, and why.
OMITTED: dict[str, frozenset[str]] = {
    "customer": frozenset(
        {
            "cash_balance",
            "invoice_credit_balance",
            "sources",
            "subscriptions",
            "tax",
            "tax_ids",
            "deleted",
        }
    ),  # includable only; deleted: stub only
    "charge": frozenset({"refunds"}),  # only when expanded since 2022-11-15
    "price": frozenset({"currency_options", "tiers", "deleted"}),  # includable only
    "product": frozenset({"deleted"}),
    "subscription_item": frozenset({"deleted", "billed_until"}),  # includable since dahlia
    "invoice": frozenset({"deleted", "payments"}),  # payments: includable only
    "webhook_endpoint": frozenset({"secret", "deleted"}),  # secret: only in the create response
    "event": frozenset({"account"}),  # Connect only
    "balance": frozenset({"instant_available", "issuing"}),  # feature-gated
}

dumps = orjson.dumps
loads = orjson.loads

_B64 = bytes.maketrans(b"+/", b"Zq")


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # ASCII order


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(_BASE62[r])
    return "".join(reversed(out))


class Ids:
    """Stripe-looking ids, deterministic per seed: ``<prefix>_<head><random>``.

    Like Stripe's, the ids are roughly ordered by creation: the 6-character
    head counts up every 256 ids.  Besides looking right, this keeps the id
    indexes' inserts local (appends), a large part of bulk-load speed.
    Random bytes are drawn and encoded in blocks; an id is then one slice.
    """

    _BLOCK = 1024  # random suffixes per refill
    _HEAD = 6
    _HEAD_BASE = 3 * 62**5 + 812_345_678  # heads look like Stripe's ("3Pg...")

    def __init__(self, seed: int | str, start: int = 0) -> None:
        self._rng = random.Random(seed)
        self._chars = ""
        self._pos = 0
        self._count = start
        self._head = _base62(self._HEAD_BASE + (start >> 8), self._HEAD)

    def _random(self, length: int) -> str:
        pos = self._pos
        if pos + 24 > len(self._chars):
            raw = base64.b64encode(self._rng.randbytes(18 * self._BLOCK)).translate(_B64)
            self._chars, pos = raw.decode(), 0
        self._pos = pos + 24
        return self._chars[pos : pos + length]

    def new(self, prefix: str, length: int = 24) -> str:
        n = self._count
        self._count = n + 1
        if not n & 255:
            self._head = _base62(self._HEAD_BASE + (n >> 8), self._HEAD)
        pos = self._pos  # ``_random`` inlined: ids are the hottest call in bulk generation
        if pos + 24 > len(self._chars):
            return prefix + "_" + self._head + self._random(length - self._HEAD)
        self._pos = pos + 24
        return f"{prefix}_{self._head}{self._chars[pos : pos + length - self._HEAD]}"

    def short(self, prefix: str) -> str:
        return self.new(prefix, 14)

    def secret(self, length: int) -> str:
        """Random characters only (client secrets, invoice prefixes)."""
        return self._random(length)


NULL_ADDRESS = {
    "city": None,
    "country": None,
    "line1": None,
    "line2": None,
    "postal_code": None,
    "state": None,
}
EMPTY_LIST_META: dict[str, Any] = {}


def sub_list(url: str, data: list[Any], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}




def deleted(id: str, object: str) -> dict[str, Any]:
    return {"id": id, "object": object, "deleted": True}
