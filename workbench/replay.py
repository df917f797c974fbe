"""Apply and replay: the dry-run preview of what would post, and the replay run launched
through Dagster's GraphQL API (so it is in the run history like any other run).

The preview builds, with the edited mapping and without sending anything, the canonical
documents the posting rules make for the dead letters' days, and keeps those of the dead
letters' Stripe sources: exactly what the replay run will post for them.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timezone
from typing import Any

import httpx
import sqlalchemy as sa

from domain.erp import Document
from domain.mapping import Mapping
from domain.postings import KIND_ORDER, PostingBuilder
from posting.activity import load_activity

DAY = 86400
REPLAY_JOB = "erp_replay_dead_letters"
LAUNCH = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""
STATUS = """query($id: ID!) { runOrError(runId: $id) { __typename
  ... on Run { status jobName } ... on RunNotFoundError { message } } }"""
DONE = {"SUCCESS", "FAILURE", "CANCELED"}


class LaunchError(RuntimeError):
    pass


def preview(engine: sa.Engine, mapping: Mapping,
            letters: Iterable[dict[str, Any]]) -> list[Document]:
    """The documents the replay would post for these dead letters' sources (not sent)."""
    letters = list(letters)
    sources = {x["source_id"] for x in letters if x.get("source_id")}
    keys = {(x["kind"], x["external_id"]) for x in letters}
    days: set[date] = {x["source_day"] for x in letters if x.get("source_day")}
    out: list[Document] = []
    for day in sorted(days):
        start = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())
        postings = PostingBuilder(mapping).build(load_activity(engine, start, start + DAY))
        for kind in KIND_ORDER:
            for ext, doc in postings.documents[kind].items():
                if postings.source.get((kind, ext)) in sources or (kind.value, ext) in keys:
                    out.append(doc)
    return list({(d.kind, d.external_id): d for d in out}.values())


def _post(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    try:
        body = httpx.post(url, json={"query": query, "variables": variables}, timeout=30).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise LaunchError(f"Dagster's GraphQL API at {url} did not answer "
                          f"({type(exc).__name__})") from None
    if body.get("errors"):
        raise LaunchError(f"Dagster's GraphQL API refused: {body['errors'][0].get('message')}")
    return body["data"]


def launch_replay(url: str, location: str, tags: dict[str, str]) -> str:
    """Launch ``erp_replay_dead_letters`` in ``location``; the run id."""
    params = {"selector": {"repositoryLocationName": location,
                           "repositoryName": "__repository__", "jobName": REPLAY_JOB},
              # one step: run it in the run's own process (no step subprocess)
              "runConfigData": {"execution": {"config": {"in_process": {}}}},
              "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}}
    result = _post(url, LAUNCH, {"p": params})["launchRun"]
    if result["__typename"] != "LaunchRunSuccess":
        detail = result.get("message") or "; ".join(
            e["message"] for e in result.get("errors") or []) or result["__typename"]
        raise LaunchError(f"Dagster did not launch {REPLAY_JOB}: {detail}")
    return result["run"]["runId"]


def run_status(url: str, run_id: str) -> str:
    result = _post(url, STATUS, {"id": run_id})["runOrError"]
    return result.get("status") or result["__typename"]
