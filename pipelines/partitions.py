"""Partitions shared by the asset graph.

Stripe objects are partitioned by the UTC day they were ``created``.
``STRIPE_SYNC_START_DATE`` (default 2025-01-01) is the first partition; it
also takes everything created before it, so nothing older is left out.
Today's partition exists (``end_offset=1``) so intraday syncs have a home.
"""
from __future__ import annotations

import os

from dagster import DailyPartitionsDefinition, MonthlyPartitionsDefinition

START_DATE = os.environ.get("STRIPE_SYNC_START_DATE") or "2025-01-01"

stripe_daily = DailyPartitionsDefinition(start_date=START_DATE, timezone="UTC", end_offset=1)

# The month-end close: one partition per month, keyed by its first day (``2026-11-01``), in the
# reporting timezone (``CLOSE_TIMEZONE``, default UTC); a month is closable once it has ended.
CLOSE_TIMEZONE = os.environ.get("CLOSE_TIMEZONE") or "UTC"

close_monthly = MonthlyPartitionsDefinition(start_date=START_DATE[:7] + "-01",
                                            timezone=CLOSE_TIMEZONE, fmt="%Y-%m-%d")

# Revenue recognition: one partition per UTC month, keyed by its first day (``2026-11-01``), the
# months the schedules are cut at (UTC days, like Stripe's "By day" amortization).
revenue_monthly = MonthlyPartitionsDefinition(start_date=START_DATE[:7] + "-01", timezone="UTC",
                                              fmt="%Y-%m-%d")
