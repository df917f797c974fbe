"""M3: the customer's subscription in the customer's free fields (``CRS610MI``).

M3's customer master has ten free fields (``CFC1``-``CFC0``) that ``ChgBasicData`` writes
and ``GetBasicData`` returns (m3_transactions.txt); the product uses six of them, within
their published lengths (README "Subscriptions in the ERP"):

======  ====  ==================================================================
field   len   holds
======  ====  ==================================================================
CFC1    10    renewal date ``YYYYMMDD`` (the end date once canceled)
CFC2    15    plan: the M3 item number of the plan (``ITNO`` is 15 long too)
CFC3    3     MRR currency
CFC4    5     quantity
CFC5    1     status: A active, T trialing, D past_due, U unpaid, P paused, C canceled,
              I incomplete, E incomplete_expired
CFC7    15    MRR in major units (``1234.50``)
======  ====  ==================================================================

The fields are always all sent (never blank: a blank M3 input means "no change"), so one
``ChgBasicData`` replaces the whole summary; sending it again is harmless. M3 has no room
for the subscription id, so it is not kept (README).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.money import from_decimal, to_decimal
from domain.subscriptions import STATUS_CODES, STATUS_OF_CODE, CustomerSubscription

from ..base import ErpError, ErpValidationError
from .customers import find_customers
from .http import mi_error, mi_records

if TYPE_CHECKING:
    from .adapter import InforAdapter

FIELDS = ("CFC1", "CFC2", "CFC3", "CFC4", "CFC5", "CFC7")
LENGTHS = {"CFC1": 10, "CFC2": 15, "CFC3": 3, "CFC4": 5, "CFC5": 1, "CFC7": 15}


def record(sub: CustomerSubscription) -> dict[str, str]:
    """The free fields of one summary; ErpValidationError naming a field too long for M3."""
    values = {"CFC1": sub.renewal_date.strftime("%Y%m%d"), "CFC2": sub.plan,
              "CFC3": sub.currency, "CFC4": str(sub.quantity),
              "CFC5": STATUS_CODES[sub.status],
              "CFC7": format(to_decimal(sub.mrr, sub.currency), "f")}
    for name, value in values.items():
        if len(value) > LENGTHS[name]:
            raise ErpValidationError(
                f"{name} ({'plan' if name == 'CFC2' else 'value'} {value!r}) is longer than "
                f"M3's {LENGTHS[name]} characters", field=name, code="FieldTooLong")
    return values


def _summary(ext: str, r: dict[str, str]) -> CustomerSubscription | None:
    if not r.get("CFC5") or not r.get("CFC3"):
        return None
    currency = r["CFC3"]
    return CustomerSubscription(
        customer=ext, subscription_id="", status=STATUS_OF_CODE.get(r["CFC5"], r["CFC5"]),
        plan=r["CFC2"], quantity=int(r["CFC4"] or 0),
        renewal_date=datetime.strptime(r["CFC1"], "%Y%m%d").date() if r["CFC1"]
        else date.min, mrr=from_decimal(Decimal(r["CFC7"] or "0"), currency),
        currency=currency)


def read(a: InforAdapter, customers: Sequence[str]) -> dict[str, CustomerSubscription | None]:
    refs = find_customers(a, list(customers))
    exts = [e for e in customers if e in refs]
    results = a.api.bulk("CRS610MI", [[{"transaction": "GetBasicData",
                                        "record": {"CUNO": refs[e].id},
                                        "selectedColumns": ["CUNO", *FIELDS]}] for e in exts])
    out: dict[str, CustomerSubscription | None] = {}
    for ext, items in zip(exts, results):
        err = mi_error(items[0])
        if err is not None:
            raise err
        recs = mi_records(items[0])
        out[ext] = _summary(ext, recs[0]) if recs else None
    return out


def write(a: InforAdapter, subs: Sequence[CustomerSubscription]) -> dict[str, ErpError | None]:
    out: dict[str, ErpError | None] = {}
    groups, sent = [], []
    for sub in subs:
        try:
            values = record(sub)
        except ErpValidationError as exc:
            out[sub.customer] = exc
            continue
        groups.append([{"transaction": "ChgBasicData",
                        "record": {"CUNO": a.cuno[sub.customer], **values}}])
        sent.append(sub)
    for sub, items in zip(sent, a.api.bulk("CRS610MI", groups, write=True) if groups else []):
        out[sub.customer] = mi_error(items[0])
    return out
