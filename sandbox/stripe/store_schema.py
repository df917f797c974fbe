"""What is stored next to each object: the SQLite schema and its indexed columns.

``ROW_COLUMNS[object]`` names the indexed columns an object type fills (after
``id``, ``object``, ``created``; the rendered JSON is bound last) and
``ROW[object](obj)`` extracts their values from the object.  Lists filter and
sort on these columns, so pages never parse JSON.  Modules that add object
types register their row builders in ``ROW`` (``connect.py``,
``invoicing.py``); the columns themselves live here because the bulk writer
process imports only this module and :mod:`.store`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

COLUMNS = (
    "id",
    "object",
    "created",
    "data",
    "customer",
    "charge",
    "payment_intent",
    "source",
    "type",
    "status",
    "currency",
    "invoice",
    "subscription",
    "product",
    "email",
    "active",
    "delivery_success",
    "amount",
    "fee",
    "net",
    "amount2",
    "available_on",
    "arrival_date",
    "due_date",
    "lines",
    "deleted",
    "destination",
)
# Columns each object type fills (after id, object, created; data last); see ROW below.
ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    "balance_transaction": ("source", "type", "status", "amount", "fee", "net", "available_on",
                            "currency"),
    "charge": ("customer", "payment_intent", "currency", "amount", "amount2"),
    "payment_intent": ("customer", "currency", "amount", "amount2"),
    "customer": ("email", "currency", "deleted"),
    "product": ("active", "type", "deleted"),
    "price": ("product", "active", "currency", "type", "amount"),
    "refund": ("charge", "payment_intent", "status", "currency", "amount"),
    "dispute": ("charge", "payment_intent", "status", "currency", "amount"),
    "payout": ("status", "currency", "amount", "arrival_date", "destination"),
    "subscription": ("customer", "status", "currency", "type"),
    "subscription_item": ("subscription", "product"),
    "invoice": (
        "customer",
        "status",
        "currency",
        "subscription",
        "amount",
        "amount2",
        "due_date",
        "lines",
        "type",
        "deleted",
    ),
    "line_item": ("invoice", "subscription", "amount", "currency"),
    "invoice_payment": ("invoice", "status", "payment_intent", "amount", "currency"),
    "webhook_endpoint": ("status", "deleted"),
    # --profile accrual objects (rows built in connect.py and invoicing.py)
    "account": ("email",),
    "tax_rate": ("active", "type"),
    "transfer": ("destination", "currency", "amount"),
    "transfer_reversal": ("source", "currency", "amount"),
    "application_fee": ("charge", "currency", "amount"),
    "fee_refund": ("source", "currency", "amount"),
    "topup": ("status", "currency", "amount"),
    "reserve_transaction": ("currency", "amount"),
    # subscription businesses (rows built in prorations.py, coupons.py, credit_notes.py)
    "invoiceitem": ("customer", "subscription", "invoice", "currency", "amount"),
    "coupon": ("currency", "deleted"),
    "discount": ("customer", "subscription"),
    "credit_note": ("customer", "invoice", "status", "currency", "amount"),
    "customer_balance_transaction": ("customer", "type", "currency", "amount"),
}
# Columns usable as equality filters in ``Store.list``.
FILTERABLE = frozenset(COLUMNS[4:17]) | {"destination"}
RANGEABLE = frozenset({"arrival_date", "due_date", "available_on", "amount"})
EVENT_RETENTION = 30 * 86_400
# Objects whose deletion leaves a ``{"deleted": true}`` stub that lists skip.
DELETABLE = frozenset({"customer", "product", "webhook_endpoint", "invoice", "coupon"})

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL, object TEXT NOT NULL, created INTEGER NOT NULL,
    data BLOB NOT NULL, {", ".join(c for c in COLUMNS[4:])});
CREATE UNIQUE INDEX IF NOT EXISTS ix_id ON objects(id);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL, created INTEGER NOT NULL, type TEXT NOT NULL,
    delivery_success INTEGER, data BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS ix_event_id ON events(id);
CREATE INDEX IF NOT EXISTS ix_event_type ON events(type, created);
CREATE INDEX IF NOT EXISTS ix_event_created ON events(created);
CREATE TABLE IF NOT EXISTS bt_payout (bt TEXT PRIMARY KEY, payout TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS unswept (bt TEXT PRIMARY KEY, available_on INTEGER, net INTEGER,
    currency TEXT NOT NULL DEFAULT 'usd');
CREATE TABLE IF NOT EXISTS jobs (due INTEGER, kind TEXT, ref TEXT, PRIMARY KEY (kind, ref));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);
"""
# Partial indexes skip the NULLs most rows have in a given reference column
# (an event has no customer), which keeps bulk inserts cheap; ``col = ?``
# implies ``col IS NOT NULL`` so the planner still uses them.
SECONDARY = {
    "ix_object": "objects(object, created)",
    "ix_customer": "objects(customer, object, created) WHERE customer IS NOT NULL",
    "ix_charge": "objects(charge, object) WHERE charge IS NOT NULL",
    "ix_pi": "objects(payment_intent, object) WHERE payment_intent IS NOT NULL",
    "ix_source": "objects(source) WHERE source IS NOT NULL",
    "ix_invoice": "objects(invoice, object) WHERE invoice IS NOT NULL",
    "ix_subscription": "objects(subscription, object) WHERE subscription IS NOT NULL",
    "ix_product": "objects(product, object) WHERE product IS NOT NULL",
    "ix_type": "objects(object, type, created) WHERE type IS NOT NULL",
    "ix_status": "objects(object, status, created) WHERE status IS NOT NULL",
    "ix_bt_payout": "bt_payout(payout)",
}


