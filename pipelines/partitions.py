"""Partitions shared by the asset graph.

Stripe objects are partitioned by the UTC day they were ``created``.
``STRIPE_SYNC_START_DATE`` (default 2025-01-01) is the first partition; it
also takes everything created before it, so nothing older is left out.
Today's partition exists (``end_offset=1``) so intraday syncs have a home.
"""
from __future__ import annotations

import os

from dagster import DailyPartitionsDefinition

START_DATE = os.environ.get("STRIPE_SYNC_START_DATE") or "2025-01-01"

stripe_daily = DailyPartitionsDefinition(start_date=START_DATE, timezone="UTC", end_offset=1)
