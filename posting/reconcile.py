"""Reconcile payouts against the ERP: read Stripe's side from the mirror, the ERP's through its API.

``reconcile_payouts`` runs ``domain.reconciliation`` for the given payouts and
stores the outcome in ``reconciliation_payouts`` (one row per payout and ERP)
and ``reconciliation_items`` (what is behind each variance).
"""
from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connectors.erp import ErpAdapter
from domain.erp import DocKind
from domain.mapping import Mapping
from domain.reconciliation import ErpView, PayoutResult, reconcile, source_not_posted
from warehouse.db import upsert_insert
from warehouse.schema import erp_links, reconciliation_items, reconciliation_payouts

_CHUNK = 500


def _stripe_side(engine: sa.Engine, payout_ids: list[str]) -> tuple[dict, dict, frozenset]:
    """Each payout's balance transactions, and the amounts of the charges among them.

    One join per chunk of payouts, read through the driver's cursor: a million
    balance transactions are read in a few seconds.
    """
    bts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    charges: dict[str, int] = {}
    fx_charges: set[str] = set()
    with engine.connect() as conn:
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        cur = conn.connection.cursor()
        try:
            for i in range(0, len(payout_ids), _CHUNK):
                chunk = payout_ids[i:i + _CHUNK]
                cur.execute(
                    "SELECT l.payout_id, b.id, b.type, b.amount, b.fee, b.net, b.currency, "
                    "b.source_id, c.amount, c.currency FROM stripe_payout_transactions l "
                    "JOIN stripe_balance_transactions b ON b.id = l.balance_transaction_id "
                    "LEFT JOIN stripe_charges c ON c.id = b.source_id "
                    f"WHERE l.payout_id IN ({', '.join([mark] * len(chunk))})", chunk)
                for (pid, bid, typ, amount, fee, net, currency, source, charge,
                     charge_currency) in cur.fetchall():
                    bts[pid].append({"id": bid, "type": typ, "amount": amount, "fee": fee,
                                     "net": net, "currency": currency, "source": source})
                    if charge is not None:
                        charges[source] = charge
                        if charge_currency and charge_currency.lower() != currency.lower():
                            fx_charges.add(source)
        finally:
            cur.close()
    return bts, charges, frozenset(fx_charges)


def erp_view(adapter: ErpAdapter, mapping: Mapping, bts: dict[str, list[dict[str, Any]]],
             payouts: Sequence[dict[str, Any]]) -> ErpView:
    """Read what the ERP holds for these payouts' items (through the ERP's own API)."""
    clearing_account = mapping.account("stripe_clearing")
    charge_ids, journal_ids = set(), set()
    for pid, lst in bts.items():
        for b in lst:
            if b["type"] == "payout" and b["source"] == pid:
                continue        # the payout's own BT: reconciled against its deposit
            if b["type"] in ("charge", "payment"):
                charge_ids.add(b["source"])
                journal_ids.add(f"{b['id']}:fx-in")  # only charges settled in another currency
                if b["fee"]:
                    journal_ids.add(f"{b['id']}:fee")
            else:               # another payout's BT among them too (an Instant Payout's)
                journal_ids.add(b["id"])
    for p in payouts:
        failure = p.get("failure_balance_transaction")
        failure = failure.get("id") if isinstance(failure, dict) else failure
        if failure:
            journal_ids.add(failure)
    receipts: dict[str, list[int]] = defaultdict(list)
    for rec in adapter.read(DocKind.PAYMENT, sorted(charge_ids)):
        receipts[rec.doc.external_id].append(rec.doc.amount.amount)
    clearing: dict[str, list[int]] = defaultdict(list)
    fees: dict[str, list[int]] = defaultdict(list)
    for rec in adapter.read(DocKind.JOURNAL, sorted(journal_ids)):
        net = sum(x.debit.amount - x.credit.amount for x in rec.doc.lines
                  if x.account == clearing_account)
        if rec.doc.external_id.endswith(":fee"):
            fees[rec.doc.external_id].append(-net)
        else:
            clearing[rec.doc.external_id].append(net)
    deposits: dict[str, list[int]] = defaultdict(list)
    for rec in adapter.read(DocKind.DEPOSIT, [p["id"] for p in payouts]):
        deposits[rec.doc.external_id].append(rec.doc.amount.amount)
    return ErpView(receipts=receipts, clearing=clearing, deposits=deposits, fees=fees)


