"""Post a window of Stripe activity to the ERP, exactly once; replay dead letters.

For each document kind in posting order (customers, sales orders, invoices,
cash receipts, journals, inventory, deposits):

1. documents the link table marks ``posted`` are skipped (no ERP call at all);
2. documents whose prerequisite is not in the ERP (its invoice was refused,
   say) are dead-lettered as waiting for it, so a replay posts both in order;
   documents whose prerequisite the ERP has not produced *yet* (an M3 invoice before
   M3's invoicing job ran) are linked ``waiting`` instead, not dead-lettered;
3. the rest go to the adapter in batches.  The adapter is find-then-create on
   the ERP's natural key, so a run killed between the ERP's answer and our
   commit re-finds, never re-creates;
4. each batch's outcome is committed in one transaction: links for what the
   ERP holds, dead letters (the ERP's exact message and the payload) for what
   it refused, ``waiting`` links for what the ERP will produce later (the adapter
   says so with ``PostResult.waiting``).  A refused document never stops the rest of
   the batch.  Later runs of the same days, and ``resume_waiting`` (launched by the
   ``erp_waiting_sensor``), post the waiting documents once the ERP has them.

Transient ERP failures are retried under the adapter's one retry policy
(``connectors.erp.retry``: ``ERP_RETRY_MAX_SECONDS`` for a whole outage, however many
layers retry).  An outage that outlasts it raises ``ErpUnavailable`` naming the ERP, its
base URL, the document and the status: the run fails fast, nothing is recorded for the
batch in flight, and the next run resumes from it (what is linked is skipped).
Replaying dead letters re-runs the days they came from with the current
mapping: what now posts is linked and its dead letter resolved.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import orjson
import sqlalchemy as sa

from connectors.erp import ErpAdapter, ErpTransientError, ErpUnavailable, PostResult
from connectors.erp.retry import RetryPolicy
from domain.erp import DocKind, Document
from domain.mapping import Mapping
from domain.postings import KIND_ORDER, PostingBuilder, Postings, StripeActivity, utc_date

from . import ledger
from .activity import Fetch, load_activity

DAY = 86400


@dataclass
class KindReport:
    documents: int = 0
    already_linked: int = 0
    created: int = 0
    found: int = 0
    dead: int = 0
    blocked: int = 0
    waiting: int = 0


@dataclass
class PostingReport:
    erp: str
    kinds: dict[DocKind, KindReport] = field(
        default_factory=lambda: {k: KindReport() for k in KIND_ORDER})
    erp_calls: int = 0
    seconds: float = 0.0
    problems: int = 0

    @property
    def posted(self) -> int:
        return sum(k.created + k.found for k in self.kinds.values())

    @property
    def dead(self) -> int:
        return sum(k.dead + k.blocked for k in self.kinds.values()) + self.problems

    @property
    def waiting(self) -> int:
        return sum(k.waiting for k in self.kinds.values())

    def totals(self) -> dict[str, int]:
        total: Counter = Counter()
        for rep in self.kinds.values():
            total.update(rep.__dict__)
        return dict(total)


def _payload(doc: Document) -> dict[str, Any]:
    return orjson.loads(doc.model_dump_json())


class Poster:
    """Posts ``Postings`` through one adapter and records outcomes in the warehouse."""

    def __init__(self, adapter: ErpAdapter, engine: sa.Engine, *, batch_size: int = 250) -> None:
        self.adapter, self.engine, self.batch_size = adapter, engine, batch_size
        # the adapter's own policy: its outage budget bounds this layer's retries too
        self.policy: RetryPolicy = getattr(adapter, "retry_policy", None) or RetryPolicy()

    def _post(self, kind: DocKind, batch: list[Document]) -> list[PostResult]:
        """``adapter.post`` with retries; an outage that outlasts them is ErpUnavailable."""
        try:
            return self.policy.run(lambda: self.adapter.post(batch))
        except ErpUnavailable:
            raise
        except ErpTransientError as exc:
            raise ErpUnavailable(self.adapter.erp, getattr(self.adapter, "base_url", ""),
                                 kind.value, [d.external_id for d in batch], exc,
                                 self.policy.outage_seconds(), self.policy.max_seconds) from exc

    def post(self, postings: Postings, source_days: dict[str, date | None],
             report: PostingReport) -> PostingReport:
        erp = self.adapter.erp
        started, calls_before = time.monotonic(), self.adapter.calls
        keys = [(k, ext) for k in KIND_ORDER for ext in postings.documents[k]]
        with self.engine.connect() as conn:
            status = ledger.linked(conn, erp, keys)
        self._record_problems(postings, source_days)
        report.problems += len(postings.problems)
        for kind in KIND_ORDER:
            rep = report.kinds[kind]
            docs = postings.documents[kind]
            rep.documents += len(docs)
            ready: list[Document] = []
            blocked: list[dict[str, Any]] = []
            waits: list[dict[str, Any]] = []
            for ext, doc in docs.items():
                if status.get((kind, ext)) == "posted":
                    rep.already_linked += 1
                    continue
                missing = [d for d in postings.depends_on.get((kind, ext), [])
                           if status.get(d) != "posted"]
                later = [d for d in missing if status.get(d) == "waiting"]
                if kind not in self.adapter.kinds:
                    blocked.append(self._letter(
                        kind, doc, postings, source_days, "Unsupported",
                        f"{kind.value} {ext}: the {erp} adapter does not post "
                        f"{kind.value.replace('_', ' ')}s yet; map its reporting category to "
                        f"an account (refund: refunds) and replay"))
                elif (kind is DocKind.INVOICE and getattr(doc, "tax", None) is not None
                        and not self.adapter.posts_invoice_tax):
                    blocked.append(self._letter(
                        kind, doc, postings, source_days, "Unsupported",
                        f"invoice {ext} carries tax {doc.tax}, which the {erp} adapter does "
                        f"not post to the sales tax account: set tax.on_invoice: false in "
                        f"the mapping (the tax then moves by journal) and replay"))
                elif missing and len(later) == len(missing):
                    wk, wext = later[0]
                    waits.append(self._waiting(kind, doc, postings, source_days,
                                               f"waits for {wk.value} {wext}, which the ERP "
                                               f"has not produced yet"))
                elif missing:
                    wk, wext = next(d for d in missing if d not in later)
                    blocked.append(self._letter(
                        kind, doc, postings, source_days, "Blocked",
                        f"waits for {wk.value} {wext}, which is not in the ERP "
                        f"({status.get((wk, wext), 'not posted')})"))
                else:
                    ready.append(doc)
            if blocked or waits:
                with self.engine.begin() as conn:
                    ledger.record_dead(conn, erp, blocked)
                    ledger.record_waiting(conn, erp, waits)
                rep.blocked += len(blocked)
                rep.waiting += len(waits)
                status.update({(kind, b["external_id"]): "dead" for b in blocked})
                status.update({(kind, w["external_id"]): "waiting" for w in waits})
            for i in range(0, len(ready), self.batch_size):
                batch = ready[i:i + self.batch_size]
                results = self._post(kind, batch)
                self._record(kind, batch, results, postings, source_days, status, rep)
        report.erp_calls += self.adapter.calls - calls_before
        report.seconds += time.monotonic() - started
        return report

    def _record(self, kind: DocKind, batch: Sequence[Document], results: Sequence[PostResult],
                postings: Postings, source_days: dict[str, date | None],
                status: dict[tuple[DocKind, str], str], rep: KindReport) -> None:
        if len(results) != len(batch):
            raise RuntimeError(f"{self.adapter.erp} adapter returned {len(results)} results "
                               f"for {len(batch)} {kind.value} documents")
        posted, dead, waits = [], [], []
        for doc, res in zip(batch, results):
            source = postings.source.get((kind, doc.external_id))
            if res.waiting and not res.ok:
                waits.append(self._waiting(kind, doc, postings, source_days, res.waiting))
                status[(kind, doc.external_id)] = "waiting"
                rep.waiting += 1
            elif res.ok:
                posted.append({"kind": kind, "external_id": doc.external_id,
                               "erp_id": res.ref.id, "created_in_erp": res.created,
                               "source_id": source, "source_day": source_days.get(source or "")})
                status[(kind, doc.external_id)] = "posted"
                rep.created += res.created
                rep.found += not res.created
            else:
                err = res.error
                dead.append(self._letter(kind, doc, postings, source_days,
                                         type(err).__name__ if err else "ErpError",
                                         err.message if err else "no result", err))
                status[(kind, doc.external_id)] = "dead"
                rep.dead += 1
        with self.engine.begin() as conn:
            ledger.record_posted(conn, self.adapter.erp, posted)
            ledger.record_dead(conn, self.adapter.erp, dead)
            ledger.record_waiting(conn, self.adapter.erp, waits)

    @staticmethod
    def _waiting(kind: DocKind, doc: Document, postings: Postings,
                 source_days: dict[str, date | None], reason: str) -> dict[str, Any]:
        source = postings.source.get((kind, doc.external_id))
        return {"kind": kind, "external_id": doc.external_id, "source_id": source,
                "source_day": source_days.get(source or ""), "reason": reason}

    def _letter(self, kind: DocKind, doc: Document, postings: Postings,
                source_days: dict[str, date | None], error_type: str, message: str,
                err: Any = None) -> dict[str, Any]:
        source = postings.source.get((kind, doc.external_id))
        return {"kind": kind, "external_id": doc.external_id, "source_id": source,
                "source_day": source_days.get(source or ""), "error_type": error_type,
                "error_message": message, "error_field": getattr(err, "field", None),
                "error_status": getattr(err, "status", None), "payload": _payload(doc)}

    def _record_problems(self, postings: Postings, source_days: dict[str, date | None]) -> None:
        if not postings.problems:
            return
        rows = [{"kind": p.kind, "external_id": p.external_id, "source_id": p.external_id,
                 "source_day": source_days.get(p.external_id), "error_type": "MappingProblem",
                 "error_message": p.message, "error_field": None, "error_status": None,
                 "payload": {}} for p in postings.problems]
        with self.engine.begin() as conn:
            ledger.record_dead(conn, self.adapter.erp, rows)


def post_window(adapter: ErpAdapter, engine: sa.Engine, mapping: Mapping, gte: int | None,
                lt: int | None, *, report: PostingReport | None = None,
                batch_size: int = 250, fetch: Fetch | None = None) -> PostingReport:
    """Post every balance transaction created in ``[gte, lt)`` (None = open) to the ERP.

    ``fetch`` (``activity.stripe_fetcher``) fills in referenced objects the mirror lacks.
    """
    report = report or PostingReport(adapter.erp)
    activity = load_activity(engine, gte, lt, fetch=fetch)
    return _post_activity(adapter, engine, mapping, activity, report, batch_size)


def _post_activity(adapter: ErpAdapter, engine: sa.Engine, mapping: Mapping,
                   activity: StripeActivity, report: PostingReport,
                   batch_size: int) -> PostingReport:
    postings = PostingBuilder(mapping).build(activity)
    days: dict[str, date | None] = {}
    for bt in activity.balance_transactions:
        day = utc_date(bt["created"])
        days[bt["id"]] = day
        src = bt["source"]["id"] if isinstance(bt.get("source"), dict) else bt.get("source")
        if src:
            days.setdefault(src, day)
    for cus in activity.customers.values():
        days.setdefault(cus["id"], utc_date(cus["created"]) if cus.get("created") else None)
    return Poster(adapter, engine, batch_size=batch_size).post(postings, days, report)


def post_balance_transactions(adapter: ErpAdapter, engine: sa.Engine, mapping: Mapping,
                              bt_ids: set[str], *, batch_size: int = 250,
                              fetch: Fetch | None = None) -> PostingReport:
    """Post exactly these balance transactions (the event-driven selection)."""
    report = PostingReport(adapter.erp)
    if not bt_ids:
        return report
    activity = load_activity(engine, None, None, bt_ids=bt_ids, fetch=fetch)
    return _post_activity(adapter, engine, mapping, activity, report, batch_size)


def replay_dead_letters(adapter: ErpAdapter, engine: sa.Engine, mapping: Mapping,
                        **kw: Any) -> PostingReport:
    """Re-post the days that hold open dead letters, with the current mapping."""
    with engine.connect() as conn:
        days = ledger.dead_letter_days(conn, adapter.erp)
    return _repost_days(adapter, engine, mapping, days, **kw)


def resume_waiting(adapter: ErpAdapter, engine: sa.Engine, mapping: Mapping,
                   **kw: Any) -> PostingReport:
    """Re-post the days holding documents that wait for the ERP (an M3 invoice before
    M3's invoicing job ran): what the ERP has produced since is linked, the rest waits on."""
    with engine.connect() as conn:
        days = ledger.waiting_days(conn, adapter.erp)
    return _repost_days(adapter, engine, mapping, days, **kw)


def _repost_days(adapter: ErpAdapter, engine: sa.Engine, mapping: Mapping,
                 days: Sequence[date], **kw: Any) -> PostingReport:
    report = PostingReport(adapter.erp)
    for day in days:
        start = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())
        post_window(adapter, engine, mapping, start, start + DAY, report=report, **kw)
    return report
