"""Compare the warehouse's Stripe mirror with the sandbox's ground truth."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

DAY = 86400

# mirror table -> (sandbox object, {truth field: SQL expression})
CHECKS: dict[str, tuple[str, dict[str, str]]] = {
    "stripe_customers": ("customer", {}),
    "stripe_products": ("product", {}),
    "stripe_prices": ("price", {}),
    "stripe_subscriptions": ("subscription", {}),
    "stripe_charges": ("charge", {"amount": "SUM(amount)", "amount_refunded": "SUM(amount_refunded)"}),
    "stripe_refunds": ("refund", {"amount": "SUM(amount)"}),
    "stripe_disputes": ("dispute", {"amount": "SUM(amount)"}),
    "stripe_payouts": ("payout", {"amount": "SUM(amount)"}),
    "stripe_balance_transactions": ("balance_transaction",
                                    {"amount": "SUM(amount)", "fee": "SUM(fee)", "net": "SUM(net)"}),
    "stripe_invoices": ("invoice", {"total": "SUM(total)", "amount_paid": "SUM(amount_paid)"}),
}


def recent_window(clock: int, days: int, gap_days: int = 2) -> tuple[int, int]:
    """``days`` whole UTC days ending ``gap_days`` before the sandbox clock's day."""
    lt = (clock // DAY - gap_days) * DAY
    return lt - days * DAY, lt


def warehouse_summary(engine: sa.Engine, gte: int, lt: int) -> dict[str, dict[str, Any]]:
    """Count, sums and ids per mirror table for rows created in ``[gte, lt)``."""
    from datetime import datetime, timezone
    lo = datetime.fromtimestamp(gte, tz=timezone.utc)
    hi = datetime.fromtimestamp(lt, tz=timezone.utc)
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for table, (_, sums) in CHECKS.items():
            t = sa.table(table, sa.column("id"), sa.column("created"))
            ids = sorted(conn.execute(sa.select(t.c.id).where(t.c.created >= lo, t.c.created < hi))
                         .scalars())
            entry: dict[str, Any] = {"count": len(ids), "ids": ids}
            for name, expr in sums.items():
                entry[name] = conn.execute(sa.text(
                    f"SELECT COALESCE({expr}, 0) FROM {table} WHERE created >= :lo AND created < :hi"),
                    {"lo": lo, "hi": hi}).scalar()
            out[table] = entry
        lines = sa.text("SELECT COUNT(*) FROM stripe_invoice_lines l JOIN stripe_invoices i "
                        "ON i.id = l.invoice_id WHERE i.created >= :lo AND i.created < :hi")
        out["stripe_invoices"]["lines"] = conn.execute(lines, {"lo": lo, "hi": hi}).scalar()
    return out


def truth_summary(truth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The sandbox's ground truth reshaped like :func:`warehouse_summary`."""
    out = {}
    for table, (obj, sums) in CHECKS.items():
        t = truth["objects"][obj]
        entry = {"count": t["count"], "ids": t["ids"], **{k: t[k] for k in sums}}
        if table == "stripe_invoices":
            entry["lines"] = t["lines"]
        out[table] = entry
    return out


def dump_tables(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every mirror table, for before/after comparisons."""
    from warehouse.schema import MIRROR_TABLES
    with engine.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(sa.select(t).order_by(t.c.id))]
                for name, t in MIRROR_TABLES.items()}
