"""A sandbox README's fidelity table, parsed: what each row names and its source.

A fidelity table is any Markdown table in the README with a column whose header starts
with "Source" (e.g. ``| Behaviour | Source |``).  Every other cell of a row names what the
row is about in backticks: programs, transactions, services, entity sets, methods,
tables, fields, endpoints (``Erp.BO.InvcGrpSvc/InvcGrps`` ``GroupID``, ``EXPORTMI/Select``
on ``FSLEDG`` ``ESCINO``...).  A request element not in the published lists is accepted
when one row names every part of it and gives a source (a public page, swagger, client
code, or *assumed* with the reason).

Names are read from backticked spans, split at ``/ , ; ( ) ? & = : [ ] { } | " '`` and
blanks; dotted names count whole and by their parts (``GLJrnDtlMnlRow.DocTransAmt``
names ``GLJrnDtlMnlRow`` and ``DocTransAmt``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_SPLIT = re.compile(r"[\s/,;()?&=:\[\]{}|\"'<>*]+")


@dataclass(frozen=True)
class FidelityRow:
    line: int
    names: frozenset[str]
    source: str
    text: str


def cells(line: str) -> list[str]:
    """A Markdown table row's cells; ``|`` inside backticks or escaped stays in its cell."""
    out, cur, in_code = [], [], False
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cur.append("|")
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def names_in(text: str) -> set[str]:
    found: set[str] = set()
    for span in re.findall(r"`([^`]+)`", text):
        for piece in _SPLIT.split(span):
            piece = piece.strip(".")
            if not piece:
                continue
            found.add(piece)
            if "." in piece:
                found.update(p for p in piece.split(".") if p)
    return found


def fidelity_rows(readme: Path) -> list[FidelityRow]:
    lines = readme.read_text().splitlines() if readme.exists() else []
    rows: list[FidelityRow] = []
    i = 0
    while i < len(lines):
        header = cells(lines[i]) if lines[i].lstrip().startswith("|") else []
        sep = lines[i + 1].strip() if i + 1 < len(lines) else ""
        source_col = next((n for n, h in enumerate(header)
                           if h.strip("* ").lower().startswith("source")), None)
        if source_col is None or not re.fullmatch(r"\|?[\s:|-]+\|?", sep or "x"):
            i += 1
            continue
        i += 2
        while i < len(lines) and lines[i].lstrip().startswith("|"):
            row = cells(lines[i])
            source = row[source_col] if source_col < len(row) else ""
            named = set().union(*(names_in(c) for n, c in enumerate(row) if n != source_col))
            rows.append(FidelityRow(i + 1, frozenset(named), source.strip(), lines[i].strip()))
            i += 1
    return rows


def covering(rows: list[FidelityRow], parts: tuple[frozenset[str], ...]) -> FidelityRow | None:
    """The first row with a source that names every part (each part: accepted spellings)."""
    for row in rows:
        if row.source.strip(" -—*_") and all(part & row.names for part in parts):
            return row
    return None
