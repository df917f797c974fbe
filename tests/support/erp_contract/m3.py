"""Infor M3: MI programs, transactions and fields against ``m3_transactions.txt``.

Requests are the single form ``…/m3api-rest/v2/execute/<PROGRAM>/<TRANSACTION>[;matrix]
?FIELD=…&cono=…`` and the bulk form ``POST …/execute`` with ``{"program", "transactions":
[{"transaction", "record", "selectedColumns"}]}`` (reference §2.3).  Listed: a program of
the file, a transaction in its TRANSACTIONS list, an input field of a transaction the file
details, an output field asked for in ``selectedColumns``/``returncols``, the common query
parameters.  Unlisted: anything else, the bulk envelope's keys, the token endpoint, and
``EXPORTMI/Select`` queries' tables and columns (the file lists no tables).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..erp_requests import Recorded
from . import Element, Findings
from .reference import M3Reference, m3_reference

_EXECUTE = re.compile(r"/m3api-rest/v2/execute(?:/([^/;]+)/([^/;]+))?((?:;[^/]*)?)/?$")
_QUERY = re.compile(r"^\s*(.+?)\s+from\s+(\w+)(?:\s+where\s+(.*))?$", re.I | re.S)
_SQL_WORDS = {"and", "or", "not", "like", "in", "is", "null", "between", "count", "order",
              "by", "asc", "desc"}


def _endpoint(path: str) -> str:
    """``/TENANT/as/token.oauth2`` -> ``as/token.oauth2`` (tenant-independent)."""
    return "/".join(path.strip("/").split("/")[1:]) or path


def elements(requests: Sequence[Recorded]) -> Findings:
    ref = m3_reference()
    found = Findings()
    for r in requests:
        m = _EXECUTE.search(r.path)
        if m is None:
            found.unknown(Element("endpoint", ((_endpoint(r.path),),)), r)
            continue
        matrix = dict(p.split("=", 1) for p in m.group(3).split(";") if "=" in p)
        params = {k: v[-1] for k, v in r.query.items()} | matrix
        if m.group(1):
            record = {k: v for k, v in params.items() if k.isupper()}
            cols = _cols(params.get("returncols"))
            _params(ref, {k for k in params if not k.isupper()}, found, r)
            _call(ref, m.group(1), m.group(2), record, cols, found, r)
            continue
        _params(ref, set(params), found, r)
        body = r.body if isinstance(r.body, dict) else {}
        for key in body:
            if key in ref.common_params:
                found.ok()
            else:
                found.unknown(Element("bulk request key", (("execute",), (key,))), r)
        for call in body.get("transactions") or []:
            for key in call:
                found.unknown(Element("bulk transaction key", (("execute",), (key,))), r)
            _call(ref, str(body.get("program")), str(call.get("transaction")),
                  call.get("record") or {}, list(call.get("selectedColumns") or []), found, r)
    return found


def _cols(value: str | None) -> list[str]:
    return [c.strip() for c in (value or "").split(",") if c.strip()]


def _params(ref: M3Reference, names: set[str], found: Findings, r: Recorded) -> None:
    for name in names:
        if name in ref.common_params:
            found.ok()
        else:
            found.unknown(Element("query parameter", (("execute",), (name,))), r)


def _call(ref: M3Reference, program: str, transaction: str, record: dict[str, Any],
          outputs: list[str], found: Findings, r: Recorded) -> None:
    where = f"{r.method} {program}/{transaction}"
    trans = ref.programs.get(program, {}).get(transaction)
    if program not in ref.programs:
        found.unknown(Element("program", ((program,),)), where)
    if trans is None:
        found.unknown(Element("transaction", ((program,), (transaction,))), where)
    else:
        found.ok()
    for name in record:
        if trans is not None and trans.detailed and name in trans.inputs:
            found.ok()
        else:
            found.unknown(Element("input field", ((program,), (transaction,), (name,))), where)
    for name in outputs:
        if trans is not None and trans.detailed and name in trans.outputs:
            found.ok()
        else:
            found.unknown(Element("output field", ((program,), (transaction,), (name,))), where)
    if (program, transaction) in (("EXPORTMI", "Select"), ("EXPORTMI", "SelectPad")):
        _export_query(str(record.get("QERY") or ""), found, where)


def _export_query(query: str, found: Findings, where: str) -> None:
    """Tables and columns an ``EXPORTMI/Select`` query reads (none are in the lists)."""
    m = _QUERY.match(query)
    if m is None:
        found.unknown(Element("EXPORTMI query", ((query[:40],),)), where)
        return
    cols, table, cond = m.group(1), m.group(2), m.group(3) or ""
    found.unknown(Element("table", ((table,),)), where)
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r"'(?:[^']|'')*'", "", cond)))
    names |= {c.strip() for c in cols.split(",") if re.fullmatch(r"\s*\w+\s*", c)}
    for name in sorted(names):
        if name.lower() not in _SQL_WORDS and not name.isdigit():
            found.unknown(Element("table column", ((table,), (name,))), where)
