"""TIMS: the customer's subscription summary (our contract: ``CustomerSubscription``).

Read with the customers themselves (``GET /customers?externalReference=…``: each carries its
read-only ``subscription``); written with ``PUT /customers/{customerCode}/subscription``,
up to 500 in one ``/batch``. ``PUT`` replaces the summary whole, so re-sending it after a
lost answer is harmless.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from domain.erp import DocKind
from domain.money import from_decimal, to_decimal
from domain.subscriptions import CustomerSubscription

from ..base import ErpError, ErpTransientError
from .http import MAX_BATCH, problem_error
from .values import chunks

if TYPE_CHECKING:
    from .adapter import TimsAdapter


def _summary(ext: str, raw: Any) -> CustomerSubscription | None:
    if not isinstance(raw, dict) or not raw.get("subscriptionId"):
        return None
    currency = raw["mrrCurrency"]
    return CustomerSubscription(
        customer=ext, subscription_id=raw["subscriptionId"], status=raw["status"],
        plan=raw["plan"], quantity=int(raw["quantity"]),
        renewal_date=date.fromisoformat(raw["renewalDate"]),
        mrr=from_decimal(str(raw["mrr"]), currency), currency=currency)


def read(a: TimsAdapter, customers: Sequence[str]) -> dict[str, CustomerSubscription | None]:
    [items] = a.lookups.lookup([("/customers", "externalReference", list(customers))])
    out: dict[str, CustomerSubscription | None] = {}
    for it in items:
        ext = it.get("externalReference")
        if ext:
            a.lookups.remember(DocKind.CUSTOMER, it)
            out[ext] = _summary(ext, it.get("subscription"))
    return out


def body(sub: CustomerSubscription) -> dict[str, Any]:
    return {"subscriptionId": sub.subscription_id, "status": sub.status, "plan": sub.plan,
            "quantity": sub.quantity, "renewalDate": sub.renewal_date.isoformat(),
            "mrr": to_decimal(sub.mrr, sub.currency), "mrrCurrency": sub.currency}


def write(a: TimsAdapter, subs: Sequence[CustomerSubscription]) -> dict[str, ErpError | None]:
    """PUT each summary on its customer (which must exist: ``read`` found it)."""
    out: dict[str, ErpError | None] = {}
    for chunk in chunks(list(subs), MAX_BATCH):
        requests = []
        for sub in chunk:
            code = a.lookups.code(DocKind.CUSTOMER, sub.customer, "customerCode")
            requests.append({"method": "PUT", "body": body(sub),
                             "path": f"/customers/{quote(code, safe='')}/subscription"})
        for sub, resp in zip(chunk, a.api.batch(requests, write=True)):
            status = int(resp.get("status") or 0)
            if status == 429 or status >= 500:
                raise ErpTransientError(f"TIMS PUT subscription: HTTP {status}", status=status)
            out[sub.customer] = None if status == 200 else problem_error(status,
                                                                         resp.get("body"))
    return out
