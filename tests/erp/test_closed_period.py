"""A closed accounting period, as each ERP refuses it: postings dated in it are refused by
the ERP, land as dead letters naming the period, and once the period is reopened a replay
posts them, exactly once.

The period is closed through each sandbox's control call ``POST /_sandbox/periods
{"close": "YYYY-MM"}`` (``{"open": ...}`` reopens it), the stand-in for the ERP user who
closes a month; an ERP takes part once its sandbox answers that call.
"""
from __future__ import annotations

import shutil
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from domain.erp import DocKind
from domain.mapping import load_mapping
from domain.postings import utc_date
from posting.run import post_window, replay_dead_letters
from tests.posting.fake_erp import FakeErp
from tests.support.erp_checks import erp_summary
from tests.support.erp_ledger import (missing_capability, names_period, sums,
                                      unbalanced_vouchers)
from tests.support.truth import DAY
from warehouse.db import make_engine

MAPPING = load_mapping()
CLEARING = MAPPING.accounts.stripe_clearing
DATED = (DocKind.INVOICE, DocKind.PAYMENT, DocKind.JOURNAL, DocKind.DEPOSIT)


def test_closed_period_refused_dead_lettered_then_replayed_once(erp, engine, mirrored,
                                                                tmp_path) -> None:
    reason = missing_capability("periods", control_url=erp.control_url, kind=erp.kind)
    if reason:
        pytest.skip(reason)
    start = (mirrored[1] // DAY - 25) * DAY
    gte, lt = start, start + 2 * DAY
    if utc_date(lt - 1).month != utc_date(gte).month:   # keep the window inside one month
        gte, lt = gte - DAY, lt - DAY
    day = utc_date(gte)
    period = f"{day:%Y-%m}"
    clean_path = tmp_path / "clean.db"
    shutil.copy(engine.url.database, clean_path)
    clean = FakeErp()
    post_window(clean, make_engine(f"sqlite:///{clean_path}"), MAPPING, gte, lt)

    erp.control("POST", "periods", {"close": period})
    adapter = erp.adapter()
    report = post_window(adapter, engine, MAPPING, gte, lt)
    assert report.dead > 0
    with engine.connect() as conn:
        letters = conn.execute(sa.text(
            "SELECT kind, external_id, error_type, error_message FROM erp_dead_letters "
            "WHERE resolved_at IS NULL")).all()
    refused = [row for row in letters if row[2] == "ErpValidationError"]
    assert refused, letters[:5]
    assert all(names_period(row[3], day) for row in refused), [row[3] for row in refused][:5]
    assert any(row[0] == DocKind.JOURNAL.value for row in refused)
    for kind in DATED:                                # nothing dated in the period got in
        ids = [row[1] for row in letters if row[0] == kind.value]
        assert ids == [] or adapter.read(kind, ids) == [], kind

    erp.control("POST", "periods", {"open": period})
    replay = replay_dead_letters(adapter, engine, MAPPING)
    assert replay.dead == 0, replay.totals()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM erp_dead_letters "
                                    "WHERE resolved_at IS NULL")).scalar() == 0
    assert erp_summary(adapter) == erp_summary(clean)
    for kind in DATED:                                # and nothing twice
        held = [r.doc.external_id for r in adapter.read(kind)]
        assert len(held) == len(set(held)) == len(clean.docs[kind]), kind
    if missing_capability("gl_lines", adapter) is None:   # the ledger holds each once too
        lines = adapter.gl_lines(None, utc_date(lt) + timedelta(days=40))
        assert lines and not unbalanced_vouchers(lines)
        clearing = {cur: v for cur, v in sums((x for x in lines if x.account == CLEARING),
                                              lambda x: x.currency).items() if v}
        assert clearing == clearing_movement(clean)


def clearing_movement(erp: FakeErp) -> dict[str, int]:
    """What the documents move through Stripe clearing, per currency: receipts in (the
    Stripe bank account's GL is clearing), journal legs, deposits out."""
    out: Counter = Counter()
    for pay in erp.docs[DocKind.PAYMENT].values():
        out[pay.amount.currency] += pay.amount.amount
    for journal in erp.docs[DocKind.JOURNAL].values():
        for line in journal.lines:
            if line.account == CLEARING:
                out[journal.currency] += line.debit.amount - line.credit.amount
    for dep in erp.docs[DocKind.DEPOSIT].values():
        if dep.clearing_account == CLEARING:
            out[dep.amount.currency] -= dep.amount.amount
    return {cur: v for cur, v in out.items() if v}
