"""Write customers' subscriptions to the ERP: the one code path for backfills and webhooks.

A backfill selects the subscriptions created in a window, an event-driven run the ones its
``customer.subscription.*`` events named; both end in :func:`sync_subscriptions`:

1. every mirrored subscription of the customers concerned is read (a customer's summary
   covers all of its subscriptions: ``domain.subscriptions``);
2. the ERP customers are looked up; one the ERP does not hold yet (a trial, no payment
   posted) is posted first through the customer postings (link table, field policies, dead
   letters), so it exists exactly once;
3. what each customer's ERP record holds is read back and compared: only a summary that
   differs is written. A re-run, or a second event for the same state, writes nothing;
   each change is written exactly once.

A summary that cannot be built (a price without a single unit amount) or that the ERP
refuses is reported per customer with the reason (the asset's metadata and check), and the
others are written; an ERP that refuses a whole read or write fails only the customers in it.
Transient failures are retried under the adapter's policy, then raise (the run fails and its
events are applied again by the next one).
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from connectors.erp import ErpAdapter, ErpError, ErpTransientError
from domain.addresses import clean_text, customer_addresses
from domain.erp import Customer
from domain.mapping import Mapping
from domain.money import normalize_currency
from domain.postings import Postings, utc_date
from domain.subscriptions import (CustomerSubscription, current_subscription,
                                  erp_customer_keys, summarise_all)
from warehouse.schema import stripe_customers, stripe_products, stripe_subscriptions

from .activity import _CHUNK, Fetch, _by_ids, _complete, _raw, _ts
from .run import Poster, PostingReport


@dataclass
class SubscriptionReport:
    erp: str
    customers: int = 0           # ERP customers whose summary was considered
    written: int = 0             # summaries written (changed)
    unchanged: int = 0           # the ERP record already held the summary
    customers_posted: int = 0    # ERP customers created first (found ones count too)
    failures: dict[str, str] = field(default_factory=dict)   # ERP customer -> why not written
    written_summaries: list[CustomerSubscription] = field(default_factory=list)
    # per UTC day of the current subscription's ``created``: written / unchanged / failed
    by_day: dict[date, Counter] = field(default_factory=dict)
    erp_calls: int = 0
    seconds: float = 0.0

    def count(self, day: date | None, outcome: str) -> None:
        if day is not None:
            self.by_day.setdefault(day, Counter())[outcome] += 1


def _subscriptions_of(conn: sa.Connection, *, ids: Iterable[str] | None = None,
                      customers: Iterable[str] | None = None, gte: int | None = None,
                      lt: int | None = None) -> list[dict[str, Any]]:
    """Mirrored subscriptions by id, by customer id, or created in ``[gte, lt)``."""
    t = stripe_subscriptions
    if ids is not None or customers is not None:
        column, values = (t.c.id, ids) if ids is not None else (t.c.customer_id, customers)
        ordered = sorted(set(values or ()))
        return [_raw(raw) for i in range(0, len(ordered), _CHUNK)
                for (raw,) in conn.execute(sa.select(t.c.raw)
                                           .where(column.in_(ordered[i:i + _CHUNK])))]
    q = sa.select(t.c.raw)
    if gte is not None:
        q = q.where(t.c.created >= _ts(gte))
    if lt is not None:
        q = q.where(t.c.created < _ts(lt))
    return [_raw(raw) for (raw,) in conn.execute(q)]


def _product_ids(subs: Iterable[dict[str, Any]]) -> set[str]:
    return {p if isinstance(p, str) else p["id"] for s in subs
            for i in (s.get("items") or {}).get("data") or []
            if (p := (i.get("price") or {}).get("product"))}


def _customers(conn: sa.Connection, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The customers and every customer sharing an e-mail with one (the ERP key's rule)."""
    found = _by_ids(conn, stripe_customers, ids)
    emails = {(c.get("email") or "").strip().lower() for c in found.values()} - {""}
    if emails:
        t = stripe_customers
        rows = conn.execute(sa.select(t.c.raw).where(sa.func.lower(t.c.email).in_(sorted(emails))))
        for (raw,) in rows:
            obj = _raw(raw)
            found.setdefault(obj["id"], obj)
    return found


def _customer_doc(cus: dict[str, Any], currency: str) -> Customer:
    """The ERP customer as the customer postings build it (domain.postings)."""
    name = clean_text(cus.get("name")) or clean_text(cus.get("email")) or cus["id"]
    billing, shipping = customer_addresses(cus)
    return Customer(external_id=cus["id"], name=name, email=clean_text(cus.get("email")),
                    phone=clean_text(cus.get("phone")), billing=billing, shipping=shipping,
                    currency=normalize_currency(cus.get("currency") or currency),
                    tax_exempt=True)


