"""Epicor's ``UpdateExt``: one call saves a tableset of headers with their child rows.

Each header with its children is a unit: the table's rules (``rules_sales``,
``rules_finance``) build and check it; with ``rollbackParentOnChildError`` a refused child
row refuses its header; with ``continueProcessingOnError`` the other units still save.
Refusals come back as ``BOUpdError`` rows naming the refused row's ``SysRowID``; saved rows
come back in ``parameters.ds``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import NOT_FOUND_EXCEPTION, ODATA_EXCEPTION, EpicorError, business
from .odata import Row
from .rules_finance import CashHooks, GroupHooks, JournalHooks
from .rules_sales import CustomerHooks, Hooks, InvoiceHooks, OrderHooks
from .tables import COMPUTED, KEYS, NAVIGATIONS, TEMPLATES, new_guid

if TYPE_CHECKING:
    from .store import Store


@dataclass
class UnitError:
    table: str
    row: Row
    err: EpicorError


def bo_update_error(e: UnitError) -> dict[str, Any]:
    return {"TableName": e.table, "ErrorLevel": "Error", "ErrorType": e.err.error_type or "",
            "ErrorText": e.err.message, "ErrorSysRowID": e.row.get("SysRowID", ""),
            "SysRowID": new_guid(), "RowMod": e.row.get("RowMod", "A")}


@dataclass
class Spec:
    """How UpdateExt processes one service's tableset: headers with optional children."""

    header: str
    child: str | None = None
    seq: str | None = None          # header key field the server assigns (OrderNum, ...)
    line: str | None = None         # child line-number field (OrderLine, ...)


SPECS: dict[str, Spec] = {
    "Erp.BO.CustomerSvc": Spec("Customer", "ShipTo", "CustNum"),
    "Erp.BO.SalesOrderSvc": Spec("OrderHed", "OrderDtl", "OrderNum", "OrderLine"),
    "Erp.BO.InvcGrpSvc": Spec("InvcGrp"),
    "Erp.BO.ARInvoiceSvc": Spec("InvcHead", "InvcDtl", "InvoiceNum", "InvoiceLine"),
    "Erp.BO.CashGrpSvc": Spec("CashGrp"),
    "Erp.BO.CashRecSvc": Spec("CashHead", "CashDtl", "HeadNum"),
    "Erp.BO.GLJrnGrpSvc": Spec("GLJrnGrp"),
    "Erp.BO.GLJournalEntrySvc": Spec("GLJrnHed", "GLJrnDtlMnl", "JournalNum", "JournalLine"),
}
HOOKS: dict[str, Hooks] = {
    "Customer": CustomerHooks(),
    "OrderHed": OrderHooks(),
    "InvcGrp": GroupHooks("InvcGrp", "InvoiceDate"),
    "InvcHead": InvoiceHooks(),
    "CashGrp": GroupHooks("CashGrp", "TranDate"),
    "CashHead": CashHooks(),
    "GLJrnGrp": GroupHooks("GLJrnGrp", "JEDate"),
    "GLJrnHed": JournalHooks(),
}


def update_ext(s: Store, service: str, ds: dict[str, Any], continue_on_error: bool,
               rollback_parent: bool) -> dict[str, Any]:
    spec = SPECS.get(service)
    if spec is None:
        raise EpicorError(f"Method UpdateExt is not available on {service} in this "
                          f"sandbox.", status=404, error_type="ApiException")
    if not isinstance(ds, dict):
        raise EpicorError("Unable to deserialize entity: 'ds' must be an object.",
                          error_type=ODATA_EXCEPTION)
    allowed = {spec.header, spec.child, "ExtensionTables"}
    for name, rows in ds.items():
        if name not in allowed or not isinstance(rows, list):
            raise EpicorError(f"Table '{name}' is not part of the {service} tableset.",
                              error_type=ODATA_EXCEPTION)
    with s.lock:
        headers = [s.merge(spec.header, r) for r in ds.get(spec.header, [])]
        children = ([s.merge(spec.child, r) for r in ds.get(spec.child, [])]
                    if spec.child else [])
        units = _units(s, spec, headers, children)
        errors: list[UnitError] = []
        out_h: list[Row] = []
        out_c: list[Row] = []
        for header, kids, link_error in units:
            if link_error:
                errors.append(link_error)
                if not continue_on_error:
                    break
                continue
            unit_errors, saved_h, saved_c = _process(s, spec, header, kids,
                                                     rollback_parent)
            errors.extend(unit_errors)
            if saved_h is not None:
                out_h.append(saved_h)
            out_c.extend(saved_c)
            if unit_errors and not continue_on_error:
                break
        if errors and not continue_on_error:
            first = errors[0].err
            raise EpicorError(first.message, status=first.status,
                              error_type=first.error_type, table=first.table or
                              errors[0].table, field=first.field)
        out_ds: dict[str, Any] = {spec.header: [dict(r) for r in out_h]}
        if spec.child:
            out_ds[spec.child] = [dict(r) for r in out_c]
        return {"returnObj": {"BOUpdError": [bo_update_error(e) for e in errors]},
                "parameters": {"ds": out_ds, "errorsOccurred": bool(errors)}}


