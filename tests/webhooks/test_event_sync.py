"""Stripe sandbox -> webhook receiver -> landing table -> event sync run -> mirror.

The same activity, landed once in order (from Stripe's event list) and landed by
webhooks delivered one to three times in shuffled order, leaves the same mirror.
"""
from __future__ import annotations

import uuid

import orjson
import pytest
import sqlalchemy as sa
import stripe

from pipelines.ops import stripe_event_sync
from resources import ErpResource, StripeResource, WarehouseResource
from connectors.erp import make_adapter
from tests.erp.conftest import start_erp_sandbox
from tests.sandbox.fixtures import start_stripe_sandbox
from tests.support.erp_checks import erp_summary
from tests.support.processes import free_port, python_module, spawn
from warehouse.db import make_engine
from warehouse.events import event_row, insert_events
from warehouse.migrate import upgrade
from warehouse.schema import MIRROR_TABLES, stripe_events

DAY = 86400


@pytest.fixture
def sb(tmp_path):
    sandbox = start_stripe_sandbox(tmp_path, history_days=0)
    yield sandbox
    sandbox.stop()


def make_activity(client: stripe.StripeClient, sb) -> None:
    """Customers paying in three currencies, refunds (full, partial), a dispute, payouts."""
    pis = []
    for i, (currency, amount) in enumerate([("usd", 2599), ("eur", 1850), ("jpy", 4200),
                                            ("usd", 990), ("usd", 15000), ("eur", 700)]):
        cus = client.v1.customers.create(params={"email": f"{uuid.uuid4().hex[:8]}@example.test",
                                                 "name": f"Buyer {i}"})
        pm = "pm_card_createDispute" if i == 4 else "pm_card_visa"
        pis.append(client.v1.payment_intents.create(params={
            "amount": amount, "currency": currency, "customer": cus.id, "payment_method": pm,
            "confirm": True, "metadata": {"sku": f"SKU-{1000 + i:05d}"}}))
    client.v1.refunds.create(params={"payment_intent": pis[0].id})
    client.v1.refunds.create(params={"payment_intent": pis[1].id, "amount": 500})
    sb.advance(3 * DAY)   # balances become available, automatic payouts run


def land_in_order(sb, engine) -> int:
    """Every event from Stripe's list, oldest first, exactly once."""
    events = []
    url, key = sb.base_url, sb.api_key
    client = stripe.StripeClient(key, base_addresses={"api": url})
    for ev in client.v1.events.list(params={"limit": 100}).auto_paging_iter():
        events.append(ev.to_dict())
    events.reverse()
    with engine.begin() as conn:
        insert_events(conn, [event_row(e, orjson.dumps(e).decode(), "catchup") for e in events])
    return len(events)


def erp_resource(erp) -> ErpResource:
    if erp is None:
        return ErpResource()
    return ErpResource(kind="tims", base_url=erp.env["ERP_BASE_URL"],
                       tims_client_id=erp.env["TIMS_CLIENT_ID"],
                       tims_client_secret=erp.env["TIMS_CLIENT_SECRET"])


def apply(sb, url: str, erp=None, up_to: int | None = None) -> None:
    with make_engine(url).connect() as conn:
        hi = up_to or conn.execute(sa.select(sa.func.max(stripe_events.c.seq))).scalar()
    result = stripe_event_sync.execute_in_process(
        run_config={"ops": {"apply_stripe_events": {"config": {"up_to": hi}}}},
        resources={"stripe": StripeResource(api_key=sb.api_key, api_base=sb.base_url,
                                            rate_limit=1000),
                   "warehouse": WarehouseResource(url=url), "erp": erp_resource(erp)})
    assert result.success


def mirror(url: str) -> dict[str, list]:
    """Mirror rows without the bookkeeping that differs between fetches."""
    engine = make_engine(url)
    with engine.connect() as conn:
        out = {}
        for name, table in MIRROR_TABLES.items():
            cols = [c for c in table.columns if not c.name.startswith("_")]
            out[name] = [tuple(r) for r in conn.execute(sa.select(*cols).order_by(table.c.id))]
        statuses = conn.execute(sa.select(stripe_events.c.status, sa.func.count())
                                .group_by(stripe_events.c.status)).all()
    return out | {"statuses": sorted(s for s, _ in statuses)}


