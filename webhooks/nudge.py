"""Launch a sync run as soon as events land, instead of waiting for the sensor's tick.

Optional (``DAGSTER_GRAPHQL_URL``, e.g. ``http://127.0.0.1:3000/graphql``): after a
commit with new events, a thread claims the pending range (the same
``stripe_event_claims`` the sensor uses, so no range is launched twice) and
launches ``stripe_event_sync`` for it through Dagster's GraphQL API, at most
once per ``min_interval`` seconds so a burst becomes a few runs, and not at all while a
sync run has not yet begun reading the landing table (it will take those events).  If the launch
fails the claim is given back and the sensor launches the range on its next
tick: the sensor stays the safety net, the nudge only saves the tick wait.
"""
from __future__ import annotations

import logging
import threading
import time

import httpx
import sqlalchemy as sa

from warehouse.events import TAKING_TAG, WAITING_STATUSES, claim_range, release_claim
from warehouse.schema import stripe_events

log = logging.getLogger("webhooks.nudge")

LAUNCH = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""


WAITING = """query($job: String!, $statuses: [RunStatus!]) {
  runsOrError(filter: {pipelineName: $job, statuses: $statuses}, limit: 50) {
    __typename ... on Runs { results { runId tags { key value } } }
    ... on PythonError { message } } }"""


class Nudger:
    def __init__(self, engine: sa.Engine, graphql_url: str, *, location: str = "stripe_erp",
                 job: str = "stripe_event_sync", min_interval: float = 1.0,
                 settle: float = 0.05) -> None:
        self.engine, self.url, self.location, self.job = engine, graphql_url, location, job
        self.min_interval, self.settle = min_interval, settle
        self.launched = self.failed = self.skipped = 0
        self._wake = threading.Event()
        self._stop = False
        self._client = httpx.Client(timeout=10)
        self._thread = threading.Thread(target=self._loop, name="nudger", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=15)
        self._client.close()

    def _loop(self) -> None:
        last = 0.0
        while True:
            self._wake.wait()
            if self._stop:
                return
            # let the events of one change (a payment sends three or four) land together,
            # and launch at most one run per interval so a burst becomes a few runs
            pause = max(self.settle, self.min_interval - (time.monotonic() - last))
            time.sleep(pause)
            self._wake.clear()
            last = time.monotonic()
            try:
                self._nudge()
            except Exception as exc:  # noqa: BLE001 - the sensor is the safety net
                self.failed += 1
                log.warning("nudge failed (%s); the sensor will launch the range", type(exc).__name__)

    def _waiting_run(self) -> str | None:
        """A sync run that has not begun reading the landing table: it will take the events."""
        body = self._client.post(self.url, json={"query": WAITING, "variables": {
            "job": self.job, "statuses": list(WAITING_STATUSES)}}).json()
        runs = body["data"]["runsOrError"]
        if "results" not in runs:
            raise RuntimeError(runs.get("message") or "runsOrError failed")
        return next((r["runId"] for r in runs["results"]
                     if all(t["key"] != TAKING_TAG for t in r["tags"])), None)

    def _nudge(self) -> None:
        if self._waiting_run() is not None:
            self.skipped += 1
            return
        with self.engine.begin() as conn:
            hi = conn.execute(sa.select(sa.func.max(stripe_events.c.seq))
                              .where(stripe_events.c.status == "pending")).scalar()
            claimed = claim_range(conn, hi, "nudge") if hi else None
        if claimed is None:
            return
        lo, hi = claimed
        params = {
            "selector": {"repositoryLocationName": self.location,
                         "repositoryName": "__repository__", "jobName": self.job},
            "runConfigData": {"ops": {"apply_stripe_events": {"config": {"up_to": hi}}}},
            "executionMetadata": {"tags": [
                {"key": "stripe/events_from", "value": str(lo)},
                {"key": "stripe/events_to", "value": str(hi)},
                {"key": "stripe/launched_by", "value": "receiver-nudge"}]},
        }
        try:
            body = self._client.post(self.url, json={"query": LAUNCH,
                                                     "variables": {"p": params}}).json()
            result = body["data"]["launchRun"]
            if result["__typename"] != "LaunchRunSuccess":
                raise RuntimeError(result.get("message") or result["__typename"])
        except Exception:
            with self.engine.begin() as conn:
                release_claim(conn, hi)
            raise
        self.launched += 1
