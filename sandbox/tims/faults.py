"""Fault rules for ``/api/v1`` (not ``/oauth/token``, not ``/_sandbox``).

A rule fires for the next ``count`` requests or with probability ``rate``
(seeded RNG, reset with the sandbox).  Kinds: ``429``/``503`` (with
``Retry-After``: ``retry_after`` seconds, default 1), ``500``, ``timeout`` (a
504 Gateway Timeout, no sleeping) and ``drop`` (the TCP connection is aborted
without a response).  With ``after`` the request is executed first and only
its response is replaced: the document exists although the client saw an
error.  Optional filters (our extension): ``path_prefix`` (e.g.
``/api/v1/batch``) and ``methods`` (e.g. ``["POST"]``).  Rules are consulted
in the order they were added; the first that fires wins.  The mechanics are
shared with the other ERP sandboxes (:mod:`sandbox.erp_common`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import erp_common


@dataclass
class Fault(erp_common.Fault):
    """A TIMS fault rule, optionally for one path prefix and some methods only."""

    path_prefix: str = ""
    methods: frozenset[str] | None = None

    @classmethod
    def filters(cls, body: dict[str, Any]) -> dict[str, Any]:
        return {"path_prefix": str(body.get("path_prefix") or ""),
                "methods": frozenset(m.upper() for m in body["methods"])
                if body.get("methods") else None}

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and (
            self.methods is None or method.upper() in self.methods)

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "methods": sorted(self.methods) if self.methods else None}
