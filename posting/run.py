"""Post a window of Stripe activity to the ERP, exactly once; replay dead letters.

For each document kind in posting order (customers, sales orders, invoices,
cash receipts, journals, inventory, deposits):

1. documents the link table marks ``posted`` are skipped (no ERP call at all);
2. documents whose prerequisite is not in the ERP (its invoice was refused,
   say) are dead-lettered as waiting for it, so a replay posts both in order;
   documents whose prerequisite the ERP has not produced *yet* (an M3 invoice before
   M3's invoicing job ran) are linked ``waiting`` instead, not dead-lettered;
3. a value longer than the ERP's field (``ErpAdapter.field_limits``) is handled by the
   mapping's ``field_policies``: the document is dead-lettered (``FieldTooLong``, naming
   the field, its length and the limit) or sent cut to the limit, the cut recorded in its
   link (``truncations``) and in the report (``domain.field_limits``); never cut silently;
4. the rest go to the adapter in batches.  The adapter is find-then-create on
   the ERP's natural key, so a run killed between the ERP's answer and our
   commit re-finds, never re-creates;
5. each batch's outcome is committed in one transaction: links for what the
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
from domain.field_limits import FieldTooLong, Truncation, fit
from domain.mapping import FieldPolicies, Mapping
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
    too_long: int = 0           # refused before sending: a value over the ERP's field length
    truncated: int = 0          # posted with values cut to the ERP's limits (mapping says so)


@dataclass
class PostingReport:
    erp: str
    kinds: dict[DocKind, KindReport] = field(
        default_factory=lambda: {k: KindReport() for k in KIND_ORDER})
    erp_calls: int = 0
    seconds: float = 0.0
    problems: int = 0
    # the same counts per UTC day of the documents' Stripe source (a partition's own figures)
    by_day: dict[date | None, dict[DocKind, KindReport]] = field(default_factory=dict)
    # ERP calls per day: a batch's calls shared among its documents' days (largest remainder)
    calls_by_day: Counter = field(default_factory=Counter)

    def count(self, kind: DocKind, day: date | None, name: str, n: int = 1) -> None:
        total = self.kinds[kind]
        setattr(total, name, getattr(total, name) + n)
        daily = self.by_day.setdefault(day, {k: KindReport() for k in KIND_ORDER})[kind]
        setattr(daily, name, getattr(daily, name) + n)

    def share_calls(self, calls: int, days: Sequence[date | None]) -> None:
        per_day = Counter(days)
        shares = {d: calls * n // len(days) for d, n in per_day.items()}
        rest = calls - sum(shares.values())
        by_remainder = sorted(per_day, key=lambda d: (-(calls * per_day[d] % len(days)), str(d)))
        for d in by_remainder[:rest]:
            shares[d] += 1
        self.calls_by_day.update(shares)
    # (kind, external id, Truncation) of every value cut to an ERP limit in this run
    truncations: list[tuple[DocKind, str, Truncation]] = field(default_factory=list)

    @property
    def posted(self) -> int:
        return sum(k.created + k.found for k in self.kinds.values())

    @property
    def dead(self) -> int:
        return sum(k.dead + k.blocked + k.too_long for k in self.kinds.values()) + self.problems

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

    def __init__(self, adapter: ErpAdapter, engine: sa.Engine, *, batch_size: int = 250,
                 policies: FieldPolicies | None = None) -> None:
        self.adapter, self.engine, self.batch_size = adapter, engine, batch_size
        self.policies = policies or FieldPolicies()
        self.limits = getattr(adapter, "field_limits", None) or {}
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
        shared_before = sum(report.calls_by_day.values())

        def day_of(kind: DocKind, ext: str) -> date | None:
            return source_days.get(postings.source.get((kind, ext)) or "")
        for kind in KIND_ORDER:
            docs = postings.documents[kind]
            ready: list[Document] = []
            truncated: dict[str, list[Truncation]] = {}
            too_long: list[dict[str, Any]] = []       # refused before sending
            blocked: list[dict[str, Any]] = []
            waits: list[dict[str, Any]] = []
            for ext, doc in docs.items():
                report.count(kind, day_of(kind, ext), "documents")
                if status.get((kind, ext)) == "posted":
                    report.count(kind, day_of(kind, ext), "already_linked")
                    continue
                missing = [d for d in postings.depends_on.get((kind, ext), [])
                           if status.get(d) != "posted"]
                later = [d for d in missing if status.get(d) == "waiting"]
                if missing and len(later) == len(missing):
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
                    try:
                        fitted, cuts = fit(doc, self.limits, self.policies.policy, erp)
                    except FieldTooLong as exc:
                        too_long.append(self._letter(kind, doc, postings, source_days,
                                                     "FieldTooLong", exc.message, exc))
                        continue
                    if cuts:
                        truncated[ext] = cuts
                    ready.append(fitted)
            if blocked or waits or too_long:
                with self.engine.begin() as conn:
                    ledger.record_dead(conn, erp, blocked + too_long)
                    ledger.record_waiting(conn, erp, waits)
                for b in blocked:
                    report.count(kind, b["source_day"], "blocked")
                for t in too_long:
                    report.count(kind, t["source_day"], "too_long")
                for w in waits:
                    report.count(kind, w["source_day"], "waiting")
                status.update({(kind, b["external_id"]): "dead" for b in blocked + too_long})
                status.update({(kind, w["external_id"]): "waiting" for w in waits})
            for i in range(0, len(ready), self.batch_size):
                batch = ready[i:i + self.batch_size]
                calls = self.adapter.calls
                results = self._post(kind, batch)
                report.share_calls(self.adapter.calls - calls,
                                   [day_of(kind, d.external_id) for d in batch])
                self._record(kind, batch, results, postings, source_days, status, report,
                             truncated)
            report.truncations.extend((kind, ext, cut) for ext, cuts in truncated.items()
                                      if status.get((kind, ext)) == "posted" for cut in cuts)
        calls = self.adapter.calls - calls_before
        shared = sum(report.calls_by_day.values()) - shared_before
        if calls > shared and keys:    # sign-in, posting steps: shared by every document's day
            report.share_calls(calls - shared, [day_of(k, ext) for k, ext in keys])
        report.erp_calls += calls
        report.seconds += time.monotonic() - started
        return report

    def _record(self, kind: DocKind, batch: Sequence[Document], results: Sequence[PostResult],
                postings: Postings, source_days: dict[str, date | None],
                status: dict[tuple[DocKind, str], str], report: PostingReport,
                truncated: dict[str, list[Truncation]]) -> None:
        if len(results) != len(batch):
            raise RuntimeError(f"{self.adapter.erp} adapter returned {len(results)} results "
                               f"for {len(batch)} {kind.value} documents")
        posted, dead, waits = [], [], []
        for doc, res in zip(batch, results):
            source = postings.source.get((kind, doc.external_id))
            day = source_days.get(source or "")
            if res.waiting and not res.ok:
                waits.append(self._waiting(kind, doc, postings, source_days, res.waiting))
                status[(kind, doc.external_id)] = "waiting"
                report.count(kind, day, "waiting")
            elif res.ok:
                cuts = truncated.get(doc.external_id)
                posted.append({"kind": kind, "external_id": doc.external_id,
                               "erp_id": res.ref.id, "created_in_erp": res.created,
                               "source_id": source, "source_day": source_days.get(source or ""),
                               "truncations": [c.as_dict() for c in cuts] if cuts else None})
                status[(kind, doc.external_id)] = "posted"
                if cuts:
                    report.count(kind, day, "truncated")
                report.count(kind, day, "created" if res.created else "found")
            else:
                err = res.error
                dead.append(self._letter(kind, doc, postings, source_days,
                                         type(err).__name__ if err else "ErpError",
                                         err.message if err else "no result", err))
                status[(kind, doc.external_id)] = "dead"
                report.count(kind, day, "dead")
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
    return Poster(adapter, engine, batch_size=batch_size,
                  policies=mapping.field_policies).post(postings, days, report)


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
