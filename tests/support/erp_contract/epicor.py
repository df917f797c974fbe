"""Epicor Kinetic REST v2: services, entity sets, methods and fields against
``epicor_fields.txt``.

Requests are ``…/api/v2/odata/<Company>/<Service>/<EntitySet or Method>[(keys)][/<Nav>]``
(reference §1.1).  Listed: an entity set that reference §1.5 (swagger, [V]) places on the
service used and whose row the file lists, and the fields of that row used in bodies,
``$filter``, ``$select``, ``$orderby``; rows of ``{"ds": {"<Table>": [...]}}`` bodies
(``<Table>Row`` in the file) and their fields; OData's own query options (§1.3).
Unlisted: every method (``UpdateExt``, ``PostGroupJournals``...) and its non-``ds``
parameters, services and entity sets outside §1.5, rows the file lacks, and any path that
is not OData (``TokenResource.svc``).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..erp_requests import Recorded
from . import Element, Findings
from .reference import epicor_rows

# Reference §1.5 (from the generated swagger): service -> entity set -> tableset row.
SERVICE_ENTITIES: dict[str, dict[str, str]] = {
    "Erp.BO.CustomerSvc": {"Customers": "CustomerRow"},
    "Erp.BO.PartSvc": {"Parts": "PartRow", "PartWhses": "PartWhseRow"},
    "Erp.BO.SalesOrderSvc": {"SalesOrders": "OrderHedRow", "OrderDtls": "OrderDtlRow"},
    "Erp.BO.ARInvoiceSvc": {"ARInvoices": "InvcHeadRow", "InvcDtls": "InvcDtlRow"},
    "Erp.BO.InvcGrpSvc": {"InvcGrps": "InvcGrpRow"},
    "Erp.BO.CashGrpSvc": {"CashGrps": "CashGrpRow"},
    "Erp.BO.CashRecSvc": {"CashRecs": "CashHeadRow", "CashDtls": "CashDtlRow"},
    "Erp.BO.GLJrnGrpSvc": {"GLJrnGrps": "GLJrnGrpRow"},
    "Erp.BO.GLJournalEntrySvc": {"GLJournalEntries": "GLJrnHedRow",
                                 "GLJrnDtlMnls": "GLJrnDtlMnlRow"},
    "Erp.BO.BankAcctSvc": {"BankAccts": "BankAcctRow"},
}
_ODATA = re.compile(r"/api/v2/odata/[^/]+/(.+?)/?$")
_SEGMENT = re.compile(r"^([A-Za-z0-9_.]+)(\(.*\))?$")
_PROTOCOL = {"$top", "$skip", "$count", "$format", "$skiptoken"}
_FIELD_OPTIONS = {"$filter", "$select", "$orderby", "$expand"}
_ODATA_WORDS = {
    "eq", "ne", "gt", "ge", "lt", "le", "and", "or", "not", "has", "in", "add", "sub", "mul",
    "div", "mod", "true", "false", "null", "asc", "desc", "datetime", "guid"}


def _container(entity_or_table: str, row: str | None) -> tuple[str, ...]:
    names = [row] if row else []
    names += [entity_or_table, (row or "")[:-3]]
    return tuple(dict.fromkeys(n for n in names if n))


def elements(requests: Sequence[Recorded]) -> Findings:
    rows = epicor_rows()
    found = Findings()
    for r in requests:
        m = _ODATA.search(r.path)
        if m is None:
            tail = re.sub(r"^/[^/]+/", "", r.path)       # drop the instance
            found.unknown(Element("endpoint", ((tail.strip("/") or r.path,),)), r)
            continue
        segs = [s for s in m.group(1).split("/") if s]
        service = segs[0]
        names = [(_SEGMENT.match(s) or _SEGMENT.match("x")).group(1) for s in segs[1:]]
        target = names[-1] if names else ""
        entities = SERVICE_ENTITIES.get(service, {})
        if target in entities or (len(names) > 1 and target[:1].isupper() and "(" in segs[-2]):
            row = _entity(service, target, entities, rows, found, r)
            _query(r.query, service, target, row, entities, rows, found, r)
            if isinstance(r.body, dict):
                _fields(r.body, _container(target, row), row, rows, found, r, service, entities)
        elif r.method == "GET" and target[:1].isupper() and not target.startswith("Get") \
                and all(k.startswith("$") for k in r.query):
            row = _entity(service, target, entities, rows, found, r)
            _query(r.query, service, target, row, entities, rows, found, r)
        else:
            found.unknown(Element("method", ((service,), (target or "?",))), r)
            for name in r.query:
                found.unknown(Element("method parameter", ((target,), (name,))), r)
            body = r.body if isinstance(r.body, dict) else {}
            for key, value in body.items():
                if key == "ds" and isinstance(value, dict):
                    _dataset(value, rows, found, r)
                else:
                    found.unknown(Element("method parameter", ((target,), (key,))), r)
    return found


def _entity(service: str, entity: str, entities: dict[str, str], rows: dict[str, Any],
            found: Findings, r: Recorded) -> str | None:
    row = entities.get(entity)
    if row is not None and row in rows:
        found.ok()
        return row
    found.unknown(Element("entity set", ((service,), (entity,))), r)
    return row


def _query(query: dict[str, list[str]], service: str, entity: str, row: str | None,
           entities: dict[str, str], rows: dict[str, Any], found: Findings,
           r: Recorded) -> None:
    container = _container(entity, row)
    for name, values in query.items():
        if name in _PROTOCOL:
            found.ok()
        elif name == "$expand":
            for nav in (v.strip() for value in values for v in value.split(",") if v.strip()):
                _entity(service, nav, entities, rows, found, r)
        elif name in _FIELD_OPTIONS:
            for field in sorted(set().union(*(_field_names(v) for v in values))):
                _field(container, row, field, rows, found, r)
        else:
            found.unknown(Element("query parameter", ((name,),)), r)


def _field_names(expression: str) -> set[str]:
    text = re.sub(r"'(?:[^']|'')*'", " ", expression)
    text = re.sub(r"\b\d{4}-\d{2}-\d{2}(?:T[\d:.]+)?(?:Z|[+-]\d{2}:\d{2})?", " ", text)  # dates
    names = set()
    for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)\s*(\()?", text):
        word = m.group(1)
        if m.group(2) or word.lower() in _ODATA_WORDS:
            continue                                 # a function call or an operator
        names.add(word)
    return names


def _field(container: tuple[str, ...], row: str | None, name: str, rows: dict[str, Any],
           found: Findings, r: Recorded) -> None:
    if row is not None and name in rows.get(row, ()):
        found.ok()
    else:
        found.unknown(Element("field", (container, (name,))), r)


def _fields(body: dict[str, Any], container: tuple[str, ...], row: str | None,
            rows: dict[str, Any], found: Findings, r: Recorded, service: str,
            entities: dict[str, str]) -> None:
    for name, value in body.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            child = _entity(service, name, entities, rows, found, r)
            for item in value:
                _fields(item, _container(name, child), child, rows, found, r, service,
                        entities)
        else:
            _field(container, row, name, rows, found, r)


def _dataset(ds: dict[str, Any], rows: dict[str, Any], found: Findings, r: Recorded) -> None:
    for table, items in ds.items():
        row = f"{table}Row"
        if row in rows:
            found.ok()
        else:
            found.unknown(Element("tableset row", ((row, table),)), r)
        for item in items if isinstance(items, list) else []:
            for name in item if isinstance(item, dict) else ():
                _field(_container(table, row), row, name, rows, found, r)
