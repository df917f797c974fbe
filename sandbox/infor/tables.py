"""M3 database tables in memory, and the ``EXPORTMI/Select`` query subset over them.

Rows are dicts of M3 column names (table prefix + field, e.g. ``OKCUNO``) to
strings, as M3 returns them.  ``Select`` understands
``<cols|*|count(*)> from <TABLE> [where <col> <op> <literal> {and|or} ...]``
with ``= <> != < > <= >=``, quoted strings and numbers (``and`` binds tighter
than ``or``; no parentheses, no joins) -- enough for keyed lookups.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any


class QueryError(ValueError):
    """A Select the sandbox cannot run (the MI answers NOK with this text)."""


class Table:
    def __init__(self, name: str, prefix: str, columns: Iterable[str], keys: Iterable[str] = ()):
        self.name, self.prefix = name, prefix
        self.columns = [prefix + c for c in columns]
        self.colset = set(self.columns)
        self.keys = [prefix + k for k in keys]
        self.rows: list[dict[str, str]] = []
        self.index: dict[str, dict[str, list[dict[str, str]]]] = {k: {} for k in self.keys}

    def clear(self) -> None:
        self.rows.clear()
        for ix in self.index.values():
            ix.clear()

    def new_row(self, **values: Any) -> dict[str, str]:
        """A row with every column ('' when not given); ``values`` use field names without prefix."""
        row = dict.fromkeys(self.columns, "")
        for k, v in values.items():
            if self.prefix + k not in self.colset:
                raise KeyError(f"{self.name} has no column {self.prefix + k}")
            row[self.prefix + k] = "" if v is None else str(v)
        return row

    def insert(self, row: dict[str, str]) -> dict[str, str]:
        self.rows.append(row)
        for col, ix in self.index.items():
            ix.setdefault(row.get(col, ""), []).append(row)
        return row

    def update(self, row: dict[str, str], **values: Any) -> None:
        for k, v in values.items():
            col = self.prefix + k
            if col not in self.colset:
                raise KeyError(f"{self.name} has no column {col}")
            new = "" if v is None else str(v)
            ix = self.index.get(col)
            if ix is not None and row.get(col, "") != new:
                ix[row.get(col, "")].remove(row)
                ix.setdefault(new, []).append(row)
            row[col] = new

    def lookup(self, field: str, value: str) -> list[dict[str, str]]:
        col = self.prefix + field
        ix = self.index.get(col)
        if ix is not None:
            return ix.get(value, [])
        return [r for r in self.rows if r.get(col) == value]

    def first(self, field: str, value: str) -> dict[str, str] | None:
        found = self.lookup(field, value)
        return found[0] if found else None


_QUERY = re.compile(r"^\s*(?P<cols>.+?)\s+from\s+(?P<table>[A-Za-z0-9_]+)"
                    r"(?:\s+where\s+(?P<where>.+?))?\s*$", re.I | re.S)
_COND = re.compile(r"\s*([A-Za-z0-9_]+)\s*(<>|!=|>=|<=|=|<|>)\s*('[^']*'|-?\d+(?:\.\d+)?)\s*"
                   r"(?:(and|or)\b|$)", re.I)
_COUNT = re.compile(r"^count\s*\(\s*[*#]\s*\)$", re.I)


def _num(value: str) -> Decimal | None:
    try:
        return Decimal(value.strip() or "0")
    except InvalidOperation:
        return None


def _compare(left: str, op: str, literal: str) -> bool:
    if literal.startswith("'"):
        a: Any = left.rstrip()
        b: Any = literal[1:-1].rstrip()
    else:
        a, b = _num(left), Decimal(literal)
        if a is None:
            a, b = left.rstrip(), literal
    if op == "=":
        return a == b
    if op in ("<>", "!="):
        return a != b
    if op == "<":
        return a < b
    if op == ">":
        return a > b
    if op == "<=":
        return a <= b
    return a >= b


def parse_where(text: str, table: Table) -> list[list[tuple[str, str, str]]]:
    """``a = 1 and b = 'x' or c > 2`` -> [[(a,=,1), (b,=,'x')], [(c,>,2)]]."""
    groups: list[list[tuple[str, str, str]]] = [[]]
    pos = 0
    while pos < len(text):
        m = _COND.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"Invalid where clause near '{text[pos:pos + 30]}'")
        col = m.group(1).upper()
        if col not in table.colset:
            raise QueryError(f"Field {col} does not exist in table {table.name}")
        groups[-1].append((col, m.group(2), m.group(3)))
        pos = m.end()
        joiner = (m.group(4) or "").lower()
        if joiner == "or":
            groups.append([])
        elif not joiner and pos < len(text):
            raise QueryError(f"Invalid where clause near '{text[pos:pos + 30]}'")
        if joiner and pos >= len(text):
            raise QueryError("Where clause ends with a connective")
    return groups


def select(tables: dict[str, Table], query: str, limit: int) -> tuple[list[str], list[list[str]]]:
    """Run a Select; returns (column names, rows of values) or raises QueryError."""
    m = _QUERY.match(query)
    if not m:
        raise QueryError("Invalid query - expected '<columns> from <table> [where ...]'")
    table = tables.get(m.group("table").upper())
    if table is None:
        raise QueryError(f"Table {m.group('table').upper()} does not exist")
    cols_text = m.group("cols").strip()
    counting = bool(_COUNT.match(cols_text))
    if counting:
        cols = ["COUNT"]
    elif cols_text == "*":
        cols = list(table.columns)
    else:
        cols = [c.strip().upper() for c in cols_text.split(",")]
        for c in cols:
            if c not in table.colset:
                raise QueryError(f"Field {c} does not exist in table {table.name}")
    groups = parse_where(m.group("where"), table) if m.group("where") else [[]]
    seen: set[int] = set()
    matched: list[dict[str, str]] = []
    for group in groups:
        candidates: list[dict[str, str]] | None = None
        for col, op, lit in group:
            if op == "=" and col in table.index:   # rows hold numbers without leading zeros
                key = lit[1:-1].rstrip() if lit.startswith("'") else lit
                candidates = table.index[col].get(key, [])
                break
        for row in table.rows if candidates is None else candidates:
            if id(row) in seen:
                continue
            if all(_compare(row.get(c, ""), op, lit) for c, op, lit in group):
                seen.add(id(row))
                matched.append(row)
    if counting:
        return cols, [[str(len(matched))]]
    if limit:
        matched = matched[:limit]
    return cols, [[row.get(c, "") for c in cols] for row in matched]