def insert_sql(object: str) -> str:
    """Upsert of one object type, binding only the columns that type uses."""
    cols = ("id", "created") + ROW_COLUMNS[object] + ("data",)
    return (
        f"INSERT INTO objects (object, {', '.join(cols)}) "
        f"VALUES ('{object}', {', '.join('?' * len(cols))}) "
        f"ON CONFLICT(id) DO UPDATE SET " + ", ".join(f"{c}=excluded.{c}" for c in cols[2:])
    )


INSERT = {object: insert_sql(object) for object in ROW_COLUMNS}


# ``ROW[object](obj)`` -> (id, created, *values of store.ROW_COLUMNS[object]); the
# rendered JSON travels separately and is bound last (see ``store.insert_sql``),
# so bulk loads can ship it to the writer without re-serialising it.
# Only the columns an object type uses are bound: binding dozens of NULLs per
# row measurably slows bulk loads.
Row = tuple[Any, ...]


def _deleted_flag(o: dict) -> int | None:
    return 1 if o.get("deleted") else None


def _invoice_subscription(o: dict) -> str | None:
    parent = o["parent"]
    return (
        parent["subscription_details"]["subscription"]
        if parent and parent.get("subscription_details")
        else None
    )


ROW: dict[str, Callable[[dict[str, Any]], Row]] = {
    "balance_transaction": lambda o: (
        o["id"],
        o["created"],
        o["source"],
        o["type"],
        o["status"],
        o["amount"],
        o["fee"],
        o["net"],
        o["available_on"],
        o["currency"],
    ),
    "charge": lambda o: (
        o["id"],
        o["created"],
        o["customer"],
        o["payment_intent"],
        o["currency"],
        o["amount"],
        o["amount_refunded"],
    ),
    "payment_intent": lambda o: (
        o["id"],
        o["created"],
        o["customer"],
        o["currency"],
        o["amount"],
        o["amount_received"],
    ),
    "customer": lambda o: (
        o["id"],
        o.get("created", 0),
        o.get("email"),
        o.get("currency"),
        _deleted_flag(o),
    ),
    "product": lambda o: (
        o["id"],
        o.get("created", 0),
        o.get("active"),
        o.get("type"),
        _deleted_flag(o),
    ),
    "price": lambda o: (
        o["id"],
        o["created"],
        o["product"],
        o["active"],
        o["currency"],
        o["type"],
        o["unit_amount"],
    ),
    "refund": lambda o: (
        o["id"],
        o["created"],
        o["charge"],
        o["payment_intent"],
        o["status"],
        o["currency"],
        o["amount"],
    ),
    "dispute": lambda o: (
        o["id"],
        o["created"],
        o["charge"],
        o["payment_intent"],
        o["status"],
        o["currency"],
        o["amount"],
    ),
    "payout": lambda o: (
        o["id"],
        o["created"],
        o["status"],
        o["currency"],
        o["amount"],
        o["arrival_date"],
        o["destination"],
    ),
    "subscription": lambda o: (
        o["id"],
        o["created"],
        o["customer"],
        o["status"],
        o["currency"],
        o["collection_method"],
    ),
    "subscription_item": lambda o: (
        o["id"],
        o["created"],
        o["subscription"],
        o["price"]["product"],
    ),
    "invoice": lambda o: (
        o["id"],
        o["created"],
        o["customer"],
        o["status"],
        o["currency"],
        _invoice_subscription(o),
        o["total"],
        o["amount_paid"],
        o["due_date"],
        len(o["lines"]["data"]),
        o["collection_method"],
        _deleted_flag(o),
    ),
    # Line items have no ``created``: they sort by service period within an invoice.
    "line_item": lambda o: (
        o["id"],
        o["period"]["start"],
        o["invoice"],
        o["subscription"],
        o["amount"],
        o["currency"],
    ),
    "invoice_payment": lambda o: (
        o["id"],
        o["created"],
        o["invoice"],
        o["status"],
        o["payment"]["payment_intent"],
        o["amount_requested"],
        o["currency"],
    ),
    "webhook_endpoint": lambda o: (
        o["id"],
        o.get("created", 0),
        o.get("status"),
        _deleted_flag(o),
    ),
}
