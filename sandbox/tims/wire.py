"""Wire formats: JSON with exact decimals, XML with the same element names, RFC 7807 problems.

Amounts travel as JSON numbers in major units carrying the currency's minor
unit exactly (``19.99``, ``2500``, ``12.340``): bodies are parsed with
``Decimal`` floats and rendered with ``orjson.Fragment`` so no float ever
touches an amount.
"""
from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from typing import Any

import orjson

# Stripe's minor units (the product's source of amounts); every other ISO code has 2.
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF",
                          "VND", "VUV", "XAF", "XOF", "XPF"})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

PROBLEM_BASE = "https://tims.example/errors/"
JSON_TYPE = "application/json"
XML_TYPE = "application/xml"
PROBLEM_JSON = "application/problem+json"
PROBLEM_XML = "application/problem+xml"


def exponent(currency: str) -> int:
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


# ------------------------------------------------------------------------------ problems
_trace = itertools.count(1)


class Problem(Exception):
    """An RFC 7807 problem; ``errors`` are ``{"field","code","message"}`` items."""

    TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
              405: "Method not allowed", 406: "Not acceptable", 409: "Conflict",
              413: "Payload too large", 415: "Unsupported media type",
              422: "Validation failed", 429: "Too many requests", 500: "Internal server error",
              502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}
    SLUGS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
             405: "method-not-allowed", 406: "not-acceptable", 409: "duplicate",
             413: "payload-too-large", 415: "unsupported-media-type", 422: "validation",
             429: "rate-limited", 500: "server-error", 502: "bad-gateway",
             503: "service-unavailable", 504: "gateway-timeout"}

    def __init__(self, status: int, detail: str, errors: list[dict[str, str]] | None = None, *,
                 slug: str | None = None, title: str | None = None,
                 extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors or []
        self.slug = slug or self.SLUGS.get(status, "error")
        self.title = title or self.TITLES.get(status, "Error")
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self, instance: str) -> dict[str, Any]:
        out: dict[str, Any] = {"type": PROBLEM_BASE + self.slug, "title": self.title,
                               "status": self.status, "detail": self.detail,
                               "instance": instance, "errors": self.errors}
        out.update(self.extra)
        out["traceId"] = f"{next(_trace):016x}"
        return out


def validation(errors: list[dict[str, str]]) -> Problem:
    detail = "; ".join(e["message"] for e in errors[:5])
    if len(errors) > 5:
        detail += f" (and {len(errors) - 5} more)"
    return Problem(422, detail, errors)


def field_error(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


# ------------------------------------------------------------------------------ JSON
def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return orjson.Fragment(format(obj, "f").encode())
    if isinstance(obj, date):
        return obj.isoformat()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default)


def loads(data: bytes) -> Any:
    return json.loads(data, parse_float=Decimal)


# ------------------------------------------------------------------------------ XML
# Collections and nested lists: container element -> element name of each entry.
LIST_ELEMENTS = {"lines": "line", "applications": "application", "locations": "location",
                 "requests": "request", "responses": "response"}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _fill(el: ET.Element, value: Any, item_name: str = "item") -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if v is None:
                continue
            child = ET.SubElement(el, k)
            _fill(child, v, LIST_ELEMENTS.get(k, "item"))
    elif isinstance(value, (list, tuple)):
        for v in value:
            _fill(ET.SubElement(el, item_name), v)
    else:
        el.text = _text(value)


def to_xml(root: str, obj: Any, item_name: str = "item") -> bytes:
    """``obj`` as XML: same names as the JSON fields, root = resource name.

    A paged collection renders as ``<customers><items><customer>…</customer></items>
    <page>1</page>…</customers>``: ``item_name`` names the entries of ``items``.
    """
    el = ET.Element(root)
    if isinstance(obj, dict):
        for k, v in obj.items():
            if v is None:
                continue
            child = ET.SubElement(el, k)
            _fill(child, v, item_name if k == "items" else LIST_ELEMENTS.get(k, "item"))
    else:
        _fill(el, obj, item_name)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(el, encoding="unicode").encode()


def problem_xml(body: dict[str, Any]) -> bytes:
    """RFC 7807 appendix A: root ``problem`` in ``urn:ietf:rfc:7807``, arrays as ``<i>``."""
    el = ET.Element("problem", xmlns="urn:ietf:rfc:7807")
    for k, v in body.items():
        if v is None:
            continue
        child = ET.SubElement(el, k)
        _fill(child, v, "i")
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(el, encoding="unicode").encode()


def _from_element(el: ET.Element) -> Any:
    children = list(el)
    if not children:
        return (el.text or "").strip()
    tag = el.tag.split("}")[-1]
    if tag in LIST_ELEMENTS or tag == "items":
        return [_from_element(c) for c in children]
    out: dict[str, Any] = {}
    for c in children:
        name = c.tag.split("}")[-1]
        value = _from_element(c)
        if name in out:  # repeated element: a list
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(value)
        else:
            out[name] = value
    return out


def from_xml(data: bytes) -> Any:
    """An XML request body as the equivalent JSON object (scalars stay strings)."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ValueError("DTDs are not accepted")
    root = ET.fromstring(data)
    value = _from_element(root)
    return value if isinstance(value, dict) else {}
