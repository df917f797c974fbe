"""Record every HTTP request an ERP adapter makes, through httpx's own event hooks.

    recorder = RequestRecorder.attach(adapter)
    adapter.post(docs)
    recorder.requests          # [Recorded(method, url, path, query, body), ...]
    recorder.unrecorded()      # adapter.calls made outside the recorded clients (should be 0)

Nothing of the product is patched: the recorder finds the ``httpx.Client`` objects the
adapter holds (walking its attributes, and theirs, below ``connectors.``) and appends a
``request`` event hook to each, the documented httpx extension point.  ``unrecorded()``
compares the adapter's own call counter with what was recorded, so a client the walk
missed shows up as a failing count rather than a silently shorter list.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

_MAX_DEPTH = 4


@dataclass(frozen=True)
class Recorded:
    method: str
    url: str
    path: str                          # percent-decoded
    query: dict[str, list[str]]        # decoded, blank values kept
    body: Any = None                   # JSON body, form dict, or raw text; None when empty
    content_type: str = ""

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


def _decode_body(request: httpx.Request) -> tuple[Any, str]:
    request.read()
    raw = request.content
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if not raw:
        return None, ctype
    if ctype == "application/x-www-form-urlencoded":
        return {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}, ctype
    if ctype.endswith("json") or raw[:1] in (b"{", b"["):
        try:
            return json.loads(raw), ctype
        except ValueError:
            pass
    return raw.decode("utf-8", "replace"), ctype


def _clients(obj: Any, seen: set[int], depth: int) -> list[httpx.Client]:
    if isinstance(obj, httpx.Client):
        return [obj]
    if depth == 0 or id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, dict):
        children: list[Any] = list(obj.values())
    elif isinstance(obj, (list, tuple, set)):
        children = list(obj)
    elif type(obj).__module__.startswith("connectors."):
        children = list(getattr(obj, "__dict__", {}).values())
        children += [getattr(obj, s, None) for s in getattr(type(obj), "__slots__", ())]
    else:
        return []
    out: list[httpx.Client] = []
    for child in children:
        for client in _clients(child, seen, depth - 1):
            if all(client is not c for c in out):
                out.append(client)
    return out


@dataclass
class RequestRecorder:
    adapter: Any
    requests: list[Recorded] = field(default_factory=list)
    clients: list[httpx.Client] = field(default_factory=list)
    calls_at_start: int = 0

    @classmethod
    def attach(cls, adapter: Any) -> RequestRecorder:
        rec = cls(adapter, calls_at_start=adapter.calls)
        rec.clients = _clients(adapter, set(), _MAX_DEPTH)
        if not rec.clients:
            raise AssertionError(f"{type(adapter).__name__} holds no httpx.Client to record")
        for client in rec.clients:
            hooks = client.event_hooks
            hooks["request"] = [*hooks.get("request", []), rec._hook]
            client.event_hooks = hooks
        return rec

    def _hook(self, request: httpx.Request) -> None:
        parts = urlsplit(str(request.url))
        body, ctype = _decode_body(request)
        self.requests.append(Recorded(
            request.method.upper(), str(request.url), unquote(parts.path),
            parse_qs(parts.query, keep_blank_values=True), body, ctype))

    def unrecorded(self) -> int:
        """Requests the adapter counted but no hook saw (a client the walk did not find)."""
        return (self.adapter.calls - self.calls_at_start) - len(self.requests)