def _units(s: Store, spec: Spec, headers: list[Row], children: list[Row]
           ) -> list[tuple[Row | None, list[Row], UnitError | None]]:
    """Group rows: each header with the children carrying its (temporary) key value.

    New headers (RowMod "A") carry a client-side placeholder in the server-assigned
    key (0 or a negative number, unique per call); their children carry the same
    value.  Children of a stored header carry its real key (the header may be left
    out of the call).
    """
    units: list[tuple[Row | None, list[Row], UnitError | None]] = []
    by_temp: dict[Any, int] = {}
    ambiguous: set[Any] = set()
    for h in headers:
        units.append((h, [], None))
        if spec.seq:
            v = h.get(spec.seq)
            if v in by_temp:
                ambiguous.add(v)
            by_temp[v] = len(units) - 1
    existing: dict[tuple, int] = {}
    for c in children:
        assert spec.child and spec.seq
        v = c.get(spec.seq)
        if v in ambiguous:
            units.append((None, [], UnitError(spec.child, c, business(
                f"Cannot link the {spec.child} row to its parent: {spec.seq} {v} is used "
                f"by several new {spec.header} rows.", spec.child, spec.seq))))
            continue
        if v in by_temp:
            units[by_temp[v]][1].append(c)
            continue
        pkey = tuple(c.get(f) if f != "Company" else s.company
                     for f in KEYS[spec.header])
        parent = s.t[spec.header].get(pkey)
        if parent is None:
            units.append((None, [], UnitError(spec.child, c, EpicorError(
                f"{spec.header} record not found for the {spec.child} row "
                f"({spec.seq} {v}).", table=spec.child, field=spec.seq,
                error_type=NOT_FOUND_EXCEPTION))))
            continue
        if pkey not in existing:
            existing[pkey] = len(units)
            units.append((dict(parent, RowMod=""), [], None))
        units[existing[pkey]][1].append(c)
    return units


def _process(s: Store, spec: Spec, header: Row, kids: list[Row], rollback_parent: bool
             ) -> tuple[list[UnitError], Row | None, list[Row]]:
    hooks = HOOKS[spec.header]
    errors: list[UnitError] = []
    is_new = header.get("RowMod") == "A"
    try:
        if is_new:
            for f in COMPUTED.get(spec.header, ()):
                header[f] = TEMPLATES[spec.header][f]
            hooks.build_header(s, header)
        elif header.get("RowMod") == "U":
            raise business(f"RowMod 'U' on {spec.header} is not supported by the sandbox "
                           f"UpdateExt; use PATCH on the entity.", spec.header)
        else:
            stored = s.t[spec.header].get(s.t[spec.header].key_of(header))
            if stored is None:
                raise EpicorError(f"{spec.header} record not found.", status=404,
                                  error_type=NOT_FOUND_EXCEPTION, table=spec.header)
            header = stored
    except EpicorError as err:
        return [UnitError(spec.header, header, err)], None, []
    state: dict[str, Any] = {}
    good: list[Row] = []
    for kid in kids:
        try:
            hooks.build_child(s, kid, header, state)
            good.append(kid)
        except EpicorError as err:
            errors.append(UnitError(spec.child or "", kid, err))
    if errors and rollback_parent:
        return errors, None, []
    try:
        hooks.finish(s, header, good, is_new)
    except EpicorError as err:
        errors.append(UnitError(spec.header, header, err))
        return errors, None, []
    # commit
    if is_new:
        if spec.seq:
            header[spec.seq] = s._next(spec.seq)
        header["RowMod"] = ""
        s.t[spec.header].insert(header)
    if spec.child:
        nav_fields = NAVIGATIONS[spec.header][2]
        used = {c[spec.line] for c in s.t[spec.child].where(spec.seq, header[spec.seq])
                } if spec.line else set()
        for kid in good:
            for f in nav_fields:
                kid[f] = header[f]
            if spec.line:
                if not kid.get(spec.line) or kid[spec.line] in used:
                    kid[spec.line] = max(used, default=0) + 1
                used.add(kid[spec.line])
            kid["RowMod"] = ""
            s.t[spec.child].insert(kid)
    hooks.commit(s, header, good, is_new)
    return errors, header, good

# ------------------------------------------------------------------ methods
# ------------------------------------------------------------------ OData CRUD
