"""What an event-driven run changed, reported as materializations of the assets and partitions
it changed, so the catalog, the partitions and the lineage show near-real-time updates the same
way as backfills do (the run's tags say what launched it)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from dagster import AssetMaterialization, MetadataValue

from assets.erp import ERP_ASSETS, erp_key
from assets.stripe import stripe_key
from pipelines.partitions import stripe_daily
from posting.run import PostingReport
from warehouse.event_sync import EventSyncResult

EPOCH = date(1970, 1, 1)
SHOWN = 20   # object ids named in a materialization's metadata


def changed_assets(result: EventSyncResult, report: PostingReport | None, erp: str,
                   source: str) -> Iterator[AssetMaterialization]:
    """One materialization per Stripe asset and day whose mirror rows the run inserted or
    updated, and per ERP asset and day whose documents it created, found, dead-lettered or left
    waiting. A Stripe object older than the first partition changes the first partition (which
    holds everything created before it); other days outside the partitions are left out.
    Objects that are not mirrored (credit notes) get one materialization naming them."""
    keys = set(stripe_daily.get_partition_keys())
    first = stripe_daily.get_first_partition_key()
    for name, ids in sorted(result.noted.items()):
        yield AssetMaterialization(asset_key=stripe_key(name), metadata={
            "changed_by": source, "objects_changed": len(ids),
            "first_changed": ", ".join(sorted(ids)[:SHOWN])})
    for target, days in sorted(result.written_days.items()):
        for key in sorted({max((EPOCH + timedelta(days=d)).isoformat(), first) for d in days}):
            if key in keys:
                yield AssetMaterialization(asset_key=stripe_key(target), partition=key,
                                           metadata={"changed_by": source})
    if report is None:
        return
    for day, kinds in sorted(report.by_day.items(), key=lambda kv: str(kv[0])):
        if day is None or day.isoformat() not in keys:
            continue
        for name, (kind, _, _) in ERP_ASSETS.items():
            rep = kinds[kind]
            if rep.created + rep.found + rep.dead + rep.blocked + rep.waiting + rep.too_long == 0:
                continue
            yield AssetMaterialization(asset_key=erp_key(name), partition=day.isoformat(),
                                       metadata={
                "erp": erp, "changed_by": source, "created": rep.created,
                "found_in_erp": rep.found, "dead_lettered": rep.dead, "blocked": rep.blocked,
                "waiting_for_erp": rep.waiting, "too_long_for_erp": rep.too_long,
                "documents": MetadataValue.int(rep.documents)})
