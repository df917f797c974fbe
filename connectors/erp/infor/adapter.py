"""Infor M3 adapter: configuration, find-then-create, reading back.

Authentication and MI calls are in ``http``; EXPORTMI lookups in ``lookups``; one module
per document family (``customers``, ``sales_orders``, ``invoices``, ``cash_receipts``,
``journals``, ``deposits``, ``inventory``).

Configuration (``from_env``): ``ERP_BASE_URL`` (the gateway, ``iu``; defaults to the
.ionapi file's), ``INFOR_IONAPI_FILE`` (the credentials JSON an Infor admin downloads),
``INFOR_COMPANY`` (CONO), ``INFOR_DIVISION`` (DIVI).  Optional, with defaults:
``INFOR_CUSTOMER_TEMPLATE`` (CUTM, ``TEMPLATE``), ``INFOR_ORDER_TYPE`` (ORTP, the
customer's default), ``INFOR_GL_INTERFACE`` (GLS840 INTN, ``STRIPE``),
``INFOR_PARTNER``/``INFOR_MESSAGE_TYPE`` (MMS850/MHS850 E0PA/E065, ``STRIPE``),
``INFOR_WAREHOUSES`` (``MAIN=100,EAST=200``: location -> WHLO; unmapped locations
use their first three characters), ``INFOR_PAYMENT_TYPES`` (``CARD=CRD,ACH=ACH``:
payment method -> ARS040 BOPE), ``INFOR_REPORT_DELIVERY`` (``1``: the product reports the
delivery of its orders; ``0``: the warehouse does, in M3) and ``INFOR_AR_INFO_CATEGORY``
(the ARS251 AR information category holding the Stripe charge id, ``901``).

How documents map (M3 field lengths are the binding constraint):

========== ========================================= =========================================
kind       natural key (find)                        create (one bulk request per program)
========== ========================================= =========================================
customer   OCUSMA.YRE2 = Stripe id (EXPORTMI)        CRS610MI Add (CUNO = "S" + hash) +
                                                     ChgFinancial (CUCD, TXAP)
order      OOHEAD.CUOR = id or 20-char hash,         OIS100MI AddBatchHead -> AddBatchLine ->
           YREF = id (EXPORTMI); posted once         Confirm; then delivered: MWS411MI,
           delivered (OAORSL 66)                     MWS410MI RelForAlloc/RelForPick,
                                                     MWS420MI, MHS850MI AddCOPick
invoice    the order's invoice (OIS350MI             never: M3's invoicing job makes it;
           LstAllInvByCO)                            until then the invoice *waits*
payment    FSLEDX (AR additional information) =      ARS040MI AddBatchHead, AddBatchLine per
           Stripe id, on the FSLEDG payment record   application, ControlBatch; then
                                                     ARS251MI AddInfoCat on its FSLEDG record;
                                                     waits while its invoice does
journal    FGLEDG.VTXT = Stripe id (EXPORTMI)        GLS840MI AddBatchHead, AddBatchLineFld,
                                                     CtrlBatch, UpdBatch; EXI1 = source,
                                                     EXI2 = memo (GL additional information)
deposit    FGLEDG.VTXT = "DEP " + payout id          as a journal: Dr bank, Cr clearing
inventory  a sale's: its order's issue (MITTRA);     a sale's: none (its delivery issued it;
           others: MMS850MI GetMvxMsg (PMSN)         waits until delivered); others:
                                                     MMS850MI AddAdjust (PRFL *EXE)
========== ========================================= =========================================

The general ledger is read through GLS200MI (``ledger``).

Writes are never replayed blindly: a transient failure on a write (its answer may be
lost after M3 acted) makes ``post`` find again and create only what is still missing.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from domain.erp import DocKind, Document, ErpRef
from domain.subscriptions import CustomerSubscription

from ..base import (ErpAdapter, ErpError, ErpNotFound, ErpRecord, ErpTransientError,
                    ErpValidationError, GlLine, PostResult, one_kind)
from ..retry import RetryPolicy
from . import (cash_receipts, customers, deposits, inventory, invoices, journals, ledger,
               sales_orders)
from . import subscriptions
from .http import IonApi, M3Api, mi_error, mi_records
from .values import pairs

FINDERS: dict[DocKind, Callable[..., dict[str, ErpRef]]] = {
    DocKind.CUSTOMER: customers.find_customers,
    DocKind.SALES_ORDER: lambda a, ids: sales_orders.find_orders(a, ids),
    DocKind.INVOICE: invoices.find, DocKind.PAYMENT: cash_receipts.find,
    DocKind.JOURNAL: journals.find, DocKind.DEPOSIT: deposits.find,
    DocKind.INVENTORY: inventory.find}
CREATORS: dict[DocKind, Callable[..., dict[str, PostResult]]] = {
    DocKind.CUSTOMER: customers.create, DocKind.SALES_ORDER: sales_orders.create,
    DocKind.INVOICE: invoices.create, DocKind.PAYMENT: cash_receipts.create,
    DocKind.JOURNAL: journals.create, DocKind.DEPOSIT: deposits.create,
    DocKind.INVENTORY: inventory.create}
READERS: dict[DocKind, Callable[..., list[ErpRecord]]] = {
    DocKind.CUSTOMER: customers.read, DocKind.SALES_ORDER: sales_orders.read,
    DocKind.INVOICE: invoices.read, DocKind.PAYMENT: cash_receipts.read,
    DocKind.JOURNAL: journals.read, DocKind.DEPOSIT: deposits.read,
    DocKind.INVENTORY: inventory.read}


class InforAdapter(ErpAdapter):
    erp = "infor"
    field_limits = customers.CUSTOMER_LIMITS

    def __init__(self, base_url: str, ion: IonApi, company: str, division: str, *,
                 customer_template: str = "TEMPLATE", order_type: str = "",
                 gl_interface: str = "STRIPE", partner: str = "STRIPE",
                 message_type: str = "STRIPE", warehouses: Mapping[str, str] | None = None,
                 payment_types: Mapping[str, str] | None = None, report_delivery: bool = True,
                 ar_info_category: str = "901", timeout: float = 30.0,
                 retry: RetryPolicy | None = None) -> None:
        self.ion, self.cono, self.divi = ion, str(company), str(division)
        self.customer_template, self.order_type = customer_template, order_type
        self.gl_interface, self.partner, self.message_type = gl_interface, partner, message_type
        self.warehouses = {k.upper(): v for k, v in (warehouses or {}).items()}
        self.payment_types = {"CARD": "CRD", **{k.upper(): v for k, v in
                                                (payment_types or {}).items()}}
        self.report_delivery, self.ar_info_category = report_delivery, ar_info_category
        self.retry_policy = retry or RetryPolicy()
        self.base_url = base_url.rstrip("/")
        self.api = M3Api(self.base_url, ion, self.cono, self.divi, policy=self.retry_policy,
                         timeout=timeout)
        # positive lookups (safe to keep: M3 keys never change once assigned)
        self.cuno: dict[str, str] = {}            # customer external id -> CUNO
        self.customer_ext: dict[str, str] = {}    # CUNO -> customer external id
        self.orno: dict[str, str] = {}            # order external id -> ORNO
        self.order_status: dict[str, str] = {}    # order external id -> lowest status
        self.m3_invoices: dict[str, dict[str, str]] = {}   # invoice external id -> M3 invoice
        self.locations: dict[str, str] = {}       # WHLO -> the location it was asked as

    def __repr__(self) -> str:
        return f"InforAdapter(base_url={self.base_url!r}, tenant={self.ion.ti!r}, " \
               f"company={self.cono!r}, division={self.divi!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> InforAdapter:
        path = env.get("INFOR_IONAPI_FILE")
        if not path:
            raise ValueError("INFOR_IONAPI_FILE is not set (the .ionapi credentials file)")
        ion = IonApi.load(path)
        missing = [k for k in ("INFOR_COMPANY", "INFOR_DIVISION") if not env.get(k)]
        if missing:
            raise ValueError(f"{', '.join(missing)} not set (M3 company CONO / division DIVI)")
        return cls(env.get("ERP_BASE_URL") or ion.iu, ion, env["INFOR_COMPANY"],
                   env["INFOR_DIVISION"],
                   customer_template=env.get("INFOR_CUSTOMER_TEMPLATE") or "TEMPLATE",
                   order_type=env.get("INFOR_ORDER_TYPE") or "",
                   gl_interface=env.get("INFOR_GL_INTERFACE") or "STRIPE",
                   partner=env.get("INFOR_PARTNER") or "STRIPE",
                   message_type=env.get("INFOR_MESSAGE_TYPE") or "STRIPE",
                   warehouses=pairs(env.get("INFOR_WAREHOUSES", "")),
                   payment_types=pairs(env.get("INFOR_PAYMENT_TYPES", "")),
                   report_delivery=(env.get("INFOR_REPORT_DELIVERY") or "1") != "0",
                   ar_info_category=env.get("INFOR_AR_INFO_CATEGORY") or "901",
                   retry=RetryPolicy.from_env(env))

    @property
    def calls(self) -> int:
        return self.api.calls

    @property
    def execute_url(self) -> str:
        return self.api.execute_url

    def close(self) -> None:
        self.api.close()

    # ------------------------------------------------------------------ contract
    def health(self) -> None:
        data = self.api.call("GET", f"{self.execute_url}/CRS610MI/LstByNumber",
                             params={"cono": self.cono, "divi": self.divi, "maxrecs": 1})
        [item] = data.get("results") or [{}]
        nok = mi_error(item)
        if nok is not None:
            raise ErpError(f"M3 health check: {nok.message}", code=nok.code)

    def find(self, kind: DocKind, external_ids: Sequence[str]) -> dict[str, ErpRef]:
        ids = list(dict.fromkeys(external_ids))
        return FINDERS[kind](self, ids) if ids else {}

    def post(self, docs: Sequence[Document]) -> list[PostResult]:
        if not docs:
            return []
        kind = one_kind(docs)
        first: dict[str, Document] = {}
        for doc in docs:
            first.setdefault(doc.external_id, doc)
        results: dict[str, PostResult] = {}
        attempted: set[str] = set()

        def find_then_create() -> None:
            todo = [d for e, d in first.items() if e not in results]
            if not todo:
                return
            found = self._find_for_post(kind, todo)
            for doc in todo:
                if doc.external_id in found:
                    results[doc.external_id] = PostResult(doc.external_id,
                                                          found[doc.external_id],
                                                          created=doc.external_id in attempted)
            missing = [d for d in todo if d.external_id not in results]
            if not missing:
                return
            try:
                results.update(CREATORS[kind](self, missing))
            except ErpTransientError:   # the answer may be lost after M3 acted: find again
                attempted.update(d.external_id for d in missing)
                raise

        self.retry_policy.run(find_then_create)
        return [results[d.external_id] for d in docs]

    def _find_for_post(self, kind: DocKind, docs: Sequence[Any]) -> dict[str, ErpRef]:
        """find(), plus what creating needs, in the same request where possible."""
        ids = [d.external_id for d in docs]
        if kind == DocKind.SALES_ORDER:
            return sales_orders.find_for_post(self, docs)
        if kind == DocKind.PAYMENT:
            return cash_receipts.find_for_post(self, docs)
        if kind == DocKind.DEPOSIT:
            return deposits.find_for_post(self, docs)
        return self.find(kind, ids)

    def read(self, kind: DocKind, external_ids: Sequence[str] | None = None) -> list[ErpRecord]:
        ids = None if external_ids is None else list(dict.fromkeys(external_ids))
        if ids == []:
            return []
        return READERS[kind](self, ids)

    def on_hand(self, sku: str, location: str) -> Decimal:
        data = self.api.call("GET", f"{self.execute_url}/MMS200MI/GetItmWhsBal",
                             params={"cono": self.cono, "divi": self.divi,
                                     "WHLO": self.whlo(location), "ITNO": sku})
        [item] = data.get("results") or [{}]
        nok = mi_error(item)
        if nok is not None:
            raise ErpNotFound(nok.message, field=nok.field, code=nok.code)
        [rec] = mi_records(item)
        return Decimal(rec.get("STQT") or "0")

    def read_subscriptions(self, customers: Sequence[str]
                           ) -> dict[str, CustomerSubscription | None]:
        return subscriptions.read(self, customers)

    def write_subscriptions(self, subs: Sequence[CustomerSubscription]
                            ) -> dict[str, ErpError | None]:
        return subscriptions.write(self, subs)

    def gl_lines(self, start: date | None, end: date) -> list[GlLine]:
        return ledger.gl_lines(self, start, end)

    def open_receivables(self, as_of: date) -> dict[str, int]:
        """Currency -> open AR on ``as_of`` by M3's own AR ledger (FSLEDG), minor units."""
        return ledger.open_receivables(self, as_of)

    # ------------------------------------------------------------------ shared by the families
    def whlo(self, location: str) -> str:
        """Product location -> M3 warehouse (WHLO, 3 characters): INFOR_WAREHOUSES, else the
        location's first three characters."""
        loc = (location or "").strip().upper()
        whlo = self.warehouses.get(loc) or loc[:3]
        self.locations.setdefault(whlo, loc)
        return whlo

    def location(self, whlo: str) -> str:
        for loc, w in self.warehouses.items():
            if w == whlo:
                return loc
        return self.locations.get(whlo, whlo)

    def ref(self, kind: DocKind, key: str, external_id: str) -> ErpRef:
        return ErpRef(erp=self.erp, kind=kind, id=key, external_id=external_id)

    def merge(self, out: dict[str, PostResult], doc: Document, errors: Sequence[Any],
              ref: ErpRef | None) -> None:
        """``out[doc]``: the first error of its transactions, else created with ``ref``."""
        err = next((e for e in errors if e is not None), None)
        if err is not None:
            out[doc.external_id] = PostResult(doc.external_id, error=err)
        elif ref is None:
            out[doc.external_id] = PostResult(doc.external_id, error=ErpValidationError(
                "M3 answered without the document's key"))
        else:
            out[doc.external_id] = PostResult(doc.external_id, ref, created=True)
