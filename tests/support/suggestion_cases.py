"""Injected unknown SKUs and customers, derived from the sandboxes' real catalogue.

The ERP side is what the TIMS sandbox seeds (items SKU-01000..SKU-01099, SUB-001..SUB-010,
MISC), with the Stripe sandbox's product names as the ERP item descriptions (as an ERP
administrator names them); customers are made the way the Stripe sandbox makes them (its
first and last names, ``first.lastN@domain``).  Each case hides the true code behind what
people do to codes and names: case, separators, leading zeros, O for 0, a doubled
keystroke, a variant suffix, typos, reordered words, abbreviations, e-mail +tags.  Used by
bench/bench_suggestions.py (figures) and tests/workbench/test_suggestions.py (a fixed seed).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from domain.suggestions import ErpCustomer, ErpItem, MappedProduct
from sandbox.stripe.history_data import CATALOG, DOMAINS, FIRST, LAST, PLANS


@dataclass(frozen=True)
class Case:
    kind: str            # "item" | "customer"
    truth: str           # the ERP code that is right
    code: str = ""       # the unknown SKU as the dead letter carries it
    name: str = ""       # the Stripe product's or customer's name, when known
    email: str = ""


def erp_items() -> tuple[list[ErpItem], list[MappedProduct]]:
    """The ERP's items, and the Stripe products mapped to them (the generator's catalogue)."""
    named = {f"SKU-{1000 + i:05d}": name for i, (name, _) in enumerate(CATALOG) if i % 8 != 7}
    named.update({f"SUB-{i + 1:03d}": f"Trail Club {name}" for i, (name, *_) in enumerate(PLANS)})
    items = [ErpItem(f"SKU-{n:05d}", named.get(f"SKU-{n:05d}", f"Item SKU-{n:05d}"))
             for n in range(1000, 1100)]
    items += [ErpItem(f"SUB-{n:03d}", named.get(f"SUB-{n:03d}", "Subscription plan"))
              for n in range(1, 11)]
    items.append(ErpItem("MISC", "Miscellaneous charge"))
    mapped = [MappedProduct(name, f"{name} - outdoor gear", sku) for sku, name in named.items()]
    return items, mapped


def erp_customers(n: int = 400, seed: int = 7) -> list[ErpCustomer]:
    rng = random.Random(seed)
    out = []
    for i in range(1, n + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        out.append(ErpCustomer(f"C{i:06d}", f"{first} {last}",
                               f"{first.lower()}.{last.lower()}{i}@{rng.choice(DOMAINS)}"))
    return out


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    how = rng.choice(("drop", "swap", "double", "replace"))
    if how == "drop":
        return word[:i] + word[i + 1:]
    if how == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if how == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeiou") + word[i + 1:]


def _abbreviate(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    if rng.random() < 0.5:
        return word[:3]
    return word[0] + "".join(c for c in word[1:] if c.lower() not in "aeiou")  # "Trl", "Rnnng"


def vary_name(name: str, rng: random.Random) -> str:
    ws = name.split()
    how = rng.choice(("typo", "case", "reorder", "abbreviate", "typo+reorder"))
    if "typo" in how:
        k = rng.randrange(len(ws))
        ws[k] = _typo(ws[k], rng)
    if "reorder" in how and len(ws) > 1:
        ws = ws[1:] + ws[:1] if rng.random() < 0.5 else list(reversed(ws))
        if len(ws) == 2 and rng.random() < 0.5:
            ws[0] += ","
    if how == "abbreviate":
        ws = [_abbreviate(w, rng) for w in ws]
    out = " ".join(ws)
    return out.upper() if how == "case" and rng.random() < 0.5 else (
        out.lower() if how == "case" else out)


def vary_sku(sku: str, rng: random.Random) -> str:
    prefix, _, number = sku.partition("-")
    how = rng.choice(("case", "separator", "zeros", "o-for-zero", "double", "suffix"))
    if how == "case":
        return sku.lower() if rng.random() < 0.5 else sku.capitalize()
    if how == "separator":
        return prefix + rng.choice(("_", " ", "", ".", "/")) + number
    if how == "zeros":
        return f"{prefix}-{number.lstrip('0')}"
    if how == "o-for-zero" and "0" in number:
        return f"{prefix}-{number.replace('0', 'O', 1)}"
    if how == "double":
        i = rng.randrange(len(number))
        return f"{prefix}-{number[:i]}{number[i]}{number[i:]}"
    return f"{sku}-{rng.choice(('BLK', 'XL', 'V2', 'EU', 'NEW'))}"


def vary_email(email: str, rng: random.Random) -> str:
    local, _, domain = email.partition("@")
    how = rng.choice(("case", "tag", "dots", "same", "typo"))
    if how == "case":
        return email.title()
    if how == "tag":
        return f"{local}+shop@{domain}"
    if how == "dots":
        return f"{local.replace('.', '')}@{domain}"
    if how == "typo":
        first, _, rest = local.partition(".")
        return f"{_typo(first, rng)}.{rest}@{domain}"
    return email


def cases(n: int = 200, seed: int = 16) -> list[Case]:
    """``n`` cases, half unknown SKUs and half unknown customers."""
    rng = random.Random(seed)
    items, mapped = erp_items()
    names = {m.item: m.name for m in mapped}
    customers = erp_customers()
    out: list[Case] = []
    for _ in range(n // 2):
        item = rng.choice(items[:-1])  # MISC is the default item, never a SKU's answer
        name = vary_name(names[item.sku], rng) if item.sku in names and rng.random() < 0.7 \
            else ""
        out.append(Case("item", item.sku, code=vary_sku(item.sku, rng), name=name))
    for _ in range(n - n // 2):
        c = rng.choice(customers)
        out.append(Case("customer", c.code, name=vary_name(c.name, rng),
                        email=vary_email(c.email, rng)))
    return out
