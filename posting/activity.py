"""Read the Stripe objects a posting window needs from the warehouse mirror."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import orjson
import sqlalchemy as sa

from connectors.stripe import StripeApi
from domain.postings import StripeActivity, unit_prices
from domain.tax import invoices_by_charge
from warehouse.schema import (stripe_balance_transactions, stripe_charges, stripe_customers,
                              stripe_invoices, stripe_payouts, stripe_prices, stripe_products,
                              stripe_refunds)
from warehouse.stripe_sync import land_objects

_CHUNK = 500


def _raw(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else orjson.loads(value)


def _by_ids(conn: sa.Connection, table: sa.Table, ids: set[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    ordered = sorted(i for i in ids if i)
    for i in range(0, len(ordered), _CHUNK):
        rows = conn.execute(sa.select(table.c.id, table.c.raw)
                            .where(table.c.id.in_(ordered[i:i + _CHUNK])))
        out.update({rid: _raw(raw) for rid, raw in rows})
    return out


def _id(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


def _ts(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=timezone.utc)


# (mirror target, ids) -> the objects, fetched from Stripe (see ``stripe_fetcher``)
Fetch = Callable[[str, list[str]], list[dict[str, Any]]]


def stripe_fetcher(api: StripeApi) -> Fetch:
    """Retrieve objects by id through the Stripe API (for references outside the mirror)."""
    def fetch(target: str, ids: list[str]) -> list[dict[str, Any]]:
        return [api.get(f"/v1/{target}/{oid}") for oid in ids]
    return fetch


def _complete(engine: sa.Engine, found: dict[str, dict[str, Any]], wanted: set[str],
              target: str, fetch: Fetch | None) -> None:
    """Objects referenced but outside the mirror (created in another partition) are
    fetched from Stripe and landed in the mirror through the one sync path."""
    missing = sorted(i for i in wanted if i and i not in found)
    if not missing or fetch is None:
        return
    objects = fetch(target, missing)
    land_objects(engine, target, objects, time.time_ns() // 1000)
    found.update({o["id"]: o for o in objects})


def load_activity(engine: sa.Engine, gte: int | None, lt: int | None,
                  bt_ids: set[str] | None = None, fetch: Fetch | None = None) -> StripeActivity:
    """Balance transactions created in ``[gte, lt)`` (or exactly ``bt_ids``) and what they touch.

    With ``fetch``, charges, customers and payouts they reference that the mirror
    lacks are fetched from Stripe (and mirrored) instead of being reported missing.
    """
    bt = stripe_balance_transactions
    with engine.connect() as conn:
        if bt_ids is not None:
            bts = list(_by_ids(conn, bt, bt_ids).values())
        else:
            query = sa.select(bt.c.raw)
            if gte is not None:
                query = query.where(bt.c.created >= _ts(gte))
            if lt is not None:
                query = query.where(bt.c.created < _ts(lt))
            bts = [_raw(r) for (r,) in conn.execute(query)]
        sources = {b["source"]["id"] if isinstance(b.get("source"), dict) else b.get("source")
                   for b in bts}
        charge_ids = {s for s in sources if s and (s.startswith("ch_") or s.startswith("py_"))}
        payout_ids = {s for s in sources if s and s.startswith("po_")}
        refunds = _by_ids(conn, stripe_refunds, {s for s in sources
                                                 if s and s.startswith(("re_", "pyr_"))})
        refund_charges = {rid: _id(r.get("charge")) for rid, r in refunds.items()
                          if _id(r.get("charge"))}
        charge_ids |= set(refund_charges.values())      # for a refund's share of tax
        charges = _by_ids(conn, stripe_charges, charge_ids)
        _complete(engine, charges, charge_ids, "charges", fetch)
        customer_ids = {c["customer"]["id"] if isinstance(c.get("customer"), dict)
                        else c.get("customer") for c in charges.values()}
        customers = _by_ids(conn, stripe_customers, {c for c in customer_ids if c})
        _complete(engine, customers, {c for c in customer_ids if c}, "customers", fetch)
        # Customers sharing an e-mail with these are needed to pick the canonical one.
        emails = sorted({(c.get("email") or "").lower() for c in customers.values()} - {""})
        for i in range(0, len(emails), _CHUNK):
            rows = conn.execute(sa.select(stripe_customers.c.id, stripe_customers.c.raw).where(
                sa.func.lower(stripe_customers.c.email).in_(emails[i:i + _CHUNK])))
            customers.update({rid: _raw(raw) for rid, raw in rows})
        # The invoices these charges paid (their payments are expanded in the mirror): tax.
        invoices: list[dict[str, Any]] = []
        paying = sorted({c for c in customer_ids if c})
        for i in range(0, len(paying), _CHUNK):
            rows = conn.execute(sa.select(stripe_invoices.c.raw).where(
                stripe_invoices.c.customer_id.in_(paying[i:i + _CHUNK])))
            invoices.extend(_raw(raw) for (raw,) in rows)
        payouts = _by_ids(conn, stripe_payouts, payout_ids)
        _complete(engine, payouts, payout_ids, "payouts", fetch)
        products = [_raw(r) for (r,) in conn.execute(sa.select(stripe_products.c.raw))]
        prices = [_raw(r) for (r,) in conn.execute(sa.select(stripe_prices.c.raw))]
    return StripeActivity(balance_transactions=bts, charges=charges, customers=customers,
                          payouts=payouts, unit_prices=unit_prices(products, prices),
                          charge_invoices=invoices_by_charge(invoices, charges),
                          refund_charges=refund_charges, refunds=refunds)
