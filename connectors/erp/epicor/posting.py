"""Posting what the adapter entered, through Epicor's documented posting services, and
checking that it posted.

* AR invoice groups: ``Erp.PROC.ARInvoicePostSvc`` (``GetNewParameters``, then
  ``RunDirect`` with ``ARInvoicePostParam.GroupID``).
* Cash receipt groups: ``Erp.PROC.CashRecPostSvc`` (``CashRecPostParam.GroupID``).
* GL journal groups: ``Erp.BO.GLJrnGrpSvc/PostGroupJournals`` (``postGroupID``; its
  ``NotAllPostedMessage`` names the journals that did not post).
* Bank transfers (payout deposits): ``Erp.PROC.BankFundPostSvc``
  (``BankFundPostParam.TranNum``, one transfer per run).

``RunDirect`` answers nothing useful, so the result is checked by reading the documents
back (``Posted``/``GLPosted``, posted GL detail for journals).  A document that did not
post is an :class:`ErpValidationError` with Epicor's message (a closed fiscal period, an
unbalanced journal): the posting run dead-letters it, and a replay posts it once the
cause is fixed.  Posted groups are removed by Epicor, so they are forgotten here too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.erp import DocKind

from ..base import ErpError, ErpValidationError, PostResult
from .groups import GROUPS
from .http import error_from_body

if TYPE_CHECKING:
    from .adapter import EpicorAdapter

PROCESS = {DocKind.INVOICE: ("Erp.PROC.ARInvoicePostSvc", "ARInvoicePostParam"),
           DocKind.PAYMENT: ("Erp.PROC.CashRecPostSvc", "CashRecPostParam"),
           DocKind.DEPOSIT: ("Erp.PROC.BankFundPostSvc", "BankFundPostParam")}
POSTED_KINDS = (DocKind.INVOICE, DocKind.PAYMENT, DocKind.JOURNAL, DocKind.DEPOSIT)


def post_pending(a: EpicorAdapter, kind: DocKind, out: dict[str, PostResult]) -> None:
    """Post every document of ``out`` that is in Epicor but not posted; a document that
    does not post gets its error in ``out``.  Transient failures are retried (after
    looking again at what is posted) under the adapter's retry policy."""
    exts = [e for e, res in out.items() if res.ok]
    errors: dict[str, ErpValidationError] = {}
    tried = False

    def attempt() -> None:
        nonlocal tried
        if tried:          # a lost answer may have posted: look again first
            a.find(kind, [e for e in exts if e in a.lookups.unposted[kind]])
        tried = True
        pending = {e: a.lookups.unposted[kind][e] for e in exts if e in a.lookups.unposted[kind]}
        if kind is DocKind.DEPOSIT:
            for ext, transfer in pending.items():
                err = _run(a, kind, transfer)
                if err is not None:
                    errors[ext] = err
        else:
            for group in sorted(set(pending.values())):
                members = [e for e, g in pending.items() if g == group]
                errors.update(_post_group(a, kind, group, members))

    if not any(e in a.lookups.unposted[kind] for e in exts):
        return
    a.retry_policy.run(attempt)
    _check(a, kind, [e for e in exts if e in a.lookups.unposted[kind]], errors)
    for ext in exts:
        if ext in a.lookups.unposted[kind]:
            out[ext] = PostResult(ext, error=errors.get(ext) or ErpValidationError(
                f"Epicor did not post {kind.value} {ext} (still unposted after posting its "
                f"group).", code="NotPosted"))
        elif out[ext].ref is not None:
            out[ext] = PostResult(ext, a.lookups.refs[kind].get(ext, out[ext].ref),
                                  created=out[ext].created)


def _check(a: EpicorAdapter, kind: DocKind, still: list[str],
           errors: dict[str, ErpValidationError]) -> None:
    """Check the result.  A group Epicor removed has posted everything it held (documented
    for GL journal groups; one request for all the chunk's groups); the documents of a group
    still there are read back, and the group's ``PostErrorLog`` explains why they are not
    posted.  Bank transfers are read back."""
    if not still:
        return
    unposted = a.lookups.unposted[kind]
    present: dict[str, Any] = {}
    if kind is not DocKind.DEPOSIT:
        service, entity_set, _, _ = GROUPS[kind]
        present = {r["GroupID"]: r for r in a.lookups.lookup(
            f"{service}/{entity_set}", "GroupID", {unposted[e] for e in still},
            "GroupID,PostErrorLog")}
        for ext in still:
            if unposted[ext] not in present:
                del unposted[ext]
    remaining = [e for e in still if e in unposted]
    if remaining:
        logs = {e: (present.get(unposted[e]) or {}).get("PostErrorLog") for e in remaining
                if kind is not DocKind.DEPOSIT}
        a.find(kind, remaining)
        for ext, log in logs.items():
            if ext in unposted and ext not in errors and log:
                errors[ext] = ErpValidationError(str(log), code="NotPosted")


def _post_group(a: EpicorAdapter, kind: DocKind, group: str, members: list[str]
                ) -> dict[str, ErpValidationError]:
    table = GROUPS[kind][2]
    if kind is DocKind.JOURNAL:
        status, data = a.api.call_method("Erp.BO.GLJrnGrpSvc/PostGroupJournals",
                                         {"postGroupID": group})
        if status >= 300:
            err = error_from_body(data, status)
            return {e: err for e in members}
        message = str(((data or {}).get("parameters") or {}).get("NotAllPostedMessage") or "")
        if not message:
            a.groups.discard((table, group))
            return {}
        return {e: _journal_error(a, e, message) for e in members}
    err = _run(a, kind, {"GroupID": group})
    if err is None:
        a.groups.discard((table, group))
        return {}
    return {e: err for e in members}


def _journal_error(a: EpicorAdapter, ext: str, message: str) -> ErpValidationError:
    """The line of ``NotAllPostedMessage`` about this journal, else the whole message."""
    ref = a.lookups.refs[DocKind.JOURNAL].get(ext)
    num = ref.id.rsplit("/", 1)[-1] if ref else ""
    mine = [ln for ln in message.splitlines() if num and ln.startswith(f"Journal {num}:")]
    return ErpValidationError(mine[0].split(": ", 1)[1] if mine else message, code="NotPosted")


def _run(a: EpicorAdapter, kind: DocKind, values: dict[str, Any]) -> ErpValidationError | None:
    """``RunDirect`` of the kind's posting process with one parameter row."""
    service, table = PROCESS[kind]
    row = dict(_template(a, service, table))
    row.update({k: v for k, v in values.items() if v is not None}, RowMod="A")
    if kind is DocKind.DEPOSIT:
        row["IntendPost"] = True
    status, data = a.api.call_method(f"{service}/RunDirect", {"ds": {table: [row]}})
    return error_from_body(data, status) if status >= 300 else None


def _template(a: EpicorAdapter, service: str, table: str) -> dict[str, Any]:
    """The process's default parameter row (``GetNewParameters``, once per adapter)."""
    cached = a.process_defaults.get(service)
    if cached is None:
        data = a.api.get(f"{service}/GetNewParameters", [])
        rows = ((data or {}).get("returnObj") or {}).get(table) or []
        if not rows:
            raise ErpError(f"Epicor {service}/GetNewParameters returned no {table} row")
        cached = a.process_defaults[service] = rows[0]
    return cached

