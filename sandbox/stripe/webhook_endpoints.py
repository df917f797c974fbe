"""Webhook endpoints: create (the secret in the response only), update, delete.

Handlers follow the engine's convention ``handler(engine, [id,] params, t)``; delivery of
events to the endpoints is in webhooks.py.
"""

from __future__ import annotations

import secrets as _secrets
from typing import TYPE_CHECKING, Any

from . import render
from .errors import invalid, missing
from .params import get_bool, get_list, get_metadata, get_str, merge_metadata

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]


def create_webhook_endpoint(e: Engine, params: dict[str, Any], t: int) -> bytes:
    url = get_str(params, "url", required=True) or ""
    if not url.startswith(("http://", "https://")):
        raise invalid(
            "Invalid URL: URL must be publicly accessible and use http or https.",
            param="url",
            code="url_invalid",
        )
    events = get_list(params, "enabled_events")
    if not events:
        raise missing("enabled_events")
    ep = render.webhook_endpoint(
        e.ids.new("we"),
        t,
        url=url,
        enabled_events=list(events),
        description=get_str(params, "description"),
        metadata=get_metadata(params) or {},
        api_version=get_str(params, "api_version"),
    )
    secret = "whsec_" + _secrets.token_hex(16)
    e.put(ep)
    e.endpoints[ep["id"]] = ep
    e.secrets[ep["id"]] = secret
    e.op("INSERT OR REPLACE INTO meta VALUES (?, ?)", ("whsec:" + ep["id"], secret.encode()))
    # The secret is part of the create response only, never of the stored object.
    return render.dumps({**ep, "secret": secret})


def update_webhook_endpoint(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    ep = e.load(id, "webhook_endpoint")
    if "url" in params:
        ep["url"] = get_str(params, "url", required=True)
    if "enabled_events" in params:
        ep["enabled_events"] = list(get_list(params, "enabled_events") or [])
    if "description" in params:
        ep["description"] = get_str(params, "description")
    if "metadata" in params:
        ep["metadata"] = merge_metadata(ep["metadata"], get_metadata(params))
    if "disabled" in params:
        ep["status"] = "disabled" if get_bool(params, "disabled") else "enabled"
    e.endpoints[id] = e.put(ep)
    return ep


def delete_webhook_endpoint(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    e.load(id, "webhook_endpoint")
    e.endpoints.pop(id, None)
    e.secrets.pop(id, None)
    e._hot.pop(id, None)
    e.op("DELETE FROM meta WHERE key=?", ("whsec:" + id,))
    stub = render.deleted(id, "webhook_endpoint")
    e.put(stub)
    return stub
