"""Delivering the customer orders the product created, the way M3 documents it.

For each confirmed order: its delivery number and lines (MWS411MI ``LstDelLnByOrd``), the
delivery's state (MWS410MI ``GetHead``), release for allocation and for picking where not
done yet (MWS410MI ``RelForAlloc``/``RelForPick``), the picking list (MWS420MI
``LstPickHeader``), then every line still to deliver reported picked through the warehouse
interface (MHS850MI ``AddCOPick``, ``PRFL *EXE``), dated by the order date, with an external
message number derived from the order and line so a repeated report is refused by M3.
One bulk request per step for the whole batch.  M3's invoicing job then invoices the
delivered orders (``invoices``).

Off with ``INFOR_REPORT_DELIVERY=0`` when the warehouse reports deliveries in M3 itself:
the product then waits for them (``invoices``, ``inventory``).
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from ..base import ErpValidationError
from .http import mi_error, mi_records
from .values import short_key, ymd

if TYPE_CHECKING:
    from datetime import date

    from .adapter import InforAdapter

CO_CATEGORY = "3"            # RORC of customer orders
DELIVERED = "66"             # customer order status: delivered (lowest status of the order)


def delivered(status: str) -> bool:
    return status >= DELIVERED


def pick_message(external_id: str, line: str) -> str:
    """PMSN (17): one external message number per order line."""
    return short_key("D", f"{external_id}:{line}", 17)


def deliver(a: InforAdapter, orders: Sequence[tuple[str, str, str, date]]
            ) -> dict[str, ErpValidationError | None]:
    """Deliver ``orders`` (external id, ORNO, CUNO, order date) in full.  Returns per
    external id the first refusal M3 answered, or None when every line is reported."""
    errors: dict[str, ErpValidationError | None] = {e: None for e, _, _, _ in orders}
    results = a.api.bulk("MWS411MI", [[{"transaction": "LstDelLnByOrd", "record": {
        "RORC": CO_CATEGORY, "RIDN": orno},
        "selectedColumns": ["DLIX", "RIDN", "RIDL", "ITNO", "TRQT"]}] for _, orno, _, _ in orders])
    lines: dict[str, list[dict[str, str]]] = {}
    for (ext, orno, _, _), items in zip(orders, results):
        errors[ext] = mi_error(items[0])
        todo = [r for r in mi_records(items[0]) if Decimal(r.get("TRQT") or "0") > 0]
        if errors[ext] is None and todo:
            lines[ext] = todo
    dlixes = list(dict.fromkeys(r["DLIX"] for rows in lines.values() for r in rows))
    heads = dict(zip(dlixes, a.api.bulk("MWS410MI", [[{
        "transaction": "GetHead", "record": {"DLIX": d},
        "selectedColumns": ["DLIX", "WHLO", "RLFA", "RLTD"]}] for d in dlixes])))
    releases, whlo = [], {}
    for dlix, items in heads.items():
        head = (mi_records(items[0]) or [{}])[0]
        whlo[dlix] = head.get("WHLO", "")
        group = [{"transaction": t, "record": {"DLIX": dlix, "OLUP": "1"}}
                 for t, flag in (("RelForAlloc", "RLFA"), ("RelForPick", "RLTD"))
                 if head.get(flag) != "1"]
        if group:
            releases.append((dlix, group))
    refused: dict[str, ErpValidationError] = {}
    for (dlix, _), items in zip(releases, a.api.bulk("MWS410MI", [g for _, g in releases],
                                                     write=True)):
        nok = next((n for n in map(mi_error, items) if n is not None), None)
        if nok is not None:
            refused[dlix] = nok
    picks = dict(zip(dlixes, a.api.bulk("MWS420MI", [[{
        "transaction": "LstPickHeader", "record": {"DLIX": d},
        "selectedColumns": ["DLIX", "PLSX"]}] for d in dlixes])))
    plsx = {d: (mi_records(items[0]) or [{}])[0].get("PLSX", "") for d, items in picks.items()}
    reports, owners = [], []
    for ext, orno, cuno, when in orders:
        for row in lines.get(ext, []):
            dlix = row["DLIX"]
            if dlix in refused or not plsx.get(dlix):
                errors[ext] = errors[ext] or refused.get(dlix) or ErpValidationError(
                    f"M3 has no picking list for delivery {dlix} of customer order {orno}",
                    field="PLSX")
                continue
            reports.append([{"transaction": "AddCOPick", "record": {
                "WHLO": whlo[dlix], "E0PA": a.partner,
                "E065": a.message_type, "CUNO": cuno, "RIDN": orno, "RIDL": row["RIDL"],
                "PLSX": plsx[dlix], "DLIX": dlix, "QTYP": row["TRQT"], "RPDT": ymd(when),
                "PMSN": pick_message(ext, row["RIDL"]), "PRFL": "*EXE"}}])
            owners.append(ext)
    for ext, items in zip(owners, a.api.bulk("MHS850MI", reports, write=True)):
        nok = mi_error(items[0])
        if nok is not None and not (nok.field == "PMSN" and "already exists" in nok.message):
            errors[ext] = errors[ext] or nok      # a repeated report was done before
    return errors
