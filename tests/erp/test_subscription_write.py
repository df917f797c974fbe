"""Subscriptions on the ERP customer record, in each ERP: written through the adapter, read
back through the ERP's own API, every request in the ERP's published contract (M3 and Epicor
field lists, or the sandbox README's fidelity table; TIMS: our contract); and the backfill
path: a trialing customer the ERP does not hold yet is created once, its summary written
once, and a re-run writes nothing."""
from __future__ import annotations

import time
from dataclasses import replace
from datetime import date

import pytest

from connectors.erp import ErpValidationError
from domain.erp import Customer
from domain.mapping import load_mapping
from domain.subscriptions import CustomerSubscription
from posting.subscriptions import same, sync_subscriptions
from tests.support.erp_contract import check
from tests.support.erp_requests import RequestRecorder
from warehouse.db import make_engine
from warehouse.migrate import upgrade
from warehouse.stripe_sync import land_objects


def summary(customer: str, **changes) -> CustomerSubscription:
    base = CustomerSubscription(customer=customer, subscription_id="sub_T1AnnualGas",
                                status="active", plan="SUB-002", quantity=3,
                                renewal_date=date(2027, 1, 31), mrr=12345, currency="USD")
    return replace(base, **changes)


def test_each_erp_keeps_the_subscription_on_the_customer(erp) -> None:
    adapter = erp.adapter()
    recorder = RequestRecorder.attach(adapter)
    ext = f"cus_sub{erp.kind}{int(time.time())}"
    [posted] = adapter.post([Customer(external_id=ext, name="Argon Supply", currency="USD",
                                      tax_exempt=True)])
    assert posted.ok, posted.error
    assert adapter.read_subscriptions([ext, "cus_notInTheErp"]) == {ext: None}

    first = summary(ext)
    assert adapter.write_subscriptions([first]) == {ext: None}
    held = adapter.read_subscriptions([ext])[ext]
    assert same(held, first) and held.mrr == 12345 and held.renewal_date == date(2027, 1, 31)
    # M3's free fields have no room for the subscription id; the others keep it
    assert held.subscription_id == ("" if erp.kind == "infor" else "sub_T1AnnualGas")

    canceled = summary(ext, status="canceled", mrr=0, renewal_date=date(2026, 12, 5))
    assert not same(held, canceled)
    assert adapter.write_subscriptions([canceled]) == {ext: None}
    assert same(adapter.read_subscriptions([ext])[ext], canceled)

    if erp.kind != "epicor":   # a plan the ERP cannot hold: refused with its message
        bad = summary(ext, plan="PLAN-NOT-AN-ITEM-0001")
        error = adapter.write_subscriptions([bad])[ext]
        assert error is not None and error.code in ("UNKNOWN_ITEM", "FieldTooLong"), error
        assert same(adapter.read_subscriptions([ext])[ext], canceled)
    report = check(erp.kind, recorder.requests)
    assert not report.uncovered, report.describe()
    adapter.close()


def _stripe_objects(now: int) -> dict[str, list[dict]]:
    cus = {"id": "cus_TrialOnly01", "object": "customer", "created": now - 3600,
           "livemode": False, "email": "trial@example.test", "name": "Trial Welding",
           "currency": None, "balance": 0, "delinquent": False, "tax_exempt": "none",
           "address": None, "shipping": None, "phone": None}
    product = {"id": "prod_Cyl", "object": "product", "created": now - 7200, "livemode": False,
               "name": "Cylinder lease", "active": True, "metadata": {"sku": "SUB-004"}}
    price = {"id": "price_Cyl", "object": "price", "product": "prod_Cyl", "currency": "usd",
             "unit_amount": 12000, "billing_scheme": "per_unit", "type": "recurring",
             "recurring": {"interval": "year", "interval_count": 1, "usage_type": "licensed"}}
    sub = {"id": "sub_TrialOnly01", "object": "subscription", "created": now - 1800,
           "livemode": False, "customer": cus["id"], "currency": "usd", "status": "trialing",
           "start_date": now - 1800, "trial_end": now + 14 * 86400, "cancel_at": None,
           "cancel_at_period_end": False, "canceled_at": None, "ended_at": None,
           "discounts": [], "items": {"object": "list", "has_more": False, "data": [{
               "id": "si_Cyl", "object": "subscription_item", "created": now - 1800,
               "subscription": "sub_TrialOnly01", "price": price, "quantity": 1,
               "discounts": [], "current_period_start": now - 1800,
               "current_period_end": now + 14 * 86400}]}}
    return {"customers": [cus], "products": [product], "subscriptions": [sub]}


def test_backfill_creates_the_customer_once_and_writes_each_change_once(tims, tmp_path
                                                                         ) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    now = int(time.time())
    for target, objs in _stripe_objects(now).items():
        land_objects(engine, target, objs, now * 1_000_000)
    adapter, mapping = tims.adapter(), load_mapping()
    window = {"gte": now - 86400, "lt": now + 60}
    first = sync_subscriptions(adapter, engine, mapping, **window)
    assert (first.customers, first.written, first.customers_posted, first.failures) == (
        1, 1, 1, {})
    held = adapter.read_subscriptions(["cus_TrialOnly01"])["cus_TrialOnly01"]
    assert (held.status, held.plan, held.quantity, held.mrr) == ("trialing", "SUB-004", 1, 0)
    [customer] = adapter.read(Customer.model_fields["kind"].default, ["cus_TrialOnly01"])
    assert customer.doc.name == "Trial Welding"

    again = sync_subscriptions(adapter, engine, mapping, **window)
    assert (again.written, again.unchanged, again.customers_posted) == (0, 1, 0)
    assert sum(again.by_day[d]["written"] for d in again.by_day) == 0

    def refuse(customers):        # a read the ERP refuses outright fails its customers only
        raise ErpValidationError("Customer record is locked by another user")
    adapter.read_subscriptions = refuse
    locked = sync_subscriptions(adapter, engine, mapping, **window)
    assert locked.failures == {"cus_TrialOnly01": "reading the customer from tims: Customer "
                                                  "record is locked by another user"}
    adapter.close()


@pytest.mark.parametrize("status,expected", [("trialing", 0), ("active", 1000)])
def test_annual_plan_mrr_is_a_twelfth(status: str, expected: int) -> None:
    from domain.subscriptions import summarise
    sub = _stripe_objects(1_800_000_000)["subscriptions"][0] | {"status": status}
    got = summarise("cus_TrialOnly01", [sub], load_mapping(),
                    {"prod_Cyl": {"metadata": {"sku": "SUB-004"}}})
    assert (got.mrr, got.plan, got.renewal_date) == (expected, "SUB-004",
                                                     date(2027, 1, 29))
