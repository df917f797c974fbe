"""TIMS: endpoints, query parameters and body fields against our contract document.

TIMS publishes no API (reference §3), so the reference is ``sandbox/tims/CONTRACT.md``:

* its **Endpoints** table (``| Method | Path | Query parameters | Request body | ...``):
  backticked methods, a path template (``/customers/{customerCode}``), the query
  parameters it takes and the schema of its request body;
* one table per **schema** under a ``### `Name` `` heading (``| Field | Type | Request |
  ...``): field paths (``lines[].accountNumber``, ``billingAddress.city``); a field whose
  Request cell says ``read-only`` is not accepted in requests.

Paths are relative to the API base (``…/api/v1``); ``POST /batch`` sub-requests are
checked like requests of their own.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from ..erp_requests import Recorded
from . import REPO, Element, Findings
from .fidelity import cells, names_in

CONTRACT = REPO / "sandbox" / "tims" / "CONTRACT.md"
_BASE = "/api/v1"


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    pattern: re.Pattern[str]
    query: frozenset[str]
    body: str | None


@dataclass(frozen=True)
class Contract:
    endpoints: tuple[Endpoint, ...]
    schemas: dict[str, frozenset[str]]      # schema -> field paths accepted in requests


def _tables(lines: list[str], start: int) -> tuple[list[str], list[list[str]], int]:
    """The first table at or after ``start`` (stopping at a heading): header, rows, end."""
    i = start
    while i < len(lines) and not lines[i].lstrip().startswith("|"):
        if lines[i].startswith("#") and i > start:
            return [], [], i
        i += 1
    if i + 1 >= len(lines):
        return [], [], i
    header = [h.strip("* ").lower() for h in cells(lines[i])]
    rows, i = [], i + 2
    while i < len(lines) and lines[i].lstrip().startswith("|"):
        rows.append(cells(lines[i]))
        i += 1
    return header, rows, i


@cache
def contract(path: Path = CONTRACT) -> Contract:
    lines = path.read_text().splitlines()
    endpoints: list[Endpoint] = []
    schemas: dict[str, frozenset[str]] = {}
    for n, line in enumerate(lines):
        if re.match(r"##\s+Endpoints\b", line):
            header, rows, _ = _tables(lines, n + 1)
            col = {name: header.index(name) for name in header}
            for row in rows:
                def cell(name: str, row: list[str] = row) -> str:
                    idx = col.get(name)
                    return row[idx] if idx is not None and idx < len(row) else ""
                path_cell = re.findall(r"`([^`]+)`", cell("path"))
                if not path_cell:
                    continue
                template = path_cell[0]
                regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
                bodies = re.findall(r"`([^`]+)`", cell("request body"))
                for method in re.findall(r"`([A-Z]+)`", cell("method")):
                    endpoints.append(Endpoint(method, template, re.compile(f"^{regex}/?$"),
                                              frozenset(names_in(cell("query parameters"))),
                                              bodies[0] if bodies else None))
        m = re.match(r"###\s+`([A-Za-z]+)`", line)
        if m:
            header, rows, _ = _tables(lines, n + 1)
            if "field" in header:
                fcol = header.index("field")
                rcol = header.index("request") if "request" in header else None
                schemas[m.group(1)] = frozenset(
                    re.findall(r"`([^`]+)`", row[fcol])[0] for row in rows
                    if re.findall(r"`([^`]+)`", row[fcol]) and not (
                        rcol is not None and rcol < len(row) and "read-only" in row[rcol]))
    return Contract(tuple(endpoints), schemas)


def _paths(value: Any, prefix: str = "") -> list[str]:
    """Field paths of a body: ``a``, ``a.b``, ``lines[].sku`` (the leaves and the nodes)."""
    out: list[str] = []
    if isinstance(value, dict):
        for key, sub in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.append(path)
            if isinstance(sub, dict):
                out += _paths(sub, path)
            elif isinstance(sub, list):
                for item in sub:
                    if isinstance(item, dict):
                        out += _paths(item, f"{path}[]")
    return list(dict.fromkeys(out))


def elements(requests: Sequence[Recorded]) -> Findings:
    spec = contract()
    found = Findings()
    for r in requests:
        _, sep, sub = r.path.partition(_BASE)
        if not sep:
            found.unknown(Element("endpoint", ((f"{r.method} {r.path}",),)), r)
            continue
        _request(spec, r.method, sub or "/", r.query, r.body, found, str(r))
    return found


def _request(spec: Contract, method: str, path: str, query: dict[str, list[str]], body: Any,
             found: Findings, where: str) -> None:
    endpoint = next((e for e in spec.endpoints
                     if e.method == method and e.pattern.match(path)), None)
    if endpoint is None:
        found.unknown(Element("endpoint", ((f"{method} {path}",),)), where)
        return
    found.ok()
    for name in query:
        if name in endpoint.query:
            found.ok()
        else:
            found.unknown(Element("query parameter", ((endpoint.template,), (name,))), where)
    if body is None:
        return
    fields = spec.schemas.get(endpoint.body or "", frozenset())
    batch = endpoint.template == "/batch" and isinstance(body, dict)
    shape = {**body, "requests": [{k: {} if k == "body" else v for k, v in sub.items()}
                                  for sub in body.get("requests") or [] if isinstance(sub, dict)]
             } if batch else body
    for field in _paths(shape):
        if field in fields:
            found.ok()
        else:
            found.unknown(Element("body field", ((endpoint.body or endpoint.template,),
                                                 (field,))), where)
    if batch:
        for sub in body.get("requests") or []:
            if isinstance(sub, dict):
                sub_path, _, qs = str(sub.get("path", "")).partition("?")
                _request(spec, str(sub.get("method", "")).upper(), sub_path,
                         parse_qs(qs, keep_blank_values=True), sub.get("body"), found,
                         f"{where} -> {sub.get('method')} {sub.get('path', '')[:80]}")
