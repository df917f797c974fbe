"""Epicor: the customer's subscription in user-defined columns of the customer.

Epicor keeps site-specific data on a record in user-defined (UD) columns, added by the
administrator in UD Column Maintenance on ``Customer_UD`` and then served by the REST API on
``CustomerRow`` with their ``_c`` suffix like any other field (README "Subscriptions in the
ERP", which lists the columns to add). Read with the customer lookup
(``Erp.BO.CustomerSvc/Customers?$filter=ExternalID eq …&$select=…``); written with one OData
``PATCH Customers('<Company>',<CustNum>)`` per customer, which sets just these columns and
can be sent again safely.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.erp import DocKind
from domain.money import from_decimal, to_decimal
from domain.subscriptions import CustomerSubscription

from ..base import ErpError, ErpTransientError
from .http import error_from_body, message, parse
from .values import dec, pdate, quote

if TYPE_CHECKING:
    from .adapter import EpicorAdapter

PATH = "Erp.BO.CustomerSvc/Customers"
# canonical field -> the UD column (type, as created in UD Column Maintenance)
COLUMNS = {"subscription_id": "StripeSubscriptionID_c",   # nvarchar(64)
           "status": "StripeSubStatus_c",                 # nvarchar(20)
           "plan": "StripeSubPlan_c",                     # nvarchar(50): an Epicor PartNum
           "quantity": "StripeSubQuantity_c",             # int
           "renewal_date": "StripeSubRenewal_c",          # date
           "mrr": "StripeSubMRR_c",                       # decimal(18,3)
           "currency": "StripeSubCurrency_c"}             # nvarchar(3)


def read(a: EpicorAdapter, customers: Sequence[str]) -> dict[str, CustomerSubscription | None]:
    select = ",".join(["CustNum", "CustID", "ExternalID", "CurrencyCode", *COLUMNS.values()])
    rows = a.lookups.lookup(PATH, "ExternalID", list(customers), select)
    out: dict[str, CustomerSubscription | None] = {}
    for r in rows:
        ext = r["ExternalID"]
        a.lookups.remember(DocKind.CUSTOMER, ext, r)
        if not r.get(COLUMNS["subscription_id"]):
            out[ext] = None
            continue
        currency = r[COLUMNS["currency"]]
        out[ext] = CustomerSubscription(
            customer=ext, subscription_id=r[COLUMNS["subscription_id"]],
            status=r[COLUMNS["status"]], plan=r[COLUMNS["plan"]],
            quantity=int(r[COLUMNS["quantity"]] or 0),
            renewal_date=pdate(r[COLUMNS["renewal_date"]]),
            mrr=from_decimal(dec(r[COLUMNS["mrr"]]), currency), currency=currency)
    return out


def body(sub: CustomerSubscription) -> dict[str, object]:
    return {COLUMNS["subscription_id"]: sub.subscription_id, COLUMNS["status"]: sub.status,
            COLUMNS["plan"]: sub.plan, COLUMNS["quantity"]: sub.quantity,
            COLUMNS["renewal_date"]: f"{sub.renewal_date.isoformat()}T00:00:00",
            COLUMNS["mrr"]: to_decimal(sub.mrr, sub.currency),
            COLUMNS["currency"]: sub.currency}


def write(a: EpicorAdapter, subs: Sequence[CustomerSubscription]) -> dict[str, ErpError | None]:
    out: dict[str, ErpError | None] = {}
    for sub in subs:
        row = a.lookups.keys[DocKind.CUSTOMER][sub.customer]
        resp = a.api.send("PATCH", f"{PATH}({quote(a.company)},{row['CustNum']})",
                          write=True, body=body(sub))
        if resp.status_code >= 500 or resp.status_code == 429:
            raise ErpTransientError(f"Epicor PATCH Customers: HTTP {resp.status_code}: "
                                    f"{message(resp)}", status=resp.status_code)
        out[sub.customer] = None if resp.status_code < 300 else error_from_body(
            parse(resp) if resp.content else {}, resp.status_code)
    return out