def sync_subscriptions(adapter: ErpAdapter, engine: sa.Engine, mapping: Mapping, *,
                       subscription_ids: Iterable[str] | None = None, gte: int | None = None,
                       lt: int | None = None, fetch: Fetch | None = None) -> SubscriptionReport:
    """Write the current subscription summary of the customers of the selected subscriptions
    (by id, or created in ``[gte, lt)``) to the ERP, where it differs from what it holds."""
    started, calls_before = time.monotonic(), adapter.calls
    report = SubscriptionReport(adapter.erp)
    with engine.connect() as conn:
        if subscription_ids is not None:
            selected = _subscriptions_of(conn, ids=subscription_ids)
        else:
            selected = _subscriptions_of(conn, gte=gte, lt=lt)
        stripe_ids = {_customer_id(s) for s in selected}
        customers = _customers(conn, stripe_ids)
        keys = erp_customer_keys(customers.values(), mapping)
        wanted = {k for c, k in keys.items() if c in stripe_ids} | (stripe_ids - set(keys))
        members = {c for c, k in keys.items() if k in wanted} | stripe_ids
        subs = _subscriptions_of(conn, customers=members)
        products = _by_ids(conn, stripe_products, _product_ids(subs))
    _complete(engine, products, _product_ids(subs), "products", fetch)
    summaries, problems = summarise_all(subs, keys, mapping, products)
    report.failures.update(problems)
    created_day = {s["id"]: _day(s.get("created")) for s in subs}
    for key in problems:      # on the day of the customer's current subscription
        mine = [s for s in subs if keys.get(_customer_id(s), _customer_id(s)) == key]
        report.count(_day(current_subscription(mine).get("created")), "failed")
    report.customers = len(summaries) + len(problems)
    if summaries:
        _write(adapter, engine, mapping, summaries, customers, report, created_day)
    report.erp_calls = adapter.calls - calls_before
    report.seconds = time.monotonic() - started
    return report


def _customer_id(sub: dict[str, Any]) -> str:
    return sub["customer"] if isinstance(sub["customer"], str) else sub["customer"]["id"]


def _day(epoch: Any) -> date | None:
    return utc_date(int(epoch)) if epoch else None


def _write(adapter: ErpAdapter, engine: sa.Engine, mapping: Mapping,
           summaries: dict[str, CustomerSubscription], customers: dict[str, dict[str, Any]],
           report: SubscriptionReport, created_day: dict[str, date | None]) -> None:
    policy = adapter.retry_policy
    try:
        held = policy.run(lambda: adapter.read_subscriptions(list(summaries)))
    except ErpTransientError:
        raise
    except ErpError as exc:     # refused outright: these customers fail, nothing else stops
        for key, summary in summaries.items():
            report.failures[key] = f"reading the customer from {adapter.erp}: {exc.message}"
            report.count(created_day.get(summary.subscription_id), "failed")
        return
    missing = [k for k in summaries if k not in held]
    if missing:   # the ERP customer first, through the customer postings (exactly once)
        postings = Postings()
        for key in missing:
            cus = customers.get(key)
            if cus is None:
                report.failures[key] = f"customer {key} is not in the mirror"
                continue
            postings.add(_customer_doc(cus, summaries[key].currency), source=key)
        posted = Poster(adapter, engine, policies=mapping.field_policies).post(
            postings, {}, PostingReport(adapter.erp))
        report.customers_posted = sum(1 for k in missing if k not in report.failures) - \
            posted.dead
        held.update(policy.run(lambda: adapter.read_subscriptions(missing)))
    changed = []
    for key, summary in summaries.items():
        day = created_day.get(summary.subscription_id)
        if key in report.failures:
            report.count(day, "failed")
        elif key not in held:
            report.failures[key] = (f"customer {key} is not in {adapter.erp} (its customer "
                                    f"posting failed: see the dead letters)")
            report.count(day, "failed")
        elif same(held[key], summary):
            report.unchanged += 1
            report.count(day, "unchanged")
        else:
            changed.append(summary)
    if not changed:
        return
    try:
        results: dict[str, ErpError | None] = policy.run(
            lambda: adapter.write_subscriptions(changed))
    except ErpTransientError:
        raise
    except ErpError as exc:
        results = {summary.customer: exc for summary in changed}
    for summary in changed:
        day = created_day.get(summary.subscription_id)
        error = results.get(summary.customer)
        if error is None:
            report.written += 1
            report.written_summaries.append(summary)
            report.count(day, "written")
        else:
            report.failures[summary.customer] = error.message
            report.count(day, "failed")


def same(held: CustomerSubscription | None, summary: CustomerSubscription) -> bool:
    """Whether the ERP already holds the summary (an ERP that keeps no subscription id gives
    ``""`` for it, which then is not compared)."""
    if held is None:
        return False
    if not held.subscription_id:
        summary = CustomerSubscription(**{**summary.__dict__, "subscription_id": ""})
    return held == summary
