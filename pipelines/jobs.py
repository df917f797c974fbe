"""Jobs: named selections of the asset graph that schedules and sensors target."""
from __future__ import annotations

from dagster import AssetSelection, define_asset_job

stripe_mirror_job = define_asset_job(
    "stripe_mirror_job",
    selection=AssetSelection.groups("stripe").materializable()
    - AssetSelection.assets(["stripe", "events"]),
    description="Mirror every Stripe object type for the selected days.",
    tags={"team": "finance-data"})

reconciliation_job = define_asset_job(
    "payout_reconciliation", selection=AssetSelection.assets(["reconciliation", "payouts"]),
    description="Reconcile the payouts arriving on the selected days against the ERP.",
    tags={"team": "finance-data"})

month_end_close_job = define_asset_job(
    "month_end_close", selection=AssetSelection.assets(["close", "trial_balance"]),
    description="Close the selected months: the ERP's ledger against Stripe, per currency.",
    tags={"team": "finance-data"})

revenue_month_job = define_asset_job(
    "revenue_month",
    selection=AssetSelection.assets(["revenue", "schedules"], ["erp", "revenue_recognition"],
                                    ["revenue", "waterfall"]),
    description="The selected months' revenue: schedules (blocking check), the month's revenue "
                "journal in the ERP, the waterfall.",
    tags={"team": "finance-data"})

jobs = [stripe_mirror_job, reconciliation_job, month_end_close_job, revenue_month_job]
