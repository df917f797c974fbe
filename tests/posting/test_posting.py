"""Posting Stripe activity into an ERP (in-memory fake): exactly once, to the cent,
dead letters with the ERP's message, replay after the cause is fixed."""
from __future__ import annotations

import random
import shutil
from collections import defaultdict

import pytest
import sqlalchemy as sa

from connectors.erp.base import ErpTransientError
from domain.erp import DocKind
from domain.mapping import load_mapping
from posting.run import post_window, replay_dead_letters
from tests.posting.fake_erp import FakeErp
from tests.support.erp_checks import check_erp_matches_stripe
from warehouse.db import make_engine
from warehouse.schema import erp_dead_letters, erp_links

MAPPING = load_mapping()


def bts(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT id, type, reporting_category, amount, fee, currency, source_id "
            "FROM stripe_balance_transactions")).all()


def snapshot(erp: FakeErp) -> dict:
    return {k: dict(v) for k, v in erp.docs.items()} | {"balances": dict(erp.balances),
                                                       "on_hand": dict(erp.on_hand_qty)}


def test_every_charge_becomes_a_receipt_and_journals_match_stripe_to_the_cent(engine) -> None:
    erp = FakeErp()
    report = post_window(erp, engine, MAPPING, None, None)
    assert report.dead == 0 and report.posted > 0
    counts = check_erp_matches_stripe(erp, engine)
    assert counts["payment_currencies"] > 1  # non-USD customers, settled in USD
    assert counts["fx_charges"] > 10            # ... each exchanged through the FX account
    assert any(r[2] == "refund" for r in bts(engine)) and any(r[2] == "dispute" for r in bts(engine))


def test_running_twice_posts_nothing_new_and_makes_no_erp_call(engine) -> None:
    erp = FakeErp()
    post_window(erp, engine, MAPPING, None, None)
    before, calls = snapshot(erp), erp.calls
    again = post_window(erp, engine, MAPPING, None, None)
    assert snapshot(erp) == before
    assert erp.calls == calls and again.posted == 0
    assert again.totals()["already_linked"] == again.totals()["documents"]


def test_run_killed_after_the_erp_answered_then_rerun_equals_a_clean_run(engine, tmp_path) -> None:
    clean = FakeErp()
    clean_engine = make_engine(f"sqlite:///{tmp_path / 'clean.db'}")
    shutil.copy(engine.url.database, tmp_path / "clean.db")
    post_window(clean, clean_engine, MAPPING, None, None)

    erp = FakeErp()
    original = erp.post
    count = {"n": 0}

    def crashing_post(docs):
        count["n"] += 1
        if count["n"] == 3:
            original(docs)              # the ERP acts ...
            raise KeyboardInterrupt     # ... and the run dies before recording it
        return original(docs)
    erp.post = crashing_post
    with pytest.raises(KeyboardInterrupt):
        post_window(erp, engine, MAPPING, None, None)
    erp.post = original
    post_window(erp, engine, MAPPING, None, None)
    assert snapshot(erp) == snapshot(clean)


def test_five_percent_transient_failures_change_nothing(engine, tmp_path) -> None:
    clean = FakeErp()
    shutil.copy(engine.url.database, tmp_path / "clean.db")
    post_window(clean, make_engine(f"sqlite:///{tmp_path / 'clean.db'}"), MAPPING, None, None)

    erp = FakeErp()
    rng = random.Random(5)
    original = erp.post

    def flaky(docs):
        roll = rng.random()
        if roll < 0.05:
            raise ErpTransientError("HTTP 503", status=503)
        if roll < 0.10:  # lost answer: the ERP acted
            original(docs)
            raise ErpTransientError("read timeout")
        return original(docs)
    erp.post = flaky
    report = post_window(erp, engine, MAPPING, None, None, batch_size=20)
    assert report.dead == 0
    assert snapshot(erp) == snapshot(clean)


def test_rejected_documents_are_dead_lettered_then_replayed_once_fixed(engine, tmp_path) -> None:
    clean = FakeErp()
    shutil.copy(engine.url.database, tmp_path / "clean.db")
    post_window(clean, make_engine(f"sqlite:///{tmp_path / 'clean.db'}"), MAPPING, None, None)

    erp = FakeErp()
    erp.items.discard("SKU-01003")
    report = post_window(erp, engine, MAPPING, None, None)
    assert report.dead > 0
    with engine.connect() as conn:
        letters = [dict(r._mapping) for r in conn.execute(sa.select(erp_dead_letters))]
    by_type = defaultdict(list)
    for letter in letters:
        by_type[letter["error_type"]].append(letter)
    refused = by_type["ErpValidationError"]
    assert refused and all(l["error_message"] == "Item SKU-01003 does not exist" for l in refused)
    assert {l["kind"] for l in refused} == {"sales_order"}
    assert all(l["payload"]["lines"][0]["sku"] == "SKU-01003" for l in refused)
    blocked = by_type["Blocked"]
    assert {l["kind"] for l in blocked} == {"invoice", "payment", "inventory"}
    assert all("waits for" in l["error_message"] for l in blocked)
    # the rest of each batch went through
    assert len(erp.docs[DocKind.PAYMENT]) == len(clean.docs[DocKind.PAYMENT]) - sum(
        1 for l in blocked if l["kind"] == "payment")

    erp.items.add("SKU-01003")          # the cause is fixed in the ERP
    replay = replay_dead_letters(erp, engine, MAPPING)
    assert replay.dead == 0 and replay.posted >= len(letters)
    assert snapshot(erp) == snapshot(clean)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(erp_dead_letters)
                            .where(erp_dead_letters.c.resolved_at.is_(None))).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(erp_links)
                            .where(erp_links.c.status != "posted")).scalar() == 0
