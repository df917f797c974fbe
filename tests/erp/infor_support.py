"""Helpers of the Infor M3 sandbox tests: the Infor-only marker and direct ION
API calls as a generic M3 client would make them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

# the Infor sandbox only (the session fixture is parametrized over every ERP)
infor = pytest.mark.parametrize("erp_session", ["infor"], indirect=True)
REPO = Path(__file__).resolve().parents[2]


class Raw:
    """Direct ION API calls, as a generic M3 client would make them."""

    def __init__(self, env: dict[str, str]) -> None:
        self.ion = json.loads(Path(env["INFOR_IONAPI_FILE"]).read_text())
        self.url = f"{env['ERP_BASE_URL']}/{self.ion['ti']}/M3/m3api-rest/v2/execute"
        self.company, self.division = env["INFOR_COMPANY"], env["INFOR_DIVISION"]
        resp = httpx.post(self.ion["pu"] + self.ion["ot"], data={
            "grant_type": "password", "username": self.ion["saak"], "password": self.ion["sask"],
            "client_id": self.ion["ci"], "client_secret": self.ion["cs"]})
        resp.raise_for_status()
        self.headers = {"Authorization": f"Bearer {resp.json()['access_token']}"}

    def bulk(self, program: str, transactions: list[dict[str, Any]], **params: Any) -> dict:
        resp = httpx.post(self.url, headers=self.headers, params=params, json={
            "program": program, "cono": int(self.company), "divi": self.division,
            "transactions": transactions})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.url}/{path}", headers=self.headers, params=params)

    def select(self, query: str) -> list[list[str]]:
        data = self.bulk("EXPORTMI", [{"transaction": "Select",
                                       "record": {"QERY": query, "SEPC": ";"}}], maxrecs=0)
        return [r["REPL"].split(";") for r in data["results"][0]["records"]]


def token_requests(erp) -> int:
    stats = erp.control("GET", "stats")
    return sum(n for path, n in stats["by_path"].items() if path.endswith("token.oauth2"))
