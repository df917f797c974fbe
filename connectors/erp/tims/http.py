"""The TIMS REST contract over HTTP: OAuth2 client credentials, RFC 7807 problems, /batch.

Base ``…/api/v1``; tokens from ``/oauth/token`` (client credentials, one
re-authentication on 401); JSON bodies; errors as RFC 7807 problems; ``POST /batch``
carries ≤ 500 independent sub-requests.  Reads are retried by the shared policy
(:mod:`connectors.erp.retry`); writes are sent once (``post`` looks up what landed).
"""
from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import httpx
import orjson

from ..base import (ErpAuthError, ErpError, ErpHttp, ErpNotFound, ErpTransientError,
                    ErpValidationError)
from ..retry import RetryPolicy
from .values import json_default

PAGE_SIZE = 200          # the API's maximum pageSize
MAX_BATCH = 500          # sub-requests per /batch


class _Secret:
    """A credential that never shows in repr, str or vars() dumps."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


def problem_error(status: int, body: Any) -> ErpError:
    """The typed error for an RFC 7807 problem body (message = the ERP's ``detail``)."""
    body = body if isinstance(body, dict) else {}
    errors = body.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    message = body.get("detail") or body.get("title") or f"HTTP {status}"
    kw = {"status": status, "field": first.get("field"), "code": first.get("code"), "body": body}
    if status == 404:
        return ErpNotFound(message, **kw)
    if status in (401, 403):
        return ErpAuthError(message, **kw)
    if status in (400, 409, 422):
        return ErpValidationError(message, **kw)
    return ErpError(message, **kw)


def body_of(resp: httpx.Response) -> Any:
    try:
        return json.loads(resp.content, parse_float=Decimal)
    except ValueError:
        return {"detail": resp.text[:500]}


class TimsHttp:
    """Authenticated requests to one TIMS API root; the secret never shows."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, *,
                 policy: RetryPolicy, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._secret = _Secret(client_secret)
        self.http = ErpHttp(self.base_url, erp="tims", timeout=timeout, retry=policy,
                            headers={"Accept": "application/json"})
        self._token: str | None = None
        self._token_expires = 0.0

    def __repr__(self) -> str:
        return f"TimsHttp(base_url={self.base_url!r}, client_id={self.client_id!r})"

    @property
    def calls(self) -> int:
        return self.http.calls

    def close(self) -> None:
        self.http.close()

    def _access_token(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        resp = self.http.request("POST", "/oauth/token", data={
            "grant_type": "client_credentials", "client_id": self.client_id,
            "client_secret": self._secret.value})
        try:
            data = resp.json()
        except ValueError:
            data = {}
        if resp.status_code != 200 or not data.get("access_token"):
            raise ErpAuthError(f"TIMS token request failed: HTTP {resp.status_code} "
                               f"{data.get('error', '')}: {data.get('error_description', '')}"
                               .rstrip(": "), status=resp.status_code,
                               code=data.get("error"))
        ttl = float(data.get("expires_in") or 3600)
        self._token = data["access_token"]
        self._token_expires = time.monotonic() + max(0.0, ttl - min(60.0, ttl / 10))
        return self._token

    def call(self, method: str, path: str, *, write: bool = False,
             **kw: Any) -> httpx.Response:
        """One authenticated request (re-authenticating once on a 401); writes are sent
        once: creates are never re-sent blindly, ``post`` looks up again first."""
        extra = kw.pop("headers", {})
        if write:
            kw["retry"] = False
        for attempt in (1, 2):
            headers = {**extra, "Authorization": f"Bearer {self._access_token()}"}
            resp = self.http.request(method, path, headers=headers, **kw)
            if resp.status_code == 401 and attempt == 1:
                self._token = None  # expired or revoked: fetch a new one, once
                continue
            break
        if resp.status_code in (401, 403):
            raise problem_error(resp.status_code, body_of(resp))
        return resp

    def get(self, path_and_query: str) -> dict[str, Any]:
        resp = self.call("GET", path_and_query)
        if resp.status_code != 200:
            raise problem_error(resp.status_code, body_of(resp))
        return body_of(resp)

    def batch(self, requests: list[dict[str, Any]], *, write: bool) -> list[dict[str, Any]]:
        """POST /batch; the sub-responses in order.  Reads retry 500s, writes never re-send."""
        payload = orjson.dumps({"requests": requests}, default=json_default)
        resp = self.call("POST", "/batch", write=write, retry_500=not write, content=payload,
                         headers={"Content-Type": "application/json"})
        if resp.status_code >= 500:
            raise ErpTransientError(f"HTTP {resp.status_code}", status=resp.status_code,
                                    body=resp.text[:500])
        body = body_of(resp)
        if resp.status_code != 200:
            raise problem_error(resp.status_code, body)
        responses = body.get("responses") or []
        if len(responses) != len(requests):
            raise ErpError(f"TIMS batch answered {len(responses)} of {len(requests)} requests")
        return responses
