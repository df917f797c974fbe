"""Epicor posting groups: invoice groups (``InvcGrp``), cash receipt groups (``CashGrp``)
and GL journal groups (``GLJrnGrp``), one per day (``{EPICOR_GROUP_PREFIX}yymmdd``),
created once through the group service's ``UpdateExt`` and reused."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from domain.erp import DocKind

from ..base import ErpValidationError
from .http import error_from_body
from .values import Row, edate, guid

if TYPE_CHECKING:
    from .adapter import EpicorAdapter

# kind -> (service, entity set, table, date field)
GROUPS: dict[DocKind, tuple[str, str, str, str]] = {
    DocKind.INVOICE: ("Erp.BO.InvcGrpSvc", "InvcGrps", "InvcGrp", "InvoiceDate"),
    DocKind.PAYMENT: ("Erp.BO.CashGrpSvc", "CashGrps", "CashGrp", "TranDate"),
    DocKind.JOURNAL: ("Erp.BO.GLJrnGrpSvc", "GLJrnGrps", "GLJrnGrp", "JEDate"),
}


def groups_for(a: EpicorAdapter, kind: DocKind, dates: Iterable[date], extra: Row
               ) -> dict[date, str | ErpValidationError]:
    """The group (InvcGrp/CashGrp/GLJrnGrp) of each date, created once and reused."""
    service, entity_set, table, date_field = GROUPS[kind]
    out: dict[date, str | ErpValidationError] = {}
    ids = {d: f"{a.group_prefix}{d:%y%m%d}" for d in set(dates)}
    missing = {d: g for d, g in ids.items() if (table, g) not in a.groups}
    if missing:
        for row in a.lookups.lookup(f"{service}/{entity_set}", "GroupID", missing.values(),
                                    "GroupID"):
            a.groups.add((table, row["GroupID"]))
    rows, owners = [], {}
    for d, gid in ids.items():
        if (table, gid) in a.groups:
            out[d] = gid
            continue
        sysrow = guid()
        owners[sysrow] = gid
        rows.append({"GroupID": gid, date_field: edate(d), **extra, "SysRowID": sysrow,
                     "RowMod": "A"})
    if rows:
        status, data = a.api.call_method(f"{service}/UpdateExt", {
            "ds": {table: rows}, "continueProcessingOnError": True,
            "rollbackParentOnChildError": True})
        if status >= 300:
            err = error_from_body(data, status)
            failed = {gid: err for gid in owners.values()}
        else:
            failed = {}
            for e in (data.get("returnObj") or {}).get("BOUpdError") or []:
                gid = owners.get(e.get("ErrorSysRowID", ""))
                if gid and "Duplicate" not in (e.get("ErrorType") or ""):
                    failed[gid] = ErpValidationError(e.get("ErrorText") or "group refused",
                                                     code=e.get("ErrorType"), body=e)
        for d, gid in ids.items():
            if d in out:
                continue
            if gid in failed:
                out[d] = failed[gid]
            else:
                a.groups.add((table, gid))
                out[d] = gid
    return out
