"""Revenue recognition against the warehouse and the ERP: read the schedules' inputs from the
Stripe mirror (credit notes from the Stripe API: the mirror does not hold them yet), build the
revenue ledger, and post a month's journal exactly once through the posting path.

Inputs (``domain.revenue.stripe_inputs``): every finalized invoice with its mirrored lines;
credit notes with their lines (and their voids); refunds of invoice payments that no credit note
carries; lost disputes; voided and uncollectible invoices.  Each adjustment remembers when it was
recorded (its Stripe object's ``created``, or the status change) for the closed-month rule
(``domain.revenue.month_close.late_adjustments``).  Bad input never stops the rest: what cannot
be read is listed in ``RevenueInputs.problems`` (then ``ledger.problems``) naming the object.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa

from connectors.erp import ErpAdapter
from domain.erp import DocKind
from domain.mapping import Mapping
from domain.postings import Postings
from domain.revenue.adjustments import Adjustment
from domain.revenue.ledger import Problem, RevenueLedger, build_ledger
from domain.revenue.month_close import late_adjustments, month_entries
from domain.revenue.schedules import InvoiceLine, RevenueError, month_label, month_number
from domain.revenue.stripe_inputs import (credit_note_adjustments, invoice_status_adjustments,
                                          lines_from_invoice, payment_reversal_adjustments)
from domain.tax import invoices_by_charge
from warehouse.schema import (erp_links, stripe_charges, stripe_disputes, stripe_invoice_lines,
                              stripe_invoices, stripe_refunds)

from .run import PostingReport, Poster

Obj = dict[str, Any]
# () -> every credit note (with all its lines), e.g. ``credit_notes_from(api)``
CreditNotes = Callable[[], Iterable[Obj]]


@dataclass
class RevenueInputs:
    lines: list[InvoiceLine] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)
    recorded_at: dict[str, int] = field(default_factory=dict)     # adjustment id -> Unix s
    problems: list[Problem] = field(default_factory=list)
    invoices: int = 0
    credit_notes: int = 0


def _raw(value: Any) -> Obj:
    return value if isinstance(value, dict) else orjson.loads(value)


def _id(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


def credit_notes_from(api: Any) -> CreditNotes:
    """Every credit note through ``GET /v1/credit_notes``, lines paged in full."""
    def fetch() -> Iterable[Obj]:
        for page in api.pages("/v1/credit_notes", {"limit": 100}):
            for cn in page["data"]:
                lines = cn.get("lines") or {}
                if lines.get("has_more"):
                    data = [x for p in api.pages(f"/v1/credit_notes/{cn['id']}/lines",
                                                 {"limit": 100}) for x in p["data"]]
                    cn = {**cn, "lines": {"object": "list", "data": data, "has_more": False}}
                yield cn
    return fetch


def load_inputs(engine: sa.Engine, credit_notes: CreditNotes | None = None) -> RevenueInputs:
    """The schedules' inputs from the mirror (and the credit notes)."""
    out = RevenueInputs()
    with engine.connect() as conn:
        invoices = [_raw(r) for (r,) in conn.execute(sa.select(stripe_invoices.c.raw))]
        by_invoice: dict[str, list[Obj]] = defaultdict(list)
        for inv_id, raw in conn.execute(sa.select(stripe_invoice_lines.c.invoice_id,
                                                  stripe_invoice_lines.c.raw)):
            by_invoice[inv_id].append(_raw(raw))
        charges = {cid: _raw(r) for cid, r in conn.execute(
            sa.select(stripe_charges.c.id, stripe_charges.c.raw))}
        refunds = [_raw(r) for (r,) in conn.execute(sa.select(stripe_refunds.c.raw))]
        disputes = [_raw(r) for (r,) in conn.execute(
            sa.select(stripe_disputes.c.raw).where(stripe_disputes.c.status == "lost"))]
    finalized = {inv["id"]: inv for inv in invoices
                 if (inv.get("status_transitions") or {}).get("finalized_at")}
    lines_of: dict[str, list[InvoiceLine]] = {}
    for inv_id, inv in sorted(finalized.items()):
        try:
            lines_of[inv_id] = lines_from_invoice(inv, by_invoice.get(inv_id)
                                                  or (inv.get("lines") or {}).get("data") or [])
        except (RevenueError, KeyError, TypeError, ValueError) as exc:
            out.problems.append(Problem(inv_id, f"invoice {inv_id}: {exc}"))
            continue
        out.lines += lines_of[inv_id]
        _add(out, invoice_status_adjustments(inv, lines_of[inv_id]), None)
    out.invoices = len(lines_of)
    in_credit_notes: set[str] = set()
    for cn in (credit_notes() if credit_notes else ()):
        out.credit_notes += 1
        inv_id = _id(cn.get("invoice")) or ""
        in_credit_notes |= {_id(r.get("refund")) for r in cn.get("refunds") or []}
        if inv_id not in lines_of:
            out.problems.append(Problem(cn["id"], f"credit note {cn['id']}: invoice {inv_id} is "
                                                  f"not a finalized invoice in the mirror"))
            continue
        try:
            adjs = credit_note_adjustments(cn, lines_of[inv_id])
        except (RevenueError, KeyError, TypeError, ValueError) as exc:
            out.problems.append(Problem(cn["id"], f"credit note {cn['id']}: {exc}"))
            continue
        for a in adjs:
            out.adjustments.append(a)
            voided = a.kind == "credit_note_void"
            out.recorded_at[a.id] = int(cn["voided_at"] if voided else cn["created"])
    paid = invoices_by_charge(list(finalized.values()), charges)
    reversals = [("refund", r) for r in refunds if r.get("status") == "succeeded"
                 and r["id"] not in in_credit_notes] + [("dispute", d) for d in disputes]
    for kind, obj in reversals:
        inv = paid.get(_id(obj.get("charge")) or "")
        if inv is None or inv["id"] not in lines_of:
            continue                              # not an invoice payment: no schedule
        if obj.get("currency") != inv.get("currency"):
            out.problems.append(Problem(obj["id"], f"{kind} {obj['id']}: currency "
                                                   f"{obj.get('currency')} differs from invoice "
                                                   f"{inv['id']}'s {inv.get('currency')}"))
            continue
        try:
            adjs = payment_reversal_adjustments(kind, obj["id"], int(obj["amount"]),
                                                int(obj["created"]), inv, lines_of[inv["id"]])
        except RevenueError as exc:
            out.problems.append(Problem(obj["id"], str(exc)))
            continue
        _add(out, adjs, int(obj["created"]))
    return out


