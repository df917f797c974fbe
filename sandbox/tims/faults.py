"""Fault rules for ``/api/v1`` (not ``/oauth/token``, not ``/_sandbox``).

A rule fires for the next ``count`` requests or with probability ``rate``
(seeded RNG, reset with the sandbox).  Kinds: ``429``/``503`` (with
``Retry-After``: ``retry_after`` seconds, default 1), ``500``, ``timeout`` (a
504 Gateway Timeout, no sleeping) and ``drop`` (the TCP connection is aborted
without a response).  With ``after`` the request is executed first and only
its response is replaced: the document exists although the client saw an
error.  Optional filters (our extension): ``path_prefix`` (e.g.
``/api/v1/batch``) and ``methods`` (e.g. ``["POST"]``).  Rules are consulted
in the order they were added; the first that fires wins.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

KINDS = ("429", "500", "503", "timeout", "drop")


@dataclass
class Fault:
    kind: str
    count: int | None = None
    rate: float | None = None
    retry_after: float = 1
    after: bool = False
    path_prefix: str = ""
    methods: frozenset[str] | None = None

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and (
            self.methods is None or method.upper() in self.methods)

    @classmethod
    def from_body(cls, body: Any) -> Fault:
        if not isinstance(body, dict):
            raise ValueError("body must be an object")
        kind = str(body.get("kind", ""))
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        count, rate = body.get("count"), body.get("rate")
        if (count is None) == (rate is None):
            raise ValueError("give exactly one of count or rate")
        if count is not None and int(count) < 1:
            raise ValueError("count must be >= 1")
        if rate is not None and not 0.0 <= float(rate) <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        retry_after = body.get("retry_after", 1)
        return cls(kind=kind, count=None if count is None else int(count),
                   rate=None if rate is None else float(rate),
                   retry_after=float(retry_after if retry_after is not None else 1),
                   after=bool(body.get("after", False)),
                   path_prefix=str(body.get("path_prefix") or ""),
                   methods=frozenset(m.upper() for m in body["methods"])
                   if body.get("methods") else None)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "count": self.count, "rate": self.rate,
                "retry_after": self.retry_after, "after": self.after,
                "path_prefix": self.path_prefix,
                "methods": sorted(self.methods) if self.methods else None}


class Faults:
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.clear()

    def clear(self) -> None:
        self.rules: list[Fault] = []
        self.rng = random.Random(self.seed)

    def add(self, fault: Fault) -> None:
        self.rules.append(fault)

    def draw(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any (consumes one count of a counted rule)."""
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
                return rule
            if self.rng.random() < (rule.rate or 0.0):
                return rule
        return None
