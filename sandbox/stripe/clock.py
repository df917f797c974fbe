"""Sandbox clock and calendar helpers.

The sandbox clock is real time plus an offset, so tests and demos can jump
forward (``Engine.advance_clock``) while time still flows between calls.
Calendar maths (midnights, monthly billing anchors) is UTC, like Stripe's
``available_on`` and payout schedules.
"""

from __future__ import annotations

import calendar
import time

DAY = 86_400


class Clock:
    """Real time plus an offset in whole seconds.

    ``pinned`` freezes the clock at a given instant; the generator's replay
    mode uses it to walk history through the live code path.
    """

    def __init__(self, start_time: int | None = None) -> None:
        self.offset = 0 if start_time is None else start_time - int(time.time())
        self.pinned: int | None = None

    def now(self) -> int:
        if self.pinned is not None:
            return self.pinned
        return int(time.time()) + self.offset

    def advance(self, seconds: int) -> None:
        self.offset += seconds


def midnight(t: int) -> int:
    """Start of the UTC day containing ``t``."""
    return t - t % DAY


def add_months(anchor: int, months: int) -> int:
    """``anchor`` moved by whole calendar months, clamping the day of month
    (Jan 31 + 1 month = Feb 28/29), as Stripe does for billing anchors."""
    tm = time.gmtime(anchor)
    month0 = tm.tm_mon - 1 + months
    year, month = tm.tm_year + month0 // 12, month0 % 12 + 1
    day = min(tm.tm_mday, calendar.monthrange(year, month)[1])
    return calendar.timegm((year, month, day, tm.tm_hour, tm.tm_min, tm.tm_sec))