def _add(out: RevenueInputs, adjs: list[Adjustment], recorded: int | None) -> None:
    for a in adjs:
        out.adjustments.append(a)
        out.recorded_at[a.id] = recorded if recorded is not None else _seconds(a.effective_at)


def _seconds(value: Any) -> int:
    return int(value.timestamp()) if isinstance(value, datetime) else int(value)


def closed_months(engine: sa.Engine, erp: str) -> dict[str, datetime]:
    """``'YYYY-MM'`` -> when its first revenue journal reached this ERP (the link table)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(erp_links.c.external_id, erp_links.c.updated_at).where(
            erp_links.c.erp == erp, erp_links.c.kind == DocKind.JOURNAL.value,
            erp_links.c.status == "posted", erp_links.c.external_id.like("revrec:%")))
        out: dict[str, datetime] = {}
        for ext, when in rows:
            month = ext.split(":")[1]
            out[month] = min(out.get(month, when), when)
    return out


def revenue_ledger(inputs: RevenueInputs, closed: dict[str, datetime] | None = None
                   ) -> RevenueLedger:
    """The schedules: every line, every adjustment (late ones moved out of closed months)."""
    adjustments = late_adjustments(inputs.adjustments, inputs.recorded_at, closed or {})
    ledger = build_ledger(inputs.lines, adjustments)
    ledger.problems[:0] = inputs.problems
    return ledger


def post_month(adapter: ErpAdapter, engine: sa.Engine, mapping: Mapping, ledger: RevenueLedger,
               month: str) -> tuple[PostingReport, list]:
    """Post the month's journal per currency (link table, find-then-create, dead letters).
    Already linked entries are skipped, so re-running a month changes nothing."""
    entries = month_entries(ledger, month, mapping.revenue_account, mapping.account("revenue"),
                            mapping.account("deferred_revenue"))
    postings = Postings()
    source = f"revrec:{month_label(month_number(month))}"
    for entry in entries:
        postings.add(entry, source=source)
    day = entries[0].entry_date if entries else None
    report = Poster(adapter, engine, policies=mapping.field_policies).post(
        postings, {source: day}, PostingReport(adapter.erp))
    return report, entries
