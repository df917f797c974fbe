"""What "the ERP matches Stripe" means, checked through an adapter's reads (the ERP's own API)."""
from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from connectors.erp import ErpAdapter
from domain.erp import DocKind

START_ON_HAND = Decimal(1_000_000)
CATEGORY_ACCOUNTS = (("refund", "4900"), ("dispute", "4910"), ("dispute_reversal", "4910"))


def stripe_bts(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT id, type, reporting_category, amount, fee, currency, source_id "
            "FROM stripe_balance_transactions")).all()


def erp_state(adapter: ErpAdapter) -> dict[str, Any]:
    """Everything the ERP holds, by kind and external id (for equality between runs)."""
    state: dict[str, Any] = {}
    for kind in DocKind:
        if kind == DocKind.INVENTORY or kind not in adapter.kinds:
            continue
        records = adapter.read(kind)
        state[kind.value] = {r.doc.external_id: (r.doc.model_dump(mode="json"),
                                                 str(r.open_balance)) for r in records}
    return state


def check_erp_matches_stripe(adapter: ErpAdapter, engine: sa.Engine) -> dict[str, int]:
    """Assert the posting invariants; returns counts for the caller's own checks."""
    bts = stripe_bts(engine)
    charges = [b for b in bts if b[1] in ("charge", "payment")]
    payments = {r.doc.external_id: r for r in adapter.read(DocKind.PAYMENT)}
    invoices = {r.doc.external_id: r for r in adapter.read(DocKind.INVOICE)}
    journals = [r.doc for r in adapter.read(DocKind.JOURNAL)]
    customers = adapter.read(DocKind.CUSTOMER)
    orders = adapter.read(DocKind.SALES_ORDER)

    # one cash receipt per succeeded charge, applied in full to its invoice
    assert set(payments) == {b[6] for b in charges}
    for rec in payments.values():
        [app] = rec.doc.applications
        assert app.amount == rec.doc.amount
        assert invoices[app.invoice].doc.total == rec.doc.amount
        assert invoices[app.invoice].open_balance.amount == 0

    # journals balanced; fees, refunds, disputes equal Stripe's per currency, to the minor unit
    for j in journals:
        assert sum(x.debit.amount for x in j.lines) == sum(x.credit.amount for x in j.lines) > 0
    stripe_fees, erp_fees = Counter(), Counter()
    for b in charges:
        stripe_fees[b[5].upper()] += b[4]
    for j in journals:
        if j.source == "stripe_fee":
            erp_fees[j.currency] += sum(x.debit.amount for x in j.lines if x.account == "6100")
    assert +stripe_fees == +erp_fees
    for category, account in CATEGORY_ACCOUNTS:
        expected, got = Counter(), Counter()
        for b in bts:
            if b[2] == category:
                expected[b[5].upper()] += -b[3]
        for j in journals:
            if j.source == category:
                got[j.currency] += sum(x.debit.amount - x.credit.amount
                                       for x in j.lines if x.account == account)
        assert +expected == +got, category

    # charges presented in another currency: exchanged through the FX account, clearing
    # receiving exactly what Stripe settled
    with engine.connect() as conn:
        presented = dict(conn.execute(sa.text("SELECT id, currency FROM stripe_charges")).all())
    by_id = {j.external_id: j for j in journals}
    fx_charges = [b for b in charges if presented.get(b[6], b[5]) != b[5]]
    for b in fx_charges:
        fx_in, fx_out = by_id[f"{b[0]}:fx-in"], by_id[f"{b[0]}:fx-out"]
        assert fx_in.currency == b[5].upper()
        assert sum(x.debit.amount for x in fx_in.lines if x.account == "1250") == b[3]
        assert fx_out.currency == presented[b[6]].upper()
        assert sum(x.credit.amount for x in fx_out.lines if x.account == "1250") == \
            payments[b[6]].doc.amount.amount
        assert {x.account for x in fx_in.lines} == {x.account for x in fx_out.lines} == {"1250", "7900"}

    # one ERP customer per Stripe customer who paid (e-mail duplicates are one customer)
    with engine.connect() as conn:
        paying = conn.execute(sa.text(
            "SELECT COUNT(DISTINCT LOWER(COALESCE(c.email, c.id))) FROM stripe_customers c "
            "JOIN stripe_charges ch ON ch.customer_id = c.id "
            "JOIN stripe_balance_transactions b ON b.source_id = ch.id")).scalar()
    guests = sum(1 for c in customers if c.doc.external_id == "STRIPE-GUEST")
    assert len(customers) == paying + guests

    # inventory moved for each stocked SKU sold
    sold: Counter = Counter()
    for order in orders:
        for line in order.doc.lines:
            if line.sku.startswith("SKU-"):
                sold[line.sku] += line.quantity
    assert sold
    for sku, qty in sold.items():
        assert adapter.on_hand(sku, "MAIN") == START_ON_HAND - qty, sku
    return {"payments": len(payments), "journals": len(journals), "customers": len(customers),
            "fx_charges": len(fx_charges),
            "journal_currencies": len({j.currency for j in journals}),
            "payment_currencies": len({p.doc.amount.currency for p in payments.values()})}


def erp_summary(adapter: ErpAdapter) -> dict[str, dict[str, Any]]:
    """The ERP's documents reduced to what must not differ between runs: ids and money."""
    out: dict[str, dict[str, Any]] = {}
    for rec in adapter.read(DocKind.CUSTOMER):
        out.setdefault("customer", {})[rec.doc.external_id] = rec.doc.currency
    for rec in adapter.read(DocKind.SALES_ORDER):
        out.setdefault("sales_order", {})[rec.doc.external_id] = (
            rec.doc.customer, tuple((x.sku, format(x.quantity.normalize(), "f"), x.unit_price)
                                    for x in rec.doc.lines))
    for rec in adapter.read(DocKind.INVOICE):
        out.setdefault("invoice", {})[rec.doc.external_id] = (rec.doc.total, rec.open_balance)
    for rec in adapter.read(DocKind.PAYMENT):
        out.setdefault("payment", {})[rec.doc.external_id] = (
            rec.doc.amount, tuple((a.invoice, a.amount) for a in rec.doc.applications))
    for rec in adapter.read(DocKind.JOURNAL):
        out.setdefault("journal", {})[rec.doc.external_id] = sorted(
            (x.account, x.debit.amount, x.credit.amount) for x in rec.doc.lines)
    for rec in adapter.read(DocKind.DEPOSIT):
        out.setdefault("deposit", {})[rec.doc.external_id] = rec.doc.amount
    skus = sorted({x.sku for v in adapter.read(DocKind.SALES_ORDER) for x in v.doc.lines
                   if x.sku.startswith("SKU-")})
    out["on_hand"] = {s: adapter.on_hand(s, "MAIN") for s in skus}
    return out
