"""M3's general ledger and AR ledger, read as an accountant reads them.

GL lines through M3's GL inquiry API, GLS200MI ``LstVouchersByDt`` (every line with its
accounting date in a range): account = accounting dimension 1 (``AIT1``), the line's
currency and foreign-currency amount (``CUCD``, ``CUAM``; the local recorded amount
``ACAM`` is M3's own), voucher ``YEA4/VONO``, and what produced it from the FAM function
(``FEID``: OI20 customer invoice, AR30 customer payment, GL40 the GLS840 interface, whose
deposits carry the voucher text ``DEP ``/``DEPR ``).

Open receivables from the AR ledger (FSLEDG): the invoices' and payments' foreign-currency
amounts per currency, up to a day.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.money import from_decimal

from ..base import ErpError, GlLine
from .deposits import DEPOSIT_TAG, REVERSAL_TAG
from .http import mi_error, mi_records
from .lookups import co, export
from .values import m3_date, ymd

if TYPE_CHECKING:
    from .adapter import InforAdapter

EARLIEST = date(1900, 1, 1)
COLS = ["YEA4", "VONO", "JSNO", "AIT1", "CUCD", "CUAM", "ACDT", "FEID", "VTXT"]
SOURCES = {"OI20": "ARInvoice", "AR30": "CashReceipt"}


def source(row: dict[str, str]) -> str:
    if row["FEID"] in SOURCES:
        return SOURCES[row["FEID"]]
    return "Deposit" if row["VTXT"].startswith((DEPOSIT_TAG, REVERSAL_TAG)) else "GLJournal"


def gl_lines(a: InforAdapter, start: date | None, end: date) -> list[GlLine]:
    [items] = a.api.bulk("GLS200MI", [[{"transaction": "LstVouchersByDt", "record": {
        "FRDT": ymd(start or EARLIEST), "TODT": ymd(end), "DIVI": a.divi},
        "selectedColumns": COLS}]], maxrecs=0)
    nok = mi_error(items[0])
    if nok is not None:
        raise ErpError(f"M3 GLS200MI LstVouchersByDt: {nok.message}", code=nok.code)
    out = []
    for r in mi_records(items[0]):
        cucd = r["CUCD"]
        amount = from_decimal(Decimal(r["CUAM"] or "0"), cucd)
        if amount:          # currency-difference lines: local amount only
            out.append(GlLine(account=r["AIT1"], currency=cucd, amount_minor=amount,
                              posted_on=m3_date(r["ACDT"]), voucher=f"{r['YEA4']}/{r['VONO']}",
                              source=source(r)))
    return out


def open_receivables(a: InforAdapter, as_of: date) -> dict[str, int]:
    """Currency -> what customers owe on ``as_of`` by M3's AR ledger (invoices less
    payments, accounting dates up to ``as_of``), in minor units."""
    [rows] = export(a, [(["ESCUCD", "ESCUAM"], "FSLEDG",
                         f"{co(a, 'ES', True)} and ESACDT <= {int(ymd(as_of))}")])
    out: dict[str, int] = defaultdict(int)
    for r in rows:
        out[r["ESCUCD"]] += from_decimal(Decimal(r["ESCUAM"] or "0"), r["ESCUCD"])
    return {cur: v for cur, v in out.items() if v}
