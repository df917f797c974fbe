"""Epicor cash receipts (``Erp.BO.CashRecSvc``) in daily cash groups per bank account,
applied to AR invoices: the Stripe id in ``CashHead.CheckRef``."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from domain.erp import DocKind, Payment, PaymentApplication

from ..base import ErpRecord, ErpValidationError
from .customers import customers_of
from .groups import groups_for
from .updates import Created, update_docs
from .values import Row, edate, guid, money, pdate

if TYPE_CHECKING:
    from .adapter import EpicorAdapter


def pay_method_ids(a: EpicorAdapter, names: Iterable[str]) -> dict[str, int]:
    """PayMethod.Name -> PMUID, cached."""
    missing = [n for n in set(names) if n not in a.pay_methods]
    if missing:
        for row in a.lookups.lookup("Erp.BO.PayMethodSvc/PayMethods", "Name", missing,
                                    "PMUID,Name"):
            a.pay_methods.setdefault(row["Name"], int(row["PMUID"]))
    return a.pay_methods


def create(a: EpicorAdapter, docs: list[Payment]) -> Created:
    errors: dict[str, ErpValidationError] = {}
    custs = customers_of(a, docs, errors)
    invoices = a.lookups.resolve(DocKind.INVOICE,
                                 [ap.invoice for d in docs for ap in d.applications])
    methods = pay_method_ids(a, (d.method for d in docs))
    for doc in docs:
        if doc.external_id in errors:
            continue
        gone = [ap.invoice for ap in doc.applications if ap.invoice not in invoices]
        if gone:
            errors[doc.external_id] = ErpValidationError(
                f"Invoice {gone[0]} not found in Epicor (InvcHead.ExternalID).",
                field="InvoiceNum", code="NotFound")
        elif doc.method not in methods:
            errors[doc.external_id] = ErpValidationError(
                f"Payment method {doc.method} not found in Epicor (PayMethod.Name).",
                field="PMUID", code="NotFound")
    ok = [d for d in docs if d.external_id not in errors]
    banks: dict[date, str] = {}
    for doc in ok:
        banks.setdefault(doc.received_date, doc.bank_account)
    groups: dict[date, str | ErpValidationError] = {}
    for bank in sorted(set(banks.values())):
        groups.update(groups_for(a, DocKind.PAYMENT, [d for d, b in banks.items() if b == bank],
                                 {"BankAcctID": bank}))
    heads, lines, owners = [], [], {}
    for n, doc in enumerate(ok):
        group = groups[doc.received_date]
        if isinstance(group, ErpValidationError):
            errors[doc.external_id] = group
            continue
        temp = -(n + 1)
        sysrow = guid()
        owners[sysrow] = doc.external_id
        heads.append({"HeadNum": temp, "GroupID": group,
                      "TranType": "PayInv" if doc.applications else "PrePay",
                      "CustNum": custs[doc.customer]["CustNum"],
                      "TranDate": edate(doc.received_date),
                      "DocTranAmt": doc.amount.decimal(),
                      "CurrencyCode": doc.amount.currency, "CheckRef": doc.external_id,
                      "ExternalID": doc.external_id, "Reference": doc.reference,
                      "BankAcctID": doc.bank_account, "PMUID": methods[doc.method],
                      "SysRowID": sysrow, "RowMod": "A"})
        for app in doc.applications:
            lrow = guid()
            owners[lrow] = doc.external_id
            lines.append({"GroupID": group, "HeadNum": temp,
                          "InvoiceNum": invoices[app.invoice]["InvoiceNum"],
                          "DocTranAmt": app.amount.decimal(), "SysRowID": lrow,
                          "RowMod": "A"})
    return update_docs(a, "Erp.BO.CashRecSvc", "CashHead", heads, "CashDtl", lines, owners,
                       DocKind.PAYMENT, errors)


def read(a: EpicorAdapter, ids: Sequence[str] | None) -> list[ErpRecord]:
    rows = a.lookups.rows(DocKind.PAYMENT, ids, None, "CashDtls", "HeadNum")
    custs = a.lookups.customer_ext(rows)
    invoices = a.lookups.ext_by_num("Erp.BO.ARInvoiceSvc/ARInvoices", "InvoiceNum",
                                    "ExternalID", (d["InvoiceNum"] for r in rows
                                                   for d in r.get("CashDtls") or []))
    methods = {v: k for k, v in a.pay_methods.items()}
    need = {r["PMUID"] for r in rows if r.get("PMUID") and r["PMUID"] not in methods}
    if need:
        for m in a.lookups.lookup("Erp.BO.PayMethodSvc/PayMethods", "PMUID", need,
                                  "PMUID,Name"):
            methods[m["PMUID"]] = m["Name"]
            a.pay_methods.setdefault(m["Name"], m["PMUID"])
    out = []
    for r in rows:
        def make(r: Row = r) -> Payment:
            cur = r["CurrencyCode"]
            apps = tuple(PaymentApplication(invoice=invoices[d["InvoiceNum"]],
                                            amount=money(d["DocTranAmt"], cur))
                         for d in r.get("CashDtls") or [])
            return Payment(external_id=r["CheckRef"], customer=custs[r["CustNum"]],
                           received_date=pdate(r["TranDate"]),
                           amount=money(r["DocTranAmt"], cur),
                           method=methods.get(r.get("PMUID"), ""),
                           bank_account=r.get("BankAcctID") or "", applications=apps,
                           reference=r.get("Reference") or "")
        rec = a.lookups.build(DocKind.PAYMENT, r, make)
        if rec:
            out.append(rec)
    return out