def test_shuffled_duplicate_deliveries_equal_one_in_order_delivery(sb, tmp_path) -> None:
    client = stripe.StripeClient(sb.api_key, base_addresses={"api": sb.base_url})
    port = free_port()
    endpoint = client.v1.webhook_endpoints.create(params={
        "url": f"http://127.0.0.1:{port}/webhooks/stripe", "enabled_events": ["*"]})
    hooked = f"sqlite:///{tmp_path / 'hooked.db'}"
    upgrade(make_engine(hooked))
    receiver = spawn(python_module("webhooks", "--port", str(port)), tmp_path / "receiver.log",
                     health_url=f"http://127.0.0.1:{port}/health",
                     env={"STRIPE_WEBHOOK_SECRET": f"whsec_unused,{endpoint.secret}",
                          "WAREHOUSE_URL": hooked})
    try:
        sb.configure(webhook_duplicate_rate=1.0, webhook_shuffle=True)  # 1-3 copies, any order
        make_activity(client, sb)
        sb.flush_webhooks(timeout=60)
    finally:
        receiver.stop()
    deliveries = sb.stats()["webhooks"]
    in_order = f"sqlite:///{tmp_path / 'ordered.db'}"
    upgrade(make_engine(in_order))
    n_events = land_in_order(sb, make_engine(in_order))

    with make_engine(hooked).connect() as conn:
        landed = conn.execute(sa.select(sa.func.count()).select_from(stripe_events)).scalar()
    assert landed == n_events > 20           # every event once, duplicates dropped
    assert deliveries["duplicates"] > 0 and deliveries["delivered"] > landed

    for i in range(2):
        (tmp_path / f"erp{i}").mkdir()
    erps = [start_erp_sandbox("tims", tmp_path / f"erp{i}") for i in range(2)]
    try:
        apply(sb, hooked, erps[0], up_to=1)   # a run launched for the first range takes all
        apply(sb, in_order, erps[1])
        a, b = mirror(hooked), mirror(in_order)
        assert a == b
        # ... and the same ERP: every succeeded charge's receipt, once, in both
        hooked_erp, ordered_erp = (erp_summary(make_adapter(e.env)) for e in erps)
        assert hooked_erp == ordered_erp
        assert len(hooked_erp["payment"]) == 6 and hooked_erp["journal"]
    finally:
        for e in erps:
            e.proc.stop()
    assert len(a["stripe_charges"]) == 6 and len(a["stripe_refunds"]) == 2
    assert len(a["stripe_disputes"]) == 1 and a["stripe_payouts"]
    assert a["statuses"] == ["applied", "ignored"] or a["statuses"] == ["applied"]
    # the balance transactions of the charges came along with them
    charged = {row[0] for row in a["stripe_balance_transactions"]}
    assert len(charged) >= 6 + 2 + 1


def test_catch_up_lands_what_webhooks_missed_and_alerts_near_retention(sb, tmp_path) -> None:
    from dagster import materialize

    from assets.events import stripe_events_catchup
    client = stripe.StripeClient(sb.api_key, base_addresses={"api": sb.base_url})
    make_activity(client, sb)                  # no endpoint: every webhook was "missed"
    url = f"sqlite:///{tmp_path / 'w.db'}"
    resources = {"stripe": StripeResource(api_key=sb.api_key, api_base=sb.base_url,
                                          rate_limit=1000),
                 "warehouse": WarehouseResource(url=url)}
    engine = make_engine(url)
    upgrade(engine)
    # a webhook did arrive for the oldest event; catch-up starts from there
    oldest = list(client.v1.events.list(params={"limit": 100}).auto_paging_iter())[-1].to_dict()
    with engine.begin() as conn:
        insert_events(conn, [event_row(oldest, orjson.dumps(oldest).decode())])
    result = materialize([stripe_events_catchup], resources=resources)
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.passed
    total = len(list(client.v1.events.list(params={"limit": 100}).auto_paging_iter()))
    with engine.connect() as conn:
        sources = dict(conn.execute(sa.select(stripe_events.c.source, sa.func.count())
                                    .group_by(stripe_events.c.source)).all())
    assert sources == {"webhook": 1, "catchup": total - 1}
    # running it again lands nothing new
    again = materialize([stripe_events_catchup], resources=resources)
    assert again.asset_materializations_for_node("stripe__events")[0] \
        .metadata["events_caught_up"].value == 0

    # the newest event we hold is ~27 days old (the sandbox clock ran 3 days ahead): it fails loudly
    with engine.begin() as conn:
        conn.execute(stripe_events.update().values(created=stripe_events.c.created - 30 * DAY))
    late = materialize([stripe_events_catchup], resources=resources, raise_on_error=False)
    [check] = late.get_asset_check_evaluations()
    assert not check.passed and check.severity.value == "ERROR"
    assert check.metadata["gap_days"].value > 25


