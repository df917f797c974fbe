"""The published API lists the request contracts are checked against, parsed.

* ``m3_transactions.txt``: per M3 MI program its transactions, and for the transactions the
  file details, their input and output fields; plus the query parameters every transaction
  takes (``cono``, ``divi``, ``maxrecs``, ...).
* ``epicor_fields.txt``: per Epicor tableset row (``CustomerRow``, ``InvcHeadRow``, ...)
  its fields.

Both files are the team's research material (``tests/erp/reference/README.md``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "erp" / "reference"
M3_FILE = REFERENCE / "m3_transactions.txt"
EPICOR_FILE = REFERENCE / "epicor_fields.txt"

_M3_FIELD = re.compile(r"(?:^|,\s)([A-Z0-9]{2,6})\*?=")


@dataclass(frozen=True)
class M3Transaction:
    name: str
    inputs: frozenset[str]
    outputs: frozenset[str]
    detailed: bool          # False: only named in the program's TRANSACTIONS list


@dataclass(frozen=True)
class M3Reference:
    programs: dict[str, dict[str, M3Transaction]]
    common_params: frozenset[str]


@cache
def m3_reference(path: Path = M3_FILE) -> M3Reference:
    programs: dict[str, dict[str, M3Transaction]] = {}
    common: set[str] = set()
    program = current = None
    ins: dict[str, frozenset[str]] = {}
    outs: dict[str, frozenset[str]] = {}
    section = ""
    for line in path.read_text().splitlines():
        if line.startswith("===== "):
            section = line
            m = re.match(r"===== ([A-Z0-9]+MI) - ", line)
            program = m.group(1) if m else None
            if program:
                programs[program] = {}
            current = None
        elif section.startswith("===== Common query params") and re.match(r"\s+\w+ - ", line):
            common.add(line.split(" - ")[0].strip())
        elif program and line.startswith("TRANSACTIONS:"):
            for name in line.split(":", 1)[1].split():
                programs[program][name] = M3Transaction(name, frozenset(), frozenset(), False)
        elif program and line.startswith("-- "):
            current = line[3:].split(" : ")[0].strip()
        elif program and current and line.strip().startswith(("IN :", "OUT:")):
            fields = frozenset(_M3_FIELD.findall(line.split(":", 1)[1].strip()))
            (ins if line.strip().startswith("IN") else outs)[f"{program}/{current}"] = fields
    for program, transactions in programs.items():
        for name in list(transactions):
            key = f"{program}/{name}"
            if key in ins or key in outs:
                transactions[name] = M3Transaction(name, ins.get(key, frozenset()),
                                                   outs.get(key, frozenset()), True)
    return M3Reference(programs, frozenset(common))


@cache
def epicor_rows(path: Path = EPICOR_FILE) -> dict[str, frozenset[str]]:
    """Row name (``CustomerRow``) -> its field names."""
    rows: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            current = rows.setdefault(line[3:].strip(), set())
        elif current is not None and line.strip():
            current.update(tok.split(":")[0] for tok in line.split() if ":" in tok)
    return {name: frozenset(fields) for name, fields in rows.items()}
