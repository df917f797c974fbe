"""ERP adapters (TIMS, Infor M3 via ION API, Epicor Kinetic REST v2), chosen by configuration.

``make_adapter(env)`` reads ``ERP_KIND`` and that ERP's variables (see the
README's configuration table) from a mapping such as ``os.environ`` or a
sandbox's env file.  Each ERP is a package (``epicor/``, ``infor/``, ``tims/``: HTTP and
authentication, lookups, one module per document family); ``base`` holds the adapter
contract and errors, ``retry`` the one retry policy (``ERP_RETRY_MAX_SECONDS``).
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping

from .base import (ErpAdapter, ErpAuthError, ErpDuplicateError, ErpError, ErpNotFound, ErpRecord,
                   ErpTransientError, ErpUnavailable, ErpValidationError, GlLine, PostResult)
from .retry import RetryPolicy

KINDS = {"tims": "connectors.erp.tims:TimsAdapter",
         "infor": "connectors.erp.infor:InforAdapter",
         "epicor": "connectors.erp.epicor:EpicorAdapter"}


def adapter_class(kind: str) -> type[ErpAdapter]:
    try:
        target = KINDS[kind.strip().lower()]
    except KeyError:
        raise ValueError(f"ERP_KIND must be one of {', '.join(KINDS)}, got {kind!r}") from None
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def make_adapter(env: Mapping[str, str]) -> ErpAdapter:
    """The adapter for ``env['ERP_KIND']``, configured from ``env`` (never logs secrets)."""
    kind = env.get("ERP_KIND", "")
    return adapter_class(kind).from_env(env)


__all__ = ["ErpAdapter", "ErpAuthError", "ErpDuplicateError", "ErpError", "ErpNotFound",
           "ErpRecord", "ErpTransientError", "ErpUnavailable", "ErpValidationError", "GlLine",
           "PostResult", "RetryPolicy", "KINDS", "adapter_class", "make_adapter"]