def reconcile_payouts(adapter: ErpAdapter, engine: sa.Engine, mapping: Mapping,
                      payouts: Sequence[dict[str, Any]],
                      post_sources: Callable[[set[str]], Any] | None = None
                      ) -> list[PayoutResult]:
    """Reconcile ``payouts``.  A paid payout can settle balance transactions of days never
    posted: ``post_sources(ids)`` posts them first (the same posting path as a backfill);
    a payout whose sources are still not in the ERP is ``pending`` with their ids and why."""
    bts, charges, fx_charges = _stripe_side(engine, [p["id"] for p in payouts])
    paid = [p for p in payouts if p.get("status") == "paid" and p.get("automatic", True)]
    settled = [b for p in paid for b in bts.get(p["id"], [])]   # the payout's own BT included
    unposted = _unposted(engine, adapter.erp, settled)
    if unposted and post_sources:
        post_sources(set(unposted))    # lands what it fetched in the mirror: read it again
        bts, charges, fx_charges = _stripe_side(engine, [p["id"] for p in payouts])
        settled = [b for p in paid for b in bts.get(p["id"], [])]
        unposted = _unposted(engine, adapter.erp, settled)
    waiting = {p["id"] for p in paid if any(b["id"] in unposted for b in bts.get(p["id"], []))}
    ready = [p for p in payouts if p["id"] not in waiting]
    view = erp_view(adapter, mapping, {k: v for k, v in bts.items() if k not in waiting}, ready)
    matched = {r.payout: r for r in reconcile(ready, bts, charges, view, fx_charges)}
    results = [matched[p["id"]] if p["id"] in matched else
               source_not_posted(p, bts.get(p["id"], []), unposted) for p in payouts]
    store(engine, adapter.erp, payouts, results)
    return results


def _unposted(engine: sa.Engine, erp: str, bts: list[dict[str, Any]]) -> dict[str, str]:
    """The balance transactions (with a non-zero net) none of whose documents is in the ERP:
    id -> ``not posted`` or the ERP's message of the dead letter that holds it."""
    keys = {k for b in bts for k in (b["id"], b.get("source")) if k}
    posted: set[str] = set()
    dead: dict[str, str] = {}
    with engine.connect() as conn:
        ordered = sorted(keys)
        for i in range(0, len(ordered), _CHUNK):
            rows = conn.execute(sa.select(erp_links.c.source_id, erp_links.c.status,
                                          erp_links.c.last_error).where(
                erp_links.c.erp == erp, erp_links.c.source_id.in_(ordered[i:i + _CHUNK])))
            for source, status, error in rows:
                if status == "posted":
                    posted.add(source)
                elif error:
                    dead.setdefault(source, f"{status}: {error}")
    return {b["id"]: dead.get(b["id"]) or dead.get(b.get("source") or "") or "not posted"
            for b in bts if int(b["net"]) and b["id"] not in posted
            and (b.get("source") or "") not in posted}


def store(engine: sa.Engine, erp: str, payouts: Sequence[dict[str, Any]],
          results: Sequence[PayoutResult]) -> None:
    now = datetime.now(timezone.utc)
    arrival = {p["id"]: datetime.fromtimestamp(p["arrival_date"], tz=timezone.utc).date()
               for p in payouts if p.get("arrival_date")}
    rows = [{**r.row(), "erp": erp, "arrival_date": arrival.get(r.payout), "reconciled_at": now}
            for r in results]
    items = [{"payout_id": r.payout, "erp": erp, "balance_transaction_id": i.balance_transaction,
              "kind": i.kind, "source_id": i.source, "expected": i.expected, "found": i.found,
              "problem": i.problem} for r in results for i in r.items]
    ids = [r.payout for r in results]
    with engine.begin() as conn:
        for i in range(0, len(ids), _CHUNK):
            conn.execute(reconciliation_items.delete().where(
                reconciliation_items.c.erp == erp,
                reconciliation_items.c.payout_id.in_(ids[i:i + _CHUNK])))
        if rows:
            stmt = upsert_insert(conn, reconciliation_payouts)
            stmt = stmt.on_conflict_do_update(
                index_elements=["payout_id", "erp"],
                set_={c: stmt.excluded[c] for c in rows[0] if c not in ("payout_id", "erp")})
            conn.execute(stmt, rows)
        if items:
            conn.execute(reconciliation_items.insert(), items)


def export_unmatched(engine: sa.Engine, erp: str, path: Path, days: Sequence[date]) -> int:
    """Write the unmatched items of payouts arriving on ``days`` as CSV; returns the row count."""
    rp, ri = reconciliation_payouts, reconciliation_items
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(ri.c.payout_id, rp.c.arrival_date, rp.c.currency, ri.c.kind,
                      ri.c.balance_transaction_id, ri.c.source_id, ri.c.expected, ri.c.found,
                      (ri.c.found - ri.c.expected).label("variance"), ri.c.problem)
            .join(rp, sa.and_(rp.c.payout_id == ri.c.payout_id, rp.c.erp == ri.c.erp))
            .where(ri.c.erp == erp, rp.c.arrival_date.in_(list(days)))
            .order_by(rp.c.arrival_date, ri.c.payout_id)).all()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["payout_id", "arrival_date", "currency", "item", "balance_transaction_id",
                         "source_id", "expected_minor", "found_minor", "variance_minor",
                         "problem"])
        writer.writerows(rows)
    return len(rows)
