"""ops/anomalies on a Stripe sandbox history with injected card testing, refund abuse and
mislabelled SKUs: the asset stores the scores, its check warns with the flagged objects,
and precision and recall on this seeded set are at least 0.9."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from dagster import AssetCheckSeverity, instance_for_test, materialize

from assets.anomalies import CHECK, anomalies
from connectors.stripe import StripeApi
from resources import WarehouseResource
from tests.sandbox.fixtures import start_stripe_sandbox
from tests.support.anomaly_cases import inject
from warehouse.db import make_engine
from warehouse.migrate import upgrade
from warehouse.schema import anomaly_scores
from warehouse.stripe_sync import sync_window

TARGETS = ["customers", "products", "prices", "charges", "refunds", "disputes",
           "balance_transactions"]


def day(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d")


@pytest.fixture(scope="module")
def injected(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("anomalies")
    sb = start_stripe_sandbox(tmp, history_days=3, scale="tiny", seed=21)
    try:
        first = sb.control("GET", "health")["clock"] - 4 * 86400
        truth = inject(sb.base_url, sb.api_key, bursts=3, refunders=3, mislabelled=5, seed=21)
        url = f"sqlite:///{tmp / 'warehouse.db'}"
        engine = make_engine(url)
        upgrade(engine)
        sync_window(StripeApi(sb.api_key, sb.base_url, rate_limit=10_000), engine, TARGETS,
                    None, None)
        last = sb.control("GET", "health")["clock"]
    finally:
        sb.stop()
    return url, truth, first, last


def test_anomaly_asset_flags_the_injected_cases_and_its_check_warns(injected) -> None:
    url, truth, first, last = injected
    with instance_for_test() as instance:
        result = materialize([anomalies], resources={"warehouse": WarehouseResource(url=url)},
                             instance=instance,
                             tags={"dagster/asset_partition_range_start": day(first),
                                   "dagster/asset_partition_range_end": day(last)})
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == CHECK and not check.passed
    assert check.severity == AssetCheckSeverity.WARN
    with make_engine(url).connect() as conn:
        rows = conn.execute(sa.select(anomaly_scores.c.object_id, anomaly_scores.c.object_type,
                                      anomaly_scores.c.flagged, anomaly_scores.c.reasons)).all()
    assert {r.object_type for r in rows} >= {"charge", "refund"}
    flagged = {r.object_id for r in rows if r.flagged}
    assert check.metadata["flagged"].value == len(flagged)
    hits = flagged & truth.all
    precision, recall = len(hits) / len(flagged), len(hits) / len(truth.all)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
    for name in ("card_testing", "refund_abuse", "mislabelled"):
        assert getattr(truth, name) & flagged, name          # every kind of case is caught
    reasons = {r.object_id: r.reasons for r in rows}
    assert any("not a whole number" in reasons[i] or "not in the Stripe catalogue" in reasons[i]
               for i in truth.mislabelled)
