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
* ``gl_lines(start, end)`` / ``trial_balance(as_of)`` read the general ledger through
  the ERP's own GL inquiry API (each ERP package implements ``gl_lines``).

Retries follow the one policy in :mod:`connectors.erp.retry`; each ERP's package
(``connectors/erp/<erp>/``) holds its HTTP/authentication module, one module per
document family and its lookups.
"""
from __future__ import annotations

import email.utils
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from domain.erp import Document, DocKind, ErpRef
from domain.money import Money
from domain.subscriptions import CustomerSubscription

from .retry import RetryPolicy, public_url


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


class ErpUnavailable(ErpTransientError):
    """The ERP stayed unavailable for the whole retry budget while a batch was posted.

    The message names the ERP, its base URL (never credentials), the document and the
    last HTTP status; nothing of the batch was recorded, so the next run resumes there.
    """

    def __init__(self, erp: str, base_url: str, kind: str, external_ids: Sequence[str],
                 cause: ErpTransientError, waited: float, budget: float) -> None:
        self.erp, self.base_url, self.kind = erp, public_url(base_url), kind
        self.document = external_ids[0] if external_ids else ""
        more = f" (and {len(external_ids) - 1} more in its batch)" if len(external_ids) > 1 \
            else ""
        status = f"HTTP {cause.status}" if cause.status else "no HTTP answer"
        super().__init__(
            f"{erp} at {self.base_url} is unavailable ({status}): still failing after "
            f"{waited:.1f} s of retries (budget {budget:g} s, ERP_RETRY_MAX_SECONDS) while "
            f"posting {kind} {self.document}{more}. Last error: {cause.message}. Nothing of "
            f"this batch was recorded; the next run resumes from it.",
            status=cause.status, code="ErpUnavailable")


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
class ErpHttp:
    """httpx with the retry policy every adapter shares (:mod:`connectors.erp.retry`).

    Transient failures (connect/read timeouts, dropped connections, 429, 502, 503, 504,
    and 500 on idempotent requests) raise :class:`ErpTransientError` naming the ERP, the
    request's URL (no credentials) and the status; they are retried unless ``retry=False``.
    Any other response is returned for the caller to read.
    """

    base_url: str
    erp: str = "erp"
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # may hold keys
    calls: int = 0

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url.rstrip("/"), timeout=self.timeout,
                                   headers=self.headers)

    def close(self) -> None:
        self.client.close()

    def _where(self, method: str, url: str) -> str:
        full = url if "://" in url else f"{self.base_url.rstrip('/')}/{url.lstrip('/')}"
        return f"{self.erp} {method.upper()} {public_url(full)}"

    def request(self, method: str, url: str, *, retry_500: bool | None = None,
                retry: bool = True, **kw: Any) -> httpx.Response:
        """Send with retries; returns any non-transient response (the caller reads errors).

        ``retry=False`` sends once and raises ErpTransientError on a transient failure:
        for non-idempotent writes whose caller looks up what landed before re-sending.
        """
        retry_500 = method.upper() in ("GET", "PUT", "DELETE") if retry_500 is None else retry_500

        timeout = kw.pop("timeout", self.timeout)

        def send() -> httpx.Response:
            self.calls += 1
            try:
                resp = self.client.request(method, url, timeout=self.retry.timeout(timeout),
                                           **kw)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                raise ErpTransientError(f"{self._where(method, url)}: {type(exc).__name__}: "
                                        f"{exc}") from None
            if resp.status_code in (429, 502, 503, 504) or (
                    resp.status_code >= 500 and retry_500):
                raise ErpTransientError(
                    f"{self._where(method, url)}: HTTP {resp.status_code}",
                    status=resp.status_code, body=resp.text,
                    retry_after=parse_retry_after(resp.headers.get("Retry-After")))
            return resp

        if retry:
            return self.retry.run(send)
        try:
            resp = send()
        except ErpTransientError:
            self.retry.failed()
            raise
        self.retry.answered()
        return resp


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
@dataclass(frozen=True)
class GlLine:
    """One posted general-ledger line, as the ERP's GL inquiry API returns it."""

    account: str          # the ERP GL account as mapped (e.g. "1250")
    currency: str         # ISO upper: the line's transaction (document) currency
    amount_minor: int     # signed, debit positive, in that currency's minor units
    posted_on: date       # accounting/posting date
    voucher: str          # ERP voucher / journal / document number
    source: str           # what the ERP says produced it ("ARInvoice", "CashReceipt", ...)


class ErpAdapter(ABC):
    """See the module docstring for the contract."""

    erp: str  # "tims" | "infor" | "epicor"
    base_url: str = ""                 # the ERP API root as configured (shown in errors)
    # lengths of the ERP fields the canonical fields go to ("customer.name": 36); the
    # posting run applies the mapping's field policies to them (domain.field_limits)
    field_limits: Mapping[str, int] = {}
    retry_policy: RetryPolicy          # one per adapter: its retries share one outage budget
    # Whether ``Invoice.tax`` reaches the ERP's sales tax account; without it the poster
    # dead-letters taxed invoices (mapping ``tax.on_invoice: false`` avoids them)
    posts_invoice_tax: bool = False
    # The document kinds this adapter posts; the poster dead-letters the others by name
    # (credit memos and customer refunds: not yet in any ERP adapter)
    kinds: frozenset[DocKind] = frozenset({
        DocKind.CUSTOMER, DocKind.SALES_ORDER, DocKind.INVOICE, DocKind.PAYMENT,
        DocKind.JOURNAL, DocKind.INVENTORY, DocKind.DEPOSIT})

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

    def gl_lines(self, start: date | None, end: date) -> list[GlLine]:
        """Posted GL lines with ``start <= posted_on <= end`` (``start`` None: from the
        beginning), read through the ERP's own GL inquiry API."""
        raise NotImplementedError(f"{self.erp} adapter does not read the general ledger yet")

    def read_subscriptions(self, customers: Sequence[str]
                           ) -> dict[str, CustomerSubscription | None]:
        """The subscription summary each customer's ERP record holds (None: none yet), by
        customer external id; customers the ERP does not hold are left out."""
        raise NotImplementedError(f"{self.erp} adapter does not keep subscriptions yet")

    def write_subscriptions(self, subs: Sequence[CustomerSubscription]
                            ) -> dict[str, ErpError | None]:
        """Write each summary to its customer's record (the customer exists: ``read_subscriptions``
        found it); per customer None, or the ERP's refusal. Transient failures raise, and
        writing again is safe (each write replaces the same fields)."""
        raise NotImplementedError(f"{self.erp} adapter does not keep subscriptions yet")

    def trial_balance(self, as_of: date) -> dict[tuple[str, str], int]:
        """(account, currency) -> signed minor units (debit positive): the sum of every line
        posted on or before ``as_of`` (``gl_lines(None, as_of)``)."""
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for line in self.gl_lines(None, as_of):
            totals[(line.account, line.currency)] += line.amount_minor
        return dict(totals)

    def close(self) -> None:  # noqa: B027 - optional hook
        pass