def test_killed_receiver_and_crashed_run_lose_nothing_and_duplicate_nothing(
        sb, tmp_path, monkeypatch) -> None:
    from collections import Counter

    from connectors.erp import make_adapter
    from domain.erp import DocKind
    from tests.erp.conftest import start_erp_sandbox
    import posting.run

    erp = start_erp_sandbox("tims", tmp_path)
    try:
        client = stripe.StripeClient(sb.api_key, base_addresses={"api": sb.base_url})
        port = free_port()
        endpoint = client.v1.webhook_endpoints.create(params={
            "url": f"http://127.0.0.1:{port}/webhooks/stripe", "enabled_events": ["*"]})
        url = f"sqlite:///{tmp_path / 'w.db'}"
        upgrade(make_engine(url))
        env = {"STRIPE_WEBHOOK_SECRET": endpoint.secret, "WAREHOUSE_URL": url}
        sb.configure(webhook_retry_base_ms=20, webhook_max_attempts=20)

        def receiver():
            return spawn(python_module("webhooks", "--port", str(port)), tmp_path / "r.log",
                         health_url=f"http://127.0.0.1:{port}/health", env=env)
        first = receiver()
        make_activity(client, sb)
        first.kill()                                  # SIGKILL mid-stream
        more = [client.v1.payment_intents.create(params={
            "amount": 3000 + i, "currency": "usd", "payment_method": "pm_card_visa",
            "confirm": True}) for i in range(3)]      # delivered while it is down: retried
        second = receiver()
        try:
            sb.flush_webhooks(timeout=60)
        finally:
            second.stop()
        listed = {e.id for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()}
        with make_engine(url).connect() as conn:
            landed = set(conn.execute(sa.select(stripe_events.c.id)).scalars())
        assert landed == listed                       # no event lost

        # the run crashes after the ERP answered its first batch, before recording it
        resources = {"stripe": StripeResource(api_key=sb.api_key, api_base=sb.base_url,
                                              rate_limit=1000),
                     "warehouse": WarehouseResource(url=url), "erp": erp_resource(erp)}
        with make_engine(url).connect() as conn:
            hi = conn.execute(sa.select(sa.func.max(stripe_events.c.seq))).scalar()
        config = {"ops": {"apply_stripe_events": {"config": {"up_to": hi}}}}
        original = posting.run.Poster._record
        calls = {"n": 0}

        def crash_once(self, *args, **kw):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("run killed")
            return original(self, *args, **kw)
        monkeypatch.setattr(posting.run.Poster, "_record", crash_once)
        crashed = stripe_event_sync.execute_in_process(run_config=config, resources=resources,
                                                       raise_on_error=False)
        assert not crashed.success
        with make_engine(url).connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(stripe_events)
                                .where(stripe_events.c.status == "pending")).scalar() == len(listed)
        monkeypatch.setattr(posting.run.Poster, "_record", original)
        assert stripe_event_sync.execute_in_process(run_config=config, resources=resources).success

        adapter = make_adapter(erp.env)
        receipts = [r.doc.external_id for r in adapter.read(DocKind.PAYMENT)]
        assert Counter(receipts).most_common(1)[0][1] == 1          # nothing twice
        assert set(receipts) == {pi.latest_charge for pi in more} | {
            c.id for c in client.v1.charges.list(params={"limit": 100}).auto_paging_iter()
            if c.status == "succeeded"}
        journals = [r.doc.external_id for r in adapter.read(DocKind.JOURNAL)]
        assert len(journals) == len(set(journals))
    finally:
        erp.proc.stop()
