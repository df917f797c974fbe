"""Infor M3 through the ION API gateway: OAuth 2.0 and M3 MI REST v2 bulk execution.

Credentials come from the ``.ionapi`` file an Infor admin downloads (``INFOR_IONAPI_FILE``).
Every MI call is ``POST {gateway}/{tenant}/M3/m3api-rest/v2/execute`` with a bulk body of
transactions; a failed transaction answers HTTP 200 with an error item, a whole request
that M3 refused is ``wasTerminated``.  Reads are retried by the shared policy
(:mod:`connectors.erp.retry`); writes are sent once (``post`` finds what landed first).
"""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from ..base import (ErpAuthError, ErpError, ErpHttp, ErpNotFound, ErpTransientError,
                    ErpValidationError)
from ..retry import RetryPolicy

M3_EXECUTE = "/M3/m3api-rest/v2/execute"
MAX_TRANSACTIONS = 1000          # per bulk request; a document's transactions stay together


# ---------------------------------------------------------------------------- credentials
@dataclass(frozen=True, repr=False)
class IonApi:
    """The ``.ionapi`` file (ti, ci, cs, iu, pu, ot, saak, sask, ...); secrets never shown."""

    ti: str
    ci: str
    cs: str
    iu: str
    pu: str
    ot: str
    saak: str
    sask: str
    revoke: str = "revoke_token.oauth2"

    @classmethod
    def load(cls, path: str | Path) -> IonApi:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ErpAuthError(f"cannot read the .ionapi file {path}: {type(exc).__name__}") from None
        missing = [k for k in ("ti", "ci", "cs", "iu", "pu", "ot", "saak", "sask") if not data.get(k)]
        if missing:
            raise ErpAuthError(f".ionapi file {path} lacks {', '.join(missing)}")
        return cls(str(data["ti"]), str(data["ci"]), str(data["cs"]), str(data["iu"]),
                   str(data["pu"]), str(data["ot"]), str(data["saak"]), str(data["sask"]),
                   str(data.get("or") or "revoke_token.oauth2"))

    @property
    def token_url(self) -> str:
        return urljoin(self.pu if self.pu.endswith("/") else self.pu + "/", self.ot)

    def __repr__(self) -> str:
        return f"IonApi(ti={self.ti!r}, iu={self.iu!r}, pu={self.pu!r})"


class Tokens:
    """OAuth 2.0 against the ION SSO: password grant with the service account, refresh grant
    before expiry; ``invalidate`` after a 401 makes the next call refresh, then re-login."""

    MARGIN = 60.0   # refresh this long before expiry

    def __init__(self, ion: IonApi, http: ErpHttp) -> None:
        self.ion, self.http = ion, http
        self._access: str | None = None
        self._refresh: str | None = None
        self._expires = 0.0

    def __repr__(self) -> str:
        return f"Tokens(ti={self.ion.ti!r}, valid={self._access is not None})"

    def _grant(self, form: dict[str, str]) -> bool:
        form = {**form, "client_id": self.ion.ci, "client_secret": self.ion.cs}
        resp = self.http.request("POST", self.ion.token_url, data=form, retry_500=True,
                                 headers={"Accept": "application/json"})
        if resp.status_code != 200:
            if form["grant_type"] == "refresh_token" and resp.status_code in (400, 401):
                return False
            try:
                body = resp.json()
                why = f"{body.get('error')}: {body.get('error_description', '')}"
            except ValueError:
                why = resp.text[:200]
            raise ErpAuthError(f"ION API token request refused (HTTP {resp.status_code}) {why}",
                               status=resp.status_code)
        body = resp.json()
        self._access = body["access_token"]
        self._refresh = body.get("refresh_token") or self._refresh
        self._expires = time.monotonic() + float(body.get("expires_in") or 3600)
        return True

    def login(self) -> None:
        self._grant({"grant_type": "password", "username": self.ion.saak,
                     "password": self.ion.sask})

    def refresh(self) -> None:
        if not (self._refresh and self._grant({"grant_type": "refresh_token",
                                               "refresh_token": self._refresh})):
            self.login()

    def header(self) -> dict[str, str]:
        if self._access is None:
            self.login()
        elif time.monotonic() > self._expires - self.MARGIN:
            self.refresh()
        return {"Authorization": f"Bearer {self._access}"}

    def expire(self) -> None:
        self._expires = 0.0

# ---------------------------------------------------------------------------- MI calls


