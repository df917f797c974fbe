"""Request contracts: every request an adapter makes, checked against what is published.

Each ERP's checker turns recorded requests (``tests.support.erp_requests``) into
*elements*: an M3 program, transaction or field; an Epicor service, entity set, method,
row field or parameter; a TIMS endpoint, query parameter or body field.  An element is
either **listed** (found in the published lists: ``m3_transactions.txt``,
``epicor_fields.txt``; for TIMS our contract document ``sandbox/tims/CONTRACT.md``) or
**unlisted**.  For M3 and Epicor an unlisted element must be named by a row of the
sandbox README's fidelity table that gives its source (``fidelity.py``); for TIMS, whose
contract is ours, everything must be in the contract document.

    report = check("infor", recorder.requests)
    assert not report.uncovered, report.describe()
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..erp_requests import Recorded
from .fidelity import FidelityRow, covering, fidelity_rows

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Element:
    """One thing a request relies on; ``parts`` are its names, each with accepted spellings
    (the first is the canonical one), e.g. ``(("OIS100MI",), ("AddBatchHead",), ("CUNO",))``."""

    kind: str
    parts: tuple[tuple[str, ...], ...]

    def __str__(self) -> str:
        return f"{self.kind} {' / '.join(p[0] for p in self.parts)}"

    @property
    def spellings(self) -> tuple[frozenset[str], ...]:
        return tuple(frozenset(p) for p in self.parts)


@dataclass
class Findings:
    """What a checker found: counts of listed elements, unlisted elements with an example."""

    listed: int = 0
    unlisted: dict[Element, str] = field(default_factory=dict)

    def ok(self, n: int = 1) -> None:
        self.listed += n

    def unknown(self, element: Element, request: Recorded | str) -> None:
        self.unlisted.setdefault(element, str(request))


@dataclass
class Report:
    kind: str
    requests: int
    listed: int
    covered: dict[Element, FidelityRow]
    uncovered: dict[Element, str]          # element -> an example request using it

    def describe(self, limit: int = 40) -> str:
        lines = [f"{self.kind}: {len(self.uncovered)} element(s) neither in the published "
                 f"lists nor in the fidelity table (of {self.requests} requests):"]
        lines += [f"  {el}    e.g. {req[:160]}" for el, req in
                  sorted(self.uncovered.items(), key=lambda kv: str(kv[0]))[:limit]]
        return "\n".join(lines)


def readme(kind: str) -> Path:
    return REPO / "sandbox" / kind / "README.md"


def has_fidelity_table(kind: str) -> bool:
    return bool(fidelity_rows(readme(kind)))


def check(kind: str, requests: Sequence[Recorded], rows: Iterable[FidelityRow] | None = None
          ) -> Report:
    from . import epicor, m3, tims
    checker = {"infor": m3.elements, "epicor": epicor.elements, "tims": tims.elements}[kind]
    found = checker(requests)
    table = list(rows) if rows is not None else (
        [] if kind == "tims" else fidelity_rows(readme(kind)))
    covered: dict[Element, FidelityRow] = {}
    uncovered: dict[Element, str] = {}
    for element, example in found.unlisted.items():
        row = covering(table, element.spellings)
        if row is None:
            uncovered[element] = example
        else:
            covered[element] = row
    return Report(kind, len(requests), found.listed, covered, uncovered)
