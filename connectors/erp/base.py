"""One adapter interface for every ERP, its typed errors, and the shared HTTP layer.

An adapter turns canonical documents (``domain.erp``) into one ERP's API calls
and back.  The contract, which ``tests/erp/contract.py`` checks against every
ERP sandbox:

* ``post(docs)`` takes documents of one kind and is **find-then-create** on the
  ERP's natural key (the Stripe id carried as ``external_id``): documents the
  ERP already holds are returned as found, never created twice, so a retry
  after a crash or a timeout is always safe.  It uses the ERP's batch form
  where there is one (M3 bulk execute, Epicor ``UpdateExt``, TIMS batch) so a
  batch costs few calls.
* A document the ERP rejects (unknown SKU or customer, closed period,
  unbalanced journal, field too long) comes back as a ``PostResult`` with an
  :class:`ErpValidationError` carrying the ERP's exact message; the rest of the
  batch is still posted.  Whole-call failures raise: :class:`ErpTransientError`
  (timeouts, 429, 5xx: retry) or :class:`ErpAuthError`.
* ``read(kind, external_ids)`` reads documents back through the ERP's own API,
  as canonical documents plus what the ERP computed (open balance).
* ``calls`` counts HTTP requests made, for the calls-per-document figures.
"""
from __future__ import annotations

import email.utils
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from domain.erp import Document, DocKind, ErpRef
from domain.money import Money


# ------------------------------------------------------------------------------ errors
class ErpError(Exception):
    """Base of every ERP failure; ``message`` is the ERP's own text."""

    def __init__(self, message: str, *, status: int | None = None, field: str | None = None,
                 code: str | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message, self.status, self.field, self.code, self.body = (
            message, status, field, code, body)

    def as_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "message": self.message, "status": self.status,
                "field": self.field, "code": self.code}


class ErpValidationError(ErpError):
    """The ERP refused the document (bad data, unknown reference, closed period)."""


class ErpDuplicateError(ErpError):
    """The ERP already holds a document with this natural key."""

    def __init__(self, message: str, existing_id: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.existing_id = existing_id


class ErpNotFound(ErpError):
    pass


class ErpAuthError(ErpError):
    pass


class ErpTransientError(ErpError):
    """Worth retrying: timeouts, dropped connections, 429, 5xx."""

    def __init__(self, message: str, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class PostResult:
    external_id: str
    ref: ErpRef | None = None
    created: bool = False               # False: found already in the ERP
    error: ErpValidationError | None = None
    # not in the ERP yet, and the ERP will produce it (an M3 invoice before M3's invoicing
    # job ran): why.  The run links it ``waiting``; later runs post it.
    waiting: str | None = None

    @property
    def ok(self) -> bool:
        return self.ref is not None


@dataclass(frozen=True)
class ErpRecord:
    """A document as the ERP holds it."""

    ref: ErpRef
    doc: Document
    open_balance: Money | None = None   # invoices: what is still unpaid


# ------------------------------------------------------------------------------ HTTP
def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


@dataclass
class RetryPolicy:
    attempts: int = 6
    base: float = 0.2        # seconds; exponential with full jitter
    cap: float = 10.0


@dataclass
class ErpHttp:
    """httpx with the retry rules every adapter shares.

    Transient failures (connect/read timeouts, dropped connections, 429, 502,
    503, 504, and 500 on idempotent requests) are retried with exponential
    backoff and full jitter, waiting at least ``Retry-After`` when the ERP sends
    one.  ``classify(response)`` lets an adapter map its ERP's error bodies.
    """

    base_url: str
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # may hold keys
    calls: int = 0
    retries: int = 0

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url.rstrip("/"), timeout=self.timeout,
                                   headers=self.headers)

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, *, retry_500: bool | None = None,
                retry: bool = True, **kw: Any) -> httpx.Response:
        """Send with retries; returns any non-transient response (the caller reads errors).

        ``retry=False`` sends once and raises ErpTransientError on a transient failure:
        for non-idempotent writes whose caller looks up what landed before re-sending.
        """
        retry_500 = method.upper() in ("GET", "PUT", "DELETE") if retry_500 is None else retry_500
        attempt = 0
        while True:
            attempt += 1
            self.calls += 1
            try:
                resp = self.client.request(method, url, **kw)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                err: ErpTransientError = ErpTransientError(f"{type(exc).__name__}: {exc}")
            else:
                transient = resp.status_code in (429, 502, 503, 504) or (
                    resp.status_code >= 500 and retry_500)
                if not transient:
                    return resp
                err = ErpTransientError(f"HTTP {resp.status_code}", status=resp.status_code,
                                        retry_after=parse_retry_after(
                                            resp.headers.get("Retry-After")), body=resp.text)
            if not retry or attempt >= self.retry.attempts:
                raise err
            self.retries += 1
            delay = random.uniform(0, min(self.retry.cap, self.retry.base * 2 ** (attempt - 1)))
            time.sleep(max(delay, err.retry_after or 0.0))  # backoff, not synchronisation


def one_kind(docs: Sequence[Document]) -> DocKind:
    """The kind shared by a batch passed to ``post`` (a batch holds one kind only)."""
    kind = DocKind(docs[0].kind)
    if any(d.kind != kind for d in docs):
        raise ValueError("post() takes documents of one kind")
    return kind


def decimal_str(value: Decimal) -> str:
    """A Decimal as plain text without exponent (``1E+2`` -> ``100``)."""
    return format(value, "f")


# ------------------------------------------------------------------------------ adapter
class ErpAdapter(ABC):
    """See the module docstring for the contract."""

    erp: str  # "tims" | "infor" | "epicor"

    @classmethod
    @abstractmethod
    def from_env(cls, env: Mapping[str, str]) -> ErpAdapter:
        """Build from ERP_BASE_URL and this ERP's variables (secrets never logged)."""

    @abstractmethod
    def health(self) -> None:
        """Authenticate and make one cheap call; raise ErpAuthError/ErpTransientError."""

    @abstractmethod
    def post(self, docs: Sequence[Document]) -> list[PostResult]:
        """Find-then-create documents of one kind; one result per document, in order."""

    @abstractmethod
    def find(self, kind: DocKind, external_ids: Sequence[str]) -> dict[str, ErpRef]:
        """ERP refs of the documents that already exist, by external id."""

    @abstractmethod
    def read(self, kind: DocKind, external_ids: Sequence[str] | None = None) -> list[ErpRecord]:
        """Documents as the ERP holds them (all of that kind when ``external_ids`` is None)."""

    @abstractmethod
    def on_hand(self, sku: str, location: str) -> Decimal:
        """Inventory quantity on hand for an item at a location."""

    @property
    @abstractmethod
    def calls(self) -> int:
        """HTTP requests made so far (retries included)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass
