"""``expand[]``, ``Stripe-Version`` and ``Stripe-Account`` as Stripe answers them.

The centre piece is the request tap-stripe 3.3.0 (singer-io/tap-stripe,
``tap_stripe/__init__.py``) makes for its customers stream: list customers
with ``expand[]=data.sources``, ``data.subscriptions`` and ``data.tax_ids``,
``Stripe-Version: 2022-11-15`` (``stripe.api_version`` it pins) and
``Stripe-Account: <account_id>`` (its required config), sent here through
the official SDK.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import stripe

from sandbox.stripe.expandable import EXPANDABLE

TAP_STRIPE_VERSION = "2022-11-15"
TAP_STRIPE_EXPAND = ["data.sources", "data.subscriptions", "data.tax_ids"]


def _current_subscriptions(client: stripe.StripeClient) -> dict[str, list[stripe.Subscription]]:
    """customer -> its current (not canceled) subscriptions, via the list API (pinned version)."""
    out: dict[str, list[stripe.Subscription]] = {}
    for sub in client.v1.subscriptions.list(params={"limit": 100}).auto_paging_iter():
        out.setdefault(sub.customer, []).append(sub)
    return out


def test_tap_stripe_customer_list_at_its_pinned_version(client: stripe.StripeClient) -> None:
    account = client.v1.accounts.retrieve_current()
    assert account.id.startswith("acct_") and account.object == "account"
    assert account.settings.dashboard.display_name  # tap-stripe logs it on connect
    assert client.v1.accounts.retrieve(account.id).id == account.id  # its connectivity check

    options = {"stripe_version": TAP_STRIPE_VERSION, "stripe_account": account.id}
    page = client.v1.customers.list(params={"limit": 100, "expand": TAP_STRIPE_EXPAND},
                                    options=options)
    assert page.last_response.headers["Stripe-Version"] == TAP_STRIPE_VERSION
    customers = list(page.auto_paging_iter())
    current = _current_subscriptions(client)
    assert len(customers) > 100 and any(c.id in current for c in customers)
    for cus in customers:
        raw = cus.to_dict()
        assert raw["sources"] == {"object": "list", "data": [], "has_more": False,
                                  "url": f"/v1/customers/{cus.id}/sources"}
        assert raw["tax_ids"] == {"object": "list", "data": [], "has_more": False,
                                  "url": f"/v1/customers/{cus.id}/tax_ids"}
        subs = raw["subscriptions"]
        assert subs["object"] == "list" and subs["url"] == f"/v1/customers/{cus.id}/subscriptions"
        now = {s.id: s for s in current.get(cus.id, [])}
        assert [s["id"] for s in subs["data"]] == list(now)[:10]
        for sub in subs["data"]:
            # Before 2025-03-31.basil the billing period is the subscription's, not the items'.
            item = sub["items"]["data"][0]
            assert "current_period_start" not in item and "current_period_end" not in item
            assert item["billed_until"] is None and item["plan"]["aggregate_usage"] is None
            pinned = now[sub["id"]]  # as listed at the pinned version (endive)
            period = pinned["items"]["data"][0]
            assert sub["current_period_start"] == period["current_period_start"]
            assert sub["current_period_end"] == period["current_period_end"]
            assert sub["discount"] is None
            assert "current_period_end" not in pinned and "billed_until" not in period


def test_tap_stripe_subscription_items_and_customer_sub_lists(client: stripe.StripeClient
                                                              ) -> None:
    """tap-stripe lists subscription items with ``expand[]=data.plan.tiers``; the customer
    sub-lists are also served at their own URLs."""
    sub = client.v1.subscriptions.list(params={"limit": 1}).data[0]
    items = client.v1.subscription_items.list(
        params={"subscription": sub.id, "expand": ["data.plan.tiers"]},
        options={"stripe_version": TAP_STRIPE_VERSION})
    assert items.data and all(i.plan.tiers is None for i in items.data)
    assert all("current_period_end" not in i for i in items.data)
    for sub_list in ("sources", "tax_ids"):
        raw = client.raw_request("get", f"/v1/customers/{sub.customer}/{sub_list}")
        page = client.deserialize(raw, api_mode="V1")
        assert page.object == "list" and page.data == [] and page.has_more is False


def test_includable_fields_are_absent_unless_expanded(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.list(params={"limit": 1}).data[0].to_dict()
    assert not {"sources", "subscriptions", "tax_ids", "cash_balance", "tax"} & cus.keys()
    full = client.v1.customers.retrieve(cus["id"], params={"expand": [
        "sources", "tax", "cash_balance", "invoice_settings.default_payment_method"]})
    assert full.sources.data == [] and full.tax.automatic_tax == "not_collecting"
    assert full.cash_balance.customer == cus["id"]
    # Test payment methods are not stored objects: the id stays a string.
    assert full.invoice_settings.default_payment_method == \
        cus["invoice_settings"]["default_payment_method"]
    sub = client.v1.subscriptions.list(params={"limit": 1}).data[0]
    items = client.v1.subscriptions.retrieve(sub.id, params={
        "expand": ["items.data.billed_until", "items.data.price.product", "latest_invoice"]})
    item = items["items"]["data"][0]
    assert "billed_until" in item and item["billed_until"] is None
    assert item.price.product.object == "product" and items.latest_invoice.object == "invoice"


@pytest.mark.parametrize("path,kind,message", [
    ("data.bogus", "list", "This property cannot be expanded (data.bogus)."),
    ("data.currency", "list", "This property cannot be expanded (data.currency)."),
    ("sources", "list", "This property cannot be expanded (sources). You may want to try "
                        "expanding 'data.sources' instead."),
    ("customer", "retrieve", "This property cannot be expanded (customer)."),
    ("invoice_settings.footer", "retrieve",
     "This property cannot be expanded (invoice_settings.footer)."),
    ("subscriptions.data.bogus", "retrieve",
     "This property cannot be expanded (subscriptions.data.bogus)."),
])
def test_unknown_expansions_are_refused_as_stripe_does(client: stripe.StripeClient, path: str,
                                                       kind: str, message: str) -> None:
    # A subscriber, so that the sub-list path has elements to check (see the README).
    cus = client.v1.customers.retrieve(client.v1.subscriptions.list(
        params={"limit": 1}).data[0].customer)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        if kind == "list":
            client.v1.customers.list(params={"limit": 1, "expand": [path]})
        else:
            client.v1.customers.retrieve(cus.id, params={"expand": [path]})
    err = caught.value
    assert err.http_status == 400 and err.error.type == "invalid_request_error"
    assert err.error.message == message and err.error.param is None


def test_stripe_account_header(client: stripe.StripeClient) -> None:
    own = client.v1.accounts.retrieve_current().id
    ok = client.v1.charges.list(params={"limit": 1}, options={"stripe_account": own})
    assert len(ok.data) == 1
    with pytest.raises(stripe.PermissionError) as caught:
        client.v1.charges.list(params={"limit": 1}, options={"stripe_account": "acct_1Other0"})
    err = caught.value
    assert err.http_status == 403 and err.error.code == "account_invalid"
    assert err.error.type == "invalid_request_error"
    assert re.fullmatch(r"The provided key 'sk_test_\*+\w{4}' does not have access to account "
                        r"'acct_1Other0' \(or that account does not exist\)\. Application "
                        r"access may have been revoked\.", err.error.message)
    with pytest.raises(stripe.PermissionError):
        client.v1.accounts.retrieve("acct_1Other0")


def test_invalid_version_is_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="Invalid Stripe API version"):
        client.v1.customers.list(params={"limit": 1}, options={"stripe_version": "2099-01-01"})


def _sdk_expandables(sdk: Path, filename: str) -> set[str]:
    """Dotted paths the SDK model annotates ``ExpandableField`` (nested classes followed)."""
    main = next(n for n in ast.parse((sdk / filename).read_text()).body
                if isinstance(n, ast.ClassDef))
    out: set[str] = set()

    def walk(cls: ast.ClassDef, prefix: str) -> None:
        classes = {n.name: n for n in cls.body if isinstance(n, ast.ClassDef)}
        for node in cls.body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                src = ast.unparse(node.annotation)
                if "ExpandableField" in src:
                    out.add(prefix + node.target.id)
                    continue
                for name, nested in classes.items():
                    if re.search(rf"\b{name}\b", src):
                        walk(nested, prefix + node.target.id + ".")
    walk(main, "")
    return out


SDK_FILES = {"customer": "_customer.py", "charge": "_charge.py",
             "payment_intent": "_payment_intent.py", "refund": "_refund.py",
             "dispute": "_dispute.py", "payout": "_payout.py",
             "balance_transaction": "_balance_transaction.py", "subscription": "_subscription.py",
             "subscription_item": "_subscription_item.py", "invoice": "_invoice.py",
             "line_item": "_invoice_line_item.py", "invoice_payment": "_invoice_payment.py",
             "price": "_price.py", "product": "_product.py", "transfer": "_transfer.py",
             "transfer_reversal": "_transfer_reversal.py",
             "application_fee": "_application_fee.py", "fee_refund": "_application_fee_refund.py",
             "topup": "_topup.py", "tax_id": "_tax_id.py", "checkout.session": "checkout/_session.py",
             "account": "_account.py", "tax_rate": "_tax_rate.py", "plan": "_plan.py",
             "credit_note": "_credit_note.py", "coupon": "_coupon.py",
             "discount": "_discount.py", "invoiceitem": "_invoice_item.py",
             "customer_balance_transaction": "_customer_balance_transaction.py"}


@pytest.mark.parametrize("object", sorted(SDK_FILES))
def test_expandable_table_matches_the_sdk_models(object: str) -> None:
    sdk = Path(stripe.__file__).parent
    assert EXPANDABLE[object] == _sdk_expandables(sdk, SDK_FILES[object])
