"""Looking M3 tables up through EXPORTMI ``Select`` (the product's natural keys live in
fields such as ``OCUSMA.OKYRE2``, ``OOHEAD.OACUOR``/``OAYREF`` and ``FGLEDG.EGVTXT``).

Each query is one ``Select`` transaction; many go in one bulk request.  EXPORTMI has
no quoting, so ids with other characters than ``SAFE`` cannot be looked up.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..base import ErpError
from .http import mi_error
from .values import SEP, quote

if TYPE_CHECKING:
    from .adapter import InforAdapter


def select(columns: Sequence[str], table: str, where: str = "") -> dict[str, Any]:
    query = f"{','.join(columns)} from {table}" + (f" where {where}" if where else "")
    return {"transaction": "Select", "record": {"QERY": query, "SEPC": SEP, "HDRS": "0"},
            "selectedColumns": ["REPL"]}


def rows_of(a: InforAdapter, item: dict[str, Any], columns: Sequence[str]) -> list[dict[str, str]]:
    """REPL lines of a Select as dicts (the last column may hold the separator)."""
    nok = mi_error(item)
    if nok is not None:
        raise ErpError(f"M3 EXPORTMI: {nok.message}", code=nok.code)
    rows = []
    for rec in item.get("records") or []:
        values = (rec.get("REPL") or "").split(SEP, len(columns) - 1)
        values += [""] * (len(columns) - len(values))
        rows.append({c: v.strip() for c, v in zip(columns, values)})
    return rows


def export(a: InforAdapter, queries: Sequence[tuple[Sequence[str], str, str]]) -> list[list[dict]]:
    """Run EXPORTMI Selects (columns, table, where) in one bulk; rows per query."""
    if not queries:
        return []
    results = a.api.bulk("EXPORTMI", [[select(c, t, w)] for c, t, w in queries])
    return [rows_of(a, r[0], q[0]) for r, q in zip(results, queries)]


def co(a: InforAdapter, prefix: str, division: bool = False) -> str:
    where = f"{prefix}CONO = {a.cono}"
    return where + (f" and {prefix}DIVI = {quote(a.divi)}" if division else "")
