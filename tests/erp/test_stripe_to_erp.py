"""A generated Stripe history, posted into each ERP sandbox through its adapter, checked
through the ERP's own API: complete, to the cent, exactly once, under faults and crashes."""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from domain.erp import DocKind
from domain.mapping import load_mapping
from posting.run import post_window, replay_dead_letters
from tests.posting.fake_erp import FakeErp
from tests.support.erp_checks import check_erp_matches_stripe, erp_summary
from tests.support.truth import DAY
from warehouse.db import make_engine

MAPPING = load_mapping()


def days(mirrored, first: int, n: int) -> tuple[int, int]:
    """``n`` whole days starting ``first`` days into the 30-day history."""
    clock = mirrored[1]
    start = (clock // DAY - 30 + first) * DAY
    return start, start + n * DAY


def test_thirty_days_of_stripe_land_in_the_erp(posted_history) -> None:
    adapter, engine = posted_history.adapter, posted_history.engine   # posted once per ERP
    assert posted_history.report.dead == 0, posted_history.report.totals()
    counts = check_erp_matches_stripe(adapter, engine)
    assert counts["payments"] > 500 and counts["payment_currencies"] >= 4
    # the same sync again: nothing posted, not one ERP call
    calls = adapter.calls
    again = post_window(adapter, engine, MAPPING, None, None)
    assert again.posted == 0 and adapter.calls == calls


def test_killed_half_way_with_five_percent_faults_then_rerun_equals_a_clean_run(
        erp, engine, mirrored, tmp_path) -> None:
    gte, lt = days(mirrored, 10, 6)
    clean = FakeErp()
    post_window(clean, engine_copy(engine, tmp_path), MAPPING, gte, lt)

    erp.fault(kind="503", rate=0.03, retry_after=0)
    erp.fault(kind="500", rate=0.02, after=True)  # acted, answer lost
    adapter = erp.adapter()
    original, batches = adapter.post, {"n": 0}

    def dying(docs):
        batches["n"] += 1
        results = original(docs)
        if batches["n"] == 4:
            raise SystemExit("killed after the ERP answered")
        return results
    adapter.post = dying
    with pytest.raises(SystemExit):
        post_window(adapter, engine, MAPPING, gte, lt, batch_size=100)
    adapter.post = original
    report = post_window(adapter, engine, MAPPING, gte, lt, batch_size=100)
    assert report.dead == 0, report.totals()
    erp.control("DELETE", "faults")
    assert erp_summary(erp.adapter()) == erp_summary(clean)


def test_refused_documents_are_dead_lettered_and_replayed_after_the_mapping_is_fixed(
        erp, engine, mirrored, tmp_path) -> None:
    gte, lt = days(mirrored, 5, 4)
    clean = FakeErp()
    post_window(clean, engine_copy(engine, tmp_path), MAPPING, gte, lt)
    sold = {line.sku for o in clean.docs[DocKind.SALES_ORDER].values() for line in o.lines}
    sku = sorted(s for s in sold if s.startswith("SKU-"))[0]
    broken = MAPPING.model_copy(update={"items": MAPPING.items.model_copy(
        update={"by_sku": {sku: "NO-SUCH-ITEM"}})})
    adapter = erp.adapter()
    report = post_window(adapter, engine, broken, gte, lt)
    assert report.dead > 0
    with engine.connect() as conn:
        letters = conn.execute(sa.text(
            "SELECT kind, error_type, error_message FROM erp_dead_letters "
            "WHERE resolved_at IS NULL")).all()
    refused = [row for row in letters if row[1] == "ErpValidationError"]
    assert refused and all(row[2] for row in refused)          # the ERP's own words
    assert any("NO-SUCH-ITEM" in row[2] for row in refused), refused[:3]
    replay = replay_dead_letters(adapter, engine, MAPPING)     # mapping fixed
    assert replay.dead == 0
    assert erp_summary(adapter) == erp_summary(clean)


def engine_copy(engine: sa.Engine, tmp_path) -> sa.Engine:
    path = tmp_path / "clean-copy.db"
    shutil.copy(engine.url.database, path)
    return make_engine(f"sqlite:///{path}")
