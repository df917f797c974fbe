"""Raw HTTP to a TIMS sandbox's ``/api/v1`` (for TIMS-only tests)."""
from __future__ import annotations

from typing import Any

import httpx

from tests.erp.conftest import ErpSandbox


class Api:
    """Raw HTTP against the sandbox's /api/v1 with a bearer token."""

    def __init__(self, sb: ErpSandbox) -> None:
        self.base = sb.env["ERP_BASE_URL"]
        resp = httpx.post(f"{self.base}/oauth/token", data={
            "grant_type": "client_credentials", "client_id": sb.env["TIMS_CLIENT_ID"],
            "client_secret": sb.env["TIMS_CLIENT_SECRET"]})
        assert resp.status_code == 200, resp.text
        self.token = resp.json()["access_token"]

    def __call__(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return httpx.request(method, self.base + path, headers=headers, timeout=30, **kw)
