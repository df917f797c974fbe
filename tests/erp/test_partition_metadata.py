"""A 5-day range posted to the ERP in one run: each day's partition carries that day's own
documents and ERP calls, not the run's total (what the link table says per source day)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import sqlalchemy as sa
from dagster import instance_for_test, materialize

from assets.erp import ERP_ASSETS, erp_key, erp_posting
from resources.erp import ERP_ENV, ErpResource
from resources.stripe import StripeResource
from resources.warehouse import WarehouseResource
from tests.erp.test_stripe_to_erp import days
from warehouse.schema import erp_links


def test_each_partition_of_a_range_gets_its_own_documents_and_calls(tims, engine, mirrored,
                                                                     stripe_history) -> None:
    gte, lt = days(mirrored, 20, 5)
    keys = [datetime.fromtimestamp(gte + i * 86400, tz=timezone.utc).strftime("%Y-%m-%d")
            for i in range(5)]
    erp = ErpResource(**{f: tims.env[v] for f, v in ERP_ENV.items() if tims.env.get(v)})
    with instance_for_test() as instance:
        result = materialize([erp_posting], instance=instance, resources={
            "erp": erp, "warehouse": WarehouseResource(url=str(engine.url)),
            "stripe": StripeResource(api_key=stripe_history.api_key,
                                     api_base=stripe_history.base_url)},
            tags={"dagster/asset_partition_range_start": keys[0],
                  "dagster/asset_partition_range_end": keys[-1]})
    assert result.success
    mats = result.asset_materializations_for_node("erp_posting")
    assert len(mats) == len(ERP_ASSETS) * 5
    meta = {(m.asset_key, m.partition): m.metadata for m in mats}

    with engine.connect() as conn:      # what the link table holds per kind and source day
        links = Counter((k, str(max(min(d, keys[-1]), keys[0]) if d else keys[0]))
                        for k, d in conn.execute(sa.select(
                            erp_links.c.kind, sa.cast(erp_links.c.source_day, sa.String))))
    for name, (kind, _, _) in ERP_ASSETS.items():
        per_day = [meta[(erp_key(name), k)]["created"].value for k in keys]
        assert per_day == [links[(kind.value, k)] for k in keys], name
    orders = [meta[(erp_key("sales_orders"), k)]["documents"].value for k in keys]
    assert len(set(orders)) > 1 and all(orders)          # days differ: the test can tell
    calls = [meta[(erp_key("invoices"), k)]["erp_calls_all_kinds"].value for k in keys]
    assert sum(calls) == meta[(erp_key("invoices"), keys[0])]["run_erp_calls"].value
    assert [meta[(erp_key("invoices"), k)]["window_start"].value for k in keys] == \
        [gte + i * 86400 for i in range(5)]
