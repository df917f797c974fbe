"""Writing through Epicor business objects: ``UpdateExt`` and one-transaction methods.

``UpdateExt`` carries a whole batch of headers and lines in one call
(``continueProcessingOnError`` so one bad document does not stop the rest,
``rollbackParentOnChildError`` so a document is all-or-nothing).  New headers carry a
negative placeholder in the key the server assigns (``OrderNum``, ``InvoiceNum``,
``HeadNum``, ``JournalNum``) and their lines carry the same value; rows are matched
back to documents by the ``SysRowID`` the adapter gives each row.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from domain.erp import DocKind, ErpRef

from ..base import ErpValidationError
from .http import error_from_body
from .values import Row

if TYPE_CHECKING:
    from .adapter import EpicorAdapter

Created = tuple[dict[str, ErpRef], dict[str, ErpValidationError]]


def update_ext(a: EpicorAdapter, service: str, ds: dict[str, list[Row]],
               owners: dict[str, str], header: str, kind: DocKind) -> Created:
    """POST UpdateExt; map saved header rows and BOUpdError rows back to documents.

    ``owners`` maps every row's SysRowID to its document's external id.
    """
    status, data = a.api.call_method(f"{service}/UpdateExt", {
        "ds": ds, "continueProcessingOnError": True, "rollbackParentOnChildError": True})
    errors: dict[str, ErpValidationError] = {}
    created: dict[str, ErpRef] = {}
    if status >= 300:  # the whole call was refused (bad input): every document fails
        err = error_from_body(data, status)
        return {}, {ext: err for ext in set(owners.values())}
    for e in (data.get("returnObj") or {}).get("BOUpdError") or []:
        ext = owners.get(e.get("ErrorSysRowID", ""))
        if ext and ext not in errors and (e.get("ErrorLevel") or "Error") != "Warning":
            errors[ext] = ErpValidationError(
                e.get("ErrorText") or "rejected by Epicor", code=e.get("ErrorType") or None,
                field=None, body=e)
    for row in ((data.get("parameters") or {}).get("ds") or {}).get(header) or []:
        ext = owners.get(row.get("SysRowID", ""))
        if ext and ext not in errors:
            created[ext] = a.lookups.remember(kind, ext, row)
    return created, errors


def update_docs(a: EpicorAdapter, service: str, header: str, heads: list[Row], detail: str,
                lines: list[Row], owners: dict[str, str], kind: DocKind,
                errors: dict[str, ErpValidationError]) -> Created:
    """:func:`update_ext` of header rows with their detail rows (none: no call), adding
    its refusals to the ``errors`` already found."""
    if not heads:
        return {}, errors
    created, errs = update_ext(a, service, {header: heads, detail: lines}, owners, header, kind)
    return created, {**errors, **errs}


def atomic_batches(a: EpicorAdapter, docs: Sequence[Any], row_of: Callable[[Any], Row],
                   path: str, table: str, kind: DocKind,
                   errors: dict[str, ErpValidationError]) -> Created:
    """Methods that run in one transaction: send the batch; if refused, one by one."""
    created: dict[str, ErpRef] = {}
    if not docs:
        return created, errors
    batches: list[Sequence[Any]] = [docs]
    while batches:
        batch = batches.pop(0)
        rows = [row_of(d) for d in batch]
        status, data = a.api.call_method(path, {"ds": {table: rows}})
        if status >= 300:
            if len(batch) > 1:  # nothing was applied: isolate the refused document
                batches = [[d] for d in batch] + batches
            else:
                errors[batch[0].external_id] = error_from_body(data, status)
            continue
        params = (data or {}).get("parameters") or {}
        if kind is DocKind.INVENTORY:
            pks = [p for p in str(params.get("partTranPKs") or "").split("|") if p]
            if len(pks) == len(batch):
                for doc, pk in zip(batch, pks):
                    tran_num = pk.split("~")[-1]
                    created[doc.external_id] = a.lookups.remember(
                        kind, doc.external_id,
                        {"TranNum": tran_num, "TranReference": doc.external_id})
                continue
        else:
            out_rows = (params.get("ds") or {}).get(table) or []
            if len(out_rows) == len(batch):
                for doc, row in zip(batch, out_rows):
                    created[doc.external_id] = a.lookups.remember(
                        kind, doc.external_id,
                        {"BankAcctID": row.get("BankAcctID"), "TranNum": row.get("TranNum")})
                continue
        # keys not echoed as expected: read them back
        for ext, ref in a.find(kind, [d.external_id for d in batch]).items():
            created[ext] = ref
    return created, errors
