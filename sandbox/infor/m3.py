"""An in-memory Infor M3 behind the MI programs the product uses.

One class per family of programs (``customers``, ``orders``, ``delivery``,
``invoicing``, ``receivables``, ``ledger``, ``stock``), all on :class:`core.Core`, which
checks every transaction against its real signature before the program runs.  Programs
raise :class:`common.Nok`, which the bulk executor turns into an M3 ``ServerReturnedNOK``
result item.  State is plain dicts and :class:`tables.Table` rows guarded by ``lock``; id
sequences are deterministic and restart on :meth:`M3.reset`.
"""
from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from .common import TEMPLATE, WAREHOUSE, Ctx, Nok
from .core import Handler, new_tables
from .customers import Customers
from .ledger import seed_accounts
from .receivables import Receivables
from .stock import Stock
from .tables import QueryError, select


class M3(Receivables, Customers, Stock):
    """One M3 tenant: company ``cono``, division ``divi``, local currency ``local``."""

    def __init__(self, cono: str = "100", divi: str = "AAA", local: str = "USD") -> None:
        self.cono, self.divi, self.local = cono, divi, local
        self.lock = threading.RLock()
        self.programs: dict[str, dict[str, Handler]] = {
            **self.customer_programs(), **self.order_programs(), **self.delivery_programs(),
            **self.invoicing_programs(), **self.receivable_programs(), **self.ledger_programs(),
            **self.stock_programs(), "EXPORTMI": {"Select": self.exportmi_select}}
        self.reset()

    def handlers(self) -> dict[str, dict[str, Handler]]:
        return self.programs

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        with self.lock:
            self.t = new_tables()
            self.cunos: list[str] = []
            self.batch_orders: dict[str, dict[str, Any]] = {}
            self.orders: dict[str, dict[str, Any]] = {}
            self.deliveries: dict[str, dict[str, Any]] = {}
            self.whs_messages: dict[tuple[str, str], str] = {}
            self.picks: dict[str, dict[str, Any]] = {}
            self.invoices: dict[tuple[str, str], dict[str, Any]] = {}
            self.job_runs: list[dict[str, Any]] = []
            self.pay_batches: dict[str, dict[str, Any]] = {}
            self.gl_batches: dict[str, dict[str, Any]] = {}
            self.vouchers: dict[tuple[str, str], list[dict[str, str]]] = {}
            self.messages: dict[tuple[str, str], str] = {}
            self.msgs: dict[str, dict[str, Any]] = {}
            self.closed_periods: set[str] = set()
            self.closed_before = ""                 # every period before this date: closed
            self.seq = {"cuno": 0, "tmp_orno": 1000000000, "orno": 100000, "dlix": 5000000,
                        "ivno": 100000000, "vono": 0, "jrno": 0, "msnr": 1000000}
            self._seed()

    def _seed(self) -> None:
        seed_accounts(self)
        self.insert_customer(self.t["OCUSMA"].new_row(
            CONO=self.cono, CUNO=TEMPLATE, CUNM="Customer template", CUA1="Customer template",
            STAT="20", CUTP="0", CUCD=self.local, LNCD="GB", TXAP="1", ORTP="A10", WHLO=WAREHOUSE,
            RGDT="20200101", LMDT="20200101", CHNO="1"))
        self.t["MITWHL"].insert(self.t["MITWHL"].new_row(
            CONO=self.cono, WHLO=WAREHOUSE, WHNM="MAIN warehouse", DIVI=self.divi, FACI="A01"))
        for n in range(1000, 1100):
            self.set_item(f"SKU-{n:05d}", Decimal(1_000_000), WAREHOUSE, True)
        for n in range(1, 11):
            self.set_item(f"SUB-{n:03d}", Decimal(0), WAREHOUSE, False)
        self.set_item("MISC", Decimal(0), WAREHOUSE, False)

    def has(self, program: str, txn: str | None = None) -> bool:
        return program in self.programs and (txn is None or txn in self.programs[program])

    # ------------------------------------------------------------------ EXPORTMI
    def exportmi_select(self, rec: dict[str, str], ctx: Ctx) -> list[dict]:
        try:
            cols, rows = select(self.t, rec["QERY"], ctx.maxrecs)
        except QueryError as exc:
            raise Nok(str(exc), "XQRY002", "QERY") from None
        sep = rec.get("SEPC", "")
        out = [{"REPL": sep.join(cols)}] if rec.get("HDRS") == "1" else []
        out.extend({"REPL": sep.join(values)} for values in rows)
        return out
