"""Read the Stripe objects a posting window needs from the warehouse mirror."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
import sqlalchemy as sa

from domain.postings import StripeActivity, unit_prices
from warehouse.schema import (stripe_balance_transactions, stripe_charges, stripe_customers,
                              stripe_payouts, stripe_prices, stripe_products)

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


def _ts(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=timezone.utc)


def load_activity(engine: sa.Engine, gte: int | None, lt: int | None,
                  bt_ids: set[str] | None = None) -> StripeActivity:
    """Balance transactions created in ``[gte, lt)`` (or exactly ``bt_ids``) and what they touch."""
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
        charges = _by_ids(conn, stripe_charges, charge_ids)
        customer_ids = {c["customer"]["id"] if isinstance(c.get("customer"), dict)
                        else c.get("customer") for c in charges.values()}
        customers = _by_ids(conn, stripe_customers, {c for c in customer_ids if c})
        # Customers sharing an e-mail with these are needed to pick the canonical one.
        emails = sorted({(c.get("email") or "").lower() for c in customers.values()} - {""})
        for i in range(0, len(emails), _CHUNK):
            rows = conn.execute(sa.select(stripe_customers.c.id, stripe_customers.c.raw).where(
                sa.func.lower(stripe_customers.c.email).in_(emails[i:i + _CHUNK])))
            customers.update({rid: _raw(raw) for rid, raw in rows})
        payouts = _by_ids(conn, stripe_payouts, payout_ids)
        products = [_raw(r) for (r,) in conn.execute(sa.select(stripe_products.c.raw))]
        prices = [_raw(r) for (r,) in conn.execute(sa.select(stripe_prices.c.raw))]
    return StripeActivity(balance_transactions=bts, charges=charges, customers=customers,
                          payouts=payouts, unit_prices=unit_prices(products, prices))
