"""Mapping suggestions for an unknown SKU or customer: ranked candidates from the ERP.

Local and explainable: text similarity (rapidfuzz) of codes, names, descriptions and e-mail
addresses, no outside service and no learned weights.

Items.  A dead letter's unknown SKU (``SKU_1042``, ``sku-01042``, ``SKU-O1042``) is compared
with every ERP item two ways, and each candidate keeps the better-supported evidence:

* the code: case, separators, leading zeros and the letter/digit look-alikes O/0, I/1 are
  folded before an edit-distance ratio, so ``sku 1042`` is ``SKU-01042`` exactly;
* the name: the Stripe product carrying that SKU (its name and description, when the mirror
  has it) against each ERP item's description, and against the names of Stripe products whose
  SKU already maps to an item ("what similar Stripe products were mapped to").  Names are
  compared word by word, in any order, with abbreviations (``Trl Rnng Shs``) and typos.

Customers.  An unknown customer (the Stripe customer's name and e-mail) against the ERP's
customers: e-mail address (case, dots and +tags folded) and name, word by word.

Pure functions: no I/O, no Dagster.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

_WORD = re.compile(r"[0-9a-z]+")
_LOOKALIKE = str.maketrans({"O": "0", "I": "1", "L": "1"})


@dataclass(frozen=True)
class ErpItem:
    sku: str
    description: str = ""


@dataclass(frozen=True)
class MappedProduct:
    """A Stripe product whose SKU maps to an ERP item (the mapping's history)."""

    name: str
    description: str
    item: str


@dataclass(frozen=True)
class ErpCustomer:
    code: str
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class Suggestion:
    code: str        # the ERP item or customer to map to
    label: str       # its description or name, for the page
    score: float     # 0..1, higher is better
    why: str         # the evidence, in words


# ------------------------------------------------------------------------------ text
def fold_code(code: str) -> str:
    """A SKU folded for comparison: case and separators dropped, O/I/L read as 0/1 where a
    number is expected, leading zeros of the number dropped (``sku_O1042`` -> ``SKU1042``)."""
    text = re.sub(r"[^0-9A-Z]", "", code.upper())
    match = re.match(r"([A-Z]*?)([0-9OIL]*[0-9][0-9OIL]*)(.*)", text)
    if not match:
        return text
    prefix, number, rest = match.groups()
    return prefix + (number.translate(_LOOKALIKE).lstrip("0") or "0") + rest


def code_similarity(a: str, b: str) -> float:
    fa, fb = fold_code(a), fold_code(b)
    if not fa or not fb:
        return 0.0
    if fa == fb:
        return 1.0
    if _core(fa) == _core(fb):
        return 0.97                                  # a variant suffix: SKU-01042-BLK
    if _doubled(fa, fb) or _doubled(fb, fa):
        return 0.96                                  # a doubled keystroke: SKU-010442
    return 0.95 * Levenshtein.normalized_similarity(fa, fb)


def _core(folded: str) -> str:
    """The letters and number of a folded code, without what follows the number."""
    match = re.match(r"[A-Z]*[0-9]+", folded)
    return match.group(0) if match else folded


def _doubled(longer: str, shorter: str) -> bool:
    return len(longer) == len(shorter) + 1 and any(
        longer[i] == longer[i - 1] and longer[:i] + longer[i + 1:] == shorter
        for i in range(1, len(longer)))


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _word_similarity(q: str, t: str) -> float:
    if q == t:
        return 1.0
    if q[0] != t[0]:
        return fuzz.ratio(q, t) / 100 * 0.8
    if len(q) >= 2 and t.startswith(q):
        return 0.92                                  # "ins" for "insulated"
    if len(q) >= 2 and _subsequence(q, t):
        return 0.88                                  # "trl" for "trail"
    return fuzz.ratio(q, t) / 100


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _one_way(query: Sequence[str], target: Sequence[str]) -> float:
    return sum(max(_word_similarity(q, t) for t in target) for q in query) / len(query)


def name_similarity(a: str, b: str) -> float:
    """Word-by-word similarity in any order (0..1): each word's best partner both ways."""
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return 0.0
    return (_one_way(wa, wb) + _one_way(wb, wa)) / 2


def fold_email(email: str) -> str:
    local, _, domain = email.strip().lower().partition("@")
    return local.split("+", 1)[0].replace(".", "") + "@" + domain


def email_similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    fa, fb = fold_email(a), fold_email(b)
    if fa == fb:
        return 1.0
    (la, _, da), (lb, _, db) = fa.partition("@"), fb.partition("@")
    digits_a, digits_b = re.sub(r"\D", "", la), re.sub(r"\D", "", lb)
    if digits_a != digits_b:  # the number in an address tells namesakes apart
        return 0.6 * fuzz.ratio(la, lb) / 100
    return 0.85 * fuzz.ratio(la, lb) / 100 + 0.1 * (da == db)


# ------------------------------------------------------------------------------ items
class ItemSuggester:
    """Ranks ERP items for an unknown SKU (see the module docstring)."""

    def __init__(self, items: Iterable[ErpItem], mapped: Iterable[MappedProduct] = ()) -> None:
        self.items = {i.sku: i for i in items}
        self.folded = {sku: fold_code(sku) for sku in self.items}
        self.mapped = [m for m in mapped if m.item in self.items]

    def suggest(self, sku: str, name: str = "", description: str = "",
                limit: int = 3) -> list[Suggestion]:
        folded = fold_code(sku)
        shortlist = {s for s, f in self.folded.items() if f == folded}
        shortlist.update(key for _, _, key in process.extract(
            folded, self.folded, scorer=Levenshtein.normalized_similarity, limit=10))
        by_name: dict[str, tuple[float, str]] = {}
        if name:
            for item in self.items.values():
                if item.description:
                    self._keep(by_name, item.sku, name_similarity(name, item.description),
                               f"name matches the ERP description {item.description!r}")
            for m in self.mapped:
                self._keep(by_name, m.item, name_similarity(name, m.name),
                           f"Stripe product {m.name!r} maps to it")
            shortlist.update(s for s, _ in sorted(by_name.items(), key=lambda kv: -kv[1][0])[:10])
        ranked = []
        for s in shortlist:
            code = code_similarity(sku, s)
            named, why_name = by_name.get(s, (0.0, ""))
            score = code if not name else 0.5 * code + 0.5 * named
            why = f"SKU {s} is {code:.0%} like {sku}"
            if named:
                why += f"; {why_name} ({named:.0%})"
            ranked.append(Suggestion(s, self.items[s].description, round(score, 4), why))
        ranked.sort(key=lambda c: (-c.score, c.code))
        return ranked[:limit]

    @staticmethod
    def _keep(best: dict[str, tuple[float, str]], item: str, score: float, why: str) -> None:
        if score > best.get(item, (-1.0, ""))[0]:
            best[item] = (score, why)


# ------------------------------------------------------------------------------ customers
class CustomerSuggester:
    """Ranks ERP customers for an unknown one by e-mail address and name."""

    def __init__(self, customers: Iterable[ErpCustomer]) -> None:
        self.customers = list(customers)

    def suggest(self, name: str = "", email: str = "", limit: int = 3) -> list[Suggestion]:
        ranked = []
        for c in self.customers:
            by_mail = email_similarity(email, c.email)
            by_name = name_similarity(name, c.name) if name else 0.0
            weight = 0.6 if email and c.email else 0.0
            score = weight * by_mail + (1 - weight) * by_name
            ranked.append(Suggestion(c.code, c.name, round(score, 4),
                                     f"e-mail {by_mail:.0%} alike, name {by_name:.0%} alike"))
        ranked.sort(key=lambda c: (-c.score, c.code))
        return ranked[:limit]
