"""Epicor Kinetic REST API v2: authentication, requests and error bodies.

Every request goes to ``{ERP_BASE_URL}/api/v2/odata/{EPICOR_COMPANY}/...`` with the
``x-api-key`` header and a Bearer token from ``{ERP_BASE_URL}/TokenResource.svc/``
(Basic auth when the instance has no token service; one re-authentication on 401).
Reads are retried by the shared policy (:mod:`connectors.erp.retry`); business-object
methods (writes) are sent once, and the adapter looks up what landed before re-sending.
"""
from __future__ import annotations

import base64
import json
import logging
import time
import urllib.parse
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx

from ..base import (ErpAuthError, ErpError, ErpHttp, ErpNotFound, ErpTransientError,
                    ErpValidationError)
from ..retry import RetryPolicy
from .values import MAX_ROWS, Row, dumps

log = logging.getLogger(__name__)


class EpicorHttp:
    """One company's REST v2 endpoint; credentials never appear in repr or errors."""

    def __init__(self, base_url: str, *, api_key: str, username: str, password: str,
                 company: str, policy: RetryPolicy, timeout: float = 30.0,
                 write_timeout: float = 120.0, use_token: bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key, self._username, self._password = api_key, username, password
        self.company = company
        self.root = f"api/v2/odata/{urllib.parse.quote(company)}"
        self.http = ErpHttp(self.base_url, erp="epicor", timeout=timeout, retry=policy)
        self.write_timeout = write_timeout
        self._use_basic = not use_token
        self._token: str | None = None
        self._token_expiry = 0.0

    def __repr__(self) -> str:
        return f"EpicorHttp(base_url={self.base_url!r}, company={self.company!r})"

    @property
    def calls(self) -> int:
        return self.http.calls

    def close(self) -> None:
        self.http.close()

    # -------------------------------------------------------------------------- auth
    def _authorization(self) -> str:
        if not self._use_basic and (self._token is None or time.monotonic() >= self._token_expiry):
            self._fetch_token()
        if self._use_basic:
            raw = f"{self._username}:{self._password}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        return f"Bearer {self._token}"

    def _fetch_token(self) -> None:
        resp = self.http.request("POST", "TokenResource.svc/", headers={
            "username": self._username, "password": self._password,
            "x-api-key": self._api_key, "Accept": "application/json"})
        if resp.status_code == 404:  # no token service on this instance: Basic auth
            log.info("Epicor TokenResource.svc not found; using Basic authentication")
            self._use_basic = True
            return
        if resp.status_code in (400, 401, 403):
            raise ErpAuthError(f"Epicor token request refused: {message(resp)}",
                               status=resp.status_code)
        if resp.status_code >= 300:
            raise ErpTransientError(f"Epicor token request failed: HTTP {resp.status_code}",
                                    status=resp.status_code)
        data = resp.json()
        token = data.get("AccessToken")
        if not token:
            raise ErpAuthError("Epicor token response has no AccessToken")
        self._token = token
        ttl = float(data.get("ExpiresIn") or 3600)
        self._token_expiry = time.monotonic() + max(30.0, ttl - 60.0)

    # -------------------------------------------------------------------------- requests
    def send(self, method: str, path: str, *, write: bool = False,
             params: Sequence[tuple[str, str]] | None = None, body: Any = None
             ) -> httpx.Response:
        """One API request (auth headers, one re-authentication on 401)."""
        content = dumps(body) if body is not None else None
        extra: dict[str, Any] = {"retry": False, "retry_500": False,
                                 "timeout": self.write_timeout} if write else {}
        for attempt in (1, 2):
            headers = {"x-api-key": self._api_key, "Accept": "application/json",
                       "Authorization": self._authorization()}
            if content is not None:
                headers["Content-Type"] = "application/json"
            resp = self.http.request(method, f"{self.root}/{path}", params=params,
                                     content=content, headers=headers, **extra)
            if resp.status_code == 401 and attempt == 1:
                self._token = None  # expired or revoked: authenticate again, once
                self._token_expiry = 0.0
                continue
            break
        if resp.status_code in (401, 403):
            raise ErpAuthError(f"Epicor refused the request: {message(resp)}",
                               status=resp.status_code)
        return resp

    def get(self, path: str, params: Sequence[tuple[str, str]]) -> Any:
        resp = self.send("GET", path, params=params)
        if resp.status_code == 404:
            raise ErpNotFound(message(resp), status=404, body=body_of(resp))
        if resp.status_code >= 500:
            raise ErpTransientError(f"HTTP {resp.status_code}: {message(resp)}",
                                    status=resp.status_code)
        if resp.status_code >= 300:
            raise ErpError(message(resp), status=resp.status_code, body=body_of(resp))
        return parse(resp)

    def call_method(self, path: str, body: Any) -> tuple[int, Any]:
        """POST a business-object method; transient failures raise, other errors return."""
        resp = self.send("POST", path, write=True, body=body)
        if resp.status_code >= 500:
            raise ErpTransientError(f"HTTP {resp.status_code}: {message(resp)}",
                                    status=resp.status_code)
        if resp.status_code == 404:
            raise ErpNotFound(message(resp), status=404, body=body_of(resp))
        return resp.status_code, parse(resp) if resp.content else None

    def query(self, path: str, flt: str | None, select: str | None = None,
              expand: str | None = None, orderby: str | None = None) -> list[Row]:
        """All rows of an OData query, paged with $top/$skip (no nextLink in Epicor)."""
        rows: list[Row] = []
        skip = 0
        while True:
            params: list[tuple[str, str]] = []
            if flt:
                params.append(("$filter", flt))
            if select:
                params.append(("$select", select))
            if expand:
                params.append(("$expand", expand))
            if orderby:
                params.append(("$orderby", orderby))
            params.append(("$top", str(MAX_ROWS)))
            if skip:
                params.append(("$skip", str(skip)))
            page = self.get(path, params).get("value", [])
            rows.extend(page)
            if len(page) < MAX_ROWS:
                return rows
            skip += len(page)


# ------------------------------------------------------------------------------ bodies
def parse(resp: httpx.Response) -> Any:
    try:
        return json.loads(resp.content, parse_float=Decimal)
    except ValueError:
        raise ErpTransientError(f"HTTP {resp.status_code}: response is not JSON",
                                status=resp.status_code) from None


def body_of(resp: httpx.Response) -> Any:
    try:
        return json.loads(resp.content, parse_float=Decimal)
    except ValueError:
        return resp.text[:2000]


def message(resp: httpx.Response) -> str:
    body = body_of(resp)
    if isinstance(body, dict) and body.get("ErrorMessage"):
        return str(body["ErrorMessage"])
    return f"HTTP {resp.status_code}"


def error_from_body(body: Any, status: int) -> ErpValidationError:
    """An ErpValidationError from Epicor's §1.6 error body (message, table/field, type)."""
    if isinstance(body, dict) and body.get("ErrorMessage"):
        details = body.get("ErrorDetails") or [{}]
        first = details[0] if isinstance(details, list) and details else {}
        return ErpValidationError(str(body["ErrorMessage"]), status=status,
                                  field=(first or {}).get("Field") or None,
                                  code=body.get("ErrorType") or None, body=body)
    return ErpValidationError(f"Epicor refused the request (HTTP {status})", status=status,
                              body=body)