class M3Api:
    """Authenticated MI calls for one company (CONO) and division (DIVI)."""

    def __init__(self, base_url: str, ion: IonApi, cono: str, divi: str, *,
                 policy: RetryPolicy, timeout: float = 30.0) -> None:
        self.ion, self.cono, self.divi = ion, cono, divi
        self.execute_url = f"/{ion.ti}{M3_EXECUTE}"
        self.sso = ErpHttp(ion.pu, erp="infor", timeout=timeout, retry=policy)
        self.http = ErpHttp(base_url.rstrip("/"), erp="infor", timeout=timeout, retry=policy,
                            headers={"Accept": "application/json"})
        self.tokens = Tokens(ion, self.sso)

    def __repr__(self) -> str:
        return f"M3Api(base_url={self.http.base_url!r}, tenant={self.ion.ti!r})"

    @property
    def calls(self) -> int:
        return self.sso.calls + self.http.calls

    def close(self) -> None:
        for http in (self.sso, self.http):
            http.close()

    def call(self, method: str, url: str, *, write: bool = False, **kw: Any) -> dict[str, Any]:
        for attempt in range(3):
            # a write is sent once: after a transient failure post() finds what landed first
            resp = self.http.request(method, url, headers=self.tokens.header(),
                                     retry_500=not write, retry=not write, **kw)
            if resp.status_code != 401:
                break
            # expired or revoked: refresh once, then log in again (401: nothing was executed)
            if attempt == 0:
                self.tokens.refresh()
            else:
                self.tokens.login()
        status = resp.status_code
        if status == 401:
            raise ErpAuthError("ION API gateway refused the access token (HTTP 401)", status=401)
        if status == 403:
            raise ErpAuthError("ION API gateway: access to M3 denied (HTTP 403)", status=403)
        if status == 404:
            raise ErpNotFound(f"M3 MI endpoint not found (HTTP 404): {url}", status=404,
                              body=resp.text[:500])
        if status >= 500:      # a write's 500: M3 may have acted, post() re-finds
            raise ErpTransientError(f"HTTP {status}", status=status, body=resp.text[:500])
        if status >= 400:
            raise ErpError(f"M3 MI request refused (HTTP {status}): {resp.text[:300]}",
                           status=status)
        try:
            data = resp.json()
        except ValueError:
            raise ErpTransientError(f"M3 answered HTTP {status} without JSON") from None
        if data.get("wasTerminated"):
            reason = data.get("terminationReason") or "bulk request terminated"
            cls = ErpAuthError if "authoriz" in reason.lower() else ErpError
            raise cls(f"M3: {reason}", code=data.get("terminationErrorType"))
        return data

    def bulk(self, program: str, groups: Sequence[Sequence[dict[str, Any]]], *,
             write: bool = False, maxrecs: int = 0) -> list[list[dict[str, Any]]]:
        """Execute transaction groups in as few bulk requests as fit; results per group."""
        out: list[list[dict[str, Any]]] = []
        chunk: list[Sequence[dict[str, Any]]] = []
        size = 0

        def flush() -> None:
            if not chunk:
                return
            txns = [t for g in chunk for t in g]
            body = {"program": program, "cono": int(self.cono) if self.cono.isdigit()
                    else self.cono, "divi": self.divi, "transactions": txns}
            data = self.call("POST", self.execute_url, write=write, json=body,
                             params={"cono": self.cono, "divi": self.divi, "maxrecs": maxrecs})
            results = data.get("results") or []
            if len(results) != len(txns):
                raise ErpError(f"M3 bulk {program}: {len(results)} results for {len(txns)} "
                               f"transactions")
            pos = 0
            for g in chunk:
                out.append(results[pos:pos + len(g)])
                pos += len(g)
            chunk.clear()

        for group in groups:
            if size + len(group) > MAX_TRANSACTIONS and chunk:
                flush()
                size = 0
            chunk.append(group)
            size += len(group)
        flush()
        return out


def mi_error(item: dict[str, Any]) -> ErpValidationError | None:
    """The error of one transaction's result item (HTTP 200 with errorMessage), if any."""
    if item.get("errorMessage") or item.get("errorType") or item.get("notProcessed"):
        return ErpValidationError(item.get("errorMessage") or item.get("errorType")
                                  or "transaction not processed",
                                  field=item.get("errorField"), code=item.get("errorCode"))
    return None


def mi_records(item: dict[str, Any]) -> list[dict[str, str]]:
    """A result item's records, values stripped (M3 pads fields with blanks)."""
    return [{k: "" if v is None else v.strip() if isinstance(v, str) else str(v)
             for k, v in r.items()} for r in item.get("records") or []]
