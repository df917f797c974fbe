"""What the suggestions compare against: the ERP's items and customers (read through the
ERP's own API), and the Stripe products and customers in the warehouse mirror.

A dead letter needs a suggestion when its document names an item or customer the ERP does
not hold: the SKUs of a sales order's or invoice's lines, an inventory adjustment's SKU, a
document's customer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from connectors.erp import ErpAdapter
from domain.erp import DocKind
from domain.mapping import Mapping
from domain.suggestions import (CustomerSuggester, ErpCustomer, ErpItem, ItemSuggester,
                                MappedProduct, Suggestion)
from warehouse.schema import stripe_customers, stripe_products


def erp_items(adapter: ErpAdapter) -> list[ErpItem]:
    """Every item the ERP holds, with its description (TIMS inventory items, Epicor parts)."""
    if adapter.erp == "tims":
        rows = adapter.lookups.every_page("/inventory/items")  # type: ignore[attr-defined]
        return [ErpItem(r["sku"], r.get("description") or "") for r in rows]
    if adapter.erp == "epicor":
        rows = adapter.api.query(  # type: ignore[attr-defined]
            "Erp.BO.PartSvc/Parts", None, "PartNum,PartDescription")
        return [ErpItem(r["PartNum"], r.get("PartDescription") or "") for r in rows]
    raise NotImplementedError(f"reading the item list of {adapter.erp} is not supported yet")


def erp_customers(adapter: ErpAdapter) -> list[ErpCustomer]:
    return [ErpCustomer(r.doc.external_id, getattr(r.doc, "name", ""),
                        getattr(r.doc, "email", None) or "")
            for r in adapter.read(DocKind.CUSTOMER)]


def _raw(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else orjson.loads(value)


def stripe_products_by_sku(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        products = [_raw(r) for (r,) in conn.execute(sa.select(stripe_products.c.raw))]
    return {p["metadata"]["sku"]: p for p in products if (p.get("metadata") or {}).get("sku")}


def mapped_products(products: dict[str, dict[str, Any]], mapping: Mapping,
                    known: set[str]) -> list[MappedProduct]:
    """Stripe products whose SKU maps to an item the ERP holds: the mapping's history."""
    out = []
    for sku, p in products.items():
        item = mapping.items.item_for(sku, p.get("id"))
        if item in known:
            out.append(MappedProduct(p.get("name") or "", p.get("description") or "", item))
    return out


@dataclass
class Fix:
    """What a dead letter needs, and the ranked candidates for it."""

    what: str                 # "sku" | "customer"
    unknown: str              # the SKU or customer id the ERP does not hold
    hint: str = ""            # the Stripe product's or customer's name, when known
    candidates: list[Suggestion] = field(default_factory=list)


def _skus(letter: dict[str, Any]) -> list[str]:
    payload = letter.get("payload") or {}
    if isinstance(payload, str):
        payload = orjson.loads(payload)
    skus = [line.get("sku") for line in payload.get("lines") or [] if isinstance(line, dict)]
    if payload.get("sku"):
        skus.append(payload["sku"])
    return [s for s in dict.fromkeys(skus) if s]


def _customer(letter: dict[str, Any]) -> str | None:
    payload = letter.get("payload") or {}
    if isinstance(payload, str):
        payload = orjson.loads(payload)
    return payload.get("customer") if isinstance(payload.get("customer"), str) else None


class Advisor:
    """Suggested fixes for dead letters, from one read of the ERP's catalogue."""

    def __init__(self, adapter: ErpAdapter, engine: sa.Engine, mapping: Mapping) -> None:
        self.engine = engine
        try:
            self.items = erp_items(adapter)
        except NotImplementedError:
            self.items = []
        self.customers = erp_customers(adapter)
        self.products = stripe_products_by_sku(engine)
        known = {i.sku for i in self.items}
        self.known_items, self.known_customers = known, {c.code for c in self.customers}
        self.by_item = ItemSuggester(self.items, mapped_products(self.products, mapping, known))
        self.by_customer = CustomerSuggester(self.customers)

    def fixes(self, letter: dict[str, Any]) -> list[Fix]:
        out = []
        if self.items:
            for sku in _skus(letter):
                if sku not in self.known_items:
                    product = self.products.get(sku) or {}
                    name = product.get("name") or ""
                    out.append(Fix("sku", sku, name,
                                   self.by_item.suggest(sku, name=name,
                                                        description=product.get("description")
                                                        or "")))
        cid = _customer(letter)
        if cid and cid not in self.known_customers and "ustomer" in letter["error_message"]:
            cus = self._stripe_customer(cid)
            out.append(Fix("customer", cid, cus.get("name") or "",
                           self.by_customer.suggest(name=cus.get("name") or "",
                                                    email=cus.get("email") or "")))
        return out

    def _stripe_customer(self, cid: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            raw = conn.execute(sa.select(stripe_customers.c.raw)
                               .where(stripe_customers.c.id == cid)).scalar()
        return _raw(raw) if raw is not None else {}
