"""The sandbox's own Stripe account and the ``Stripe-Account`` header.

Every request acts on one account: the key's own (``GET /v1/account``).  A
request may name an account in ``Stripe-Account``; Stripe accepts the key's
own account there (tap-stripe 3.3.0 sends its configured ``account_id`` on
every list call) and refuses any account the key cannot access with 403
``account_invalid``: "The provided key 'sk_test_…1234' does not have access
to account 'acct_…' (or that account does not exist). Application access
may have been revoked." (type ``invalid_request_error``; the message as
captured in published client tests, the code as stripity_stripe records
it).  Connected accounts (``--profile accrual``) exist as transfer
destinations; the sandbox keeps no data *inside* them, so a request made on
behalf of one is refused as not modelled rather than answered wrongly.
"""
from __future__ import annotations

from typing import Any

from .errors import StripeError
from .http_auth import mask_key
from .render import Ids, dumps

Obj = dict[str, Any]
COUNTRY = "US"
DISPLAY_NAME = "Sandbox Inc."
ACCOUNT_CREATED = 1_600_000_000  # before any generated history


def account_id(seed: int) -> str:
    """The sandbox account's id, fixed per seed (``acct_`` + 16 characters, like Stripe's)."""
    return Ids(seed + 515151).new("acct", 16)


def no_access(key: str, account: str) -> StripeError:
    return StripeError(
        403, "invalid_request_error",
        f"The provided key '{mask_key(key)}' does not have access to account '{account}' "
        "(or that account does not exist). Application access may have been revoked.",
        code="account_invalid")


def connected_not_modelled(account: str) -> StripeError:
    return StripeError(
        400, "invalid_request_error",
        f"The sandbox keeps no data inside connected account '{account}': requests on its "
        "behalf (Stripe-Account) are not modelled.")


def account(id: str, created: int, *, currencies: list[str], external_accounts: list[Obj],
            type: str = "standard", email: str | None = "finance@sandbox.test",
            name: str = DISPLAY_NAME, country: str = COUNTRY,
            default_currency: str = "usd", metadata: Obj | None = None) -> Obj:
    """An ``account`` object with the stripe-python 16.1 model's top-level keys."""
    requirements = {"alternatives": [], "current_deadline": None, "currently_due": [],
                    "disabled_reason": None, "errors": [], "eventually_due": [],
                    "past_due": [], "pending_verification": []}
    return {
        "id": id,
        "object": "account",
        "business_profile": {"annual_revenue": None, "estimated_worker_count": None,
                             "mcc": "5999", "minority_owned_business_designation": None,
                             "monthly_estimated_revenue": {"amount": 0, "currency": "usd"},
                             "name": name, "product_description": None,
                             "support_address": None, "support_email": email,
                             "support_phone": None, "support_url": None, "url": None},
        "business_type": "company",
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "company": None,
        "controller": {"is_controller": type != "standard", "type":
                       "account" if type == "standard" else "application"},
        "country": country,
        "created": created,
        "default_currency": default_currency,
        "details_submitted": True,
        "email": email,
        "external_accounts": {"object": "list", "data": external_accounts, "has_more": False,
                              "url": f"/v1/accounts/{id}/external_accounts"},
        "future_requirements": requirements,
        "groups": None,
        "individual": None,
        "metadata": metadata or {},
        "payouts_enabled": True,
        "requirements": requirements,
        "settings": {
            "bacs_debit_payments": {"display_name": None, "service_user_number": None},
            "branding": {"icon": None, "logo": None, "primary_color": None,
                         "secondary_color": None},
            "card_issuing": None,
            "card_payments": {"decline_on": {"avs_failure": False, "cvc_failure": False},
                              "statement_descriptor_prefix": None,
                              "statement_descriptor_prefix_kana": None,
                              "statement_descriptor_prefix_kanji": None},
            "dashboard": {"display_name": name, "timezone": "Etc/UTC"},
            "invoices": {"default_account_tax_ids": None, "hosted_payment_method_save": None},
            "payments": {"statement_descriptor": "SANDBOX", "statement_descriptor_kana": None,
                         "statement_descriptor_kanji": None},
            "payouts": {"debit_negative_balances": True,
                        "schedule": {"delay_days": 2, "interval": "daily"},
                        "statement_descriptor": None},
            "sepa_debit_payments": {"creditor_id": None},
        },
        "tos_acceptance": {"date": created, "ip": None, "user_agent": None},
        "type": type,
    }


def bank_account(id: str, account: str, currency: str, country: str, last4: str) -> Obj:
    """An external ``bank_account`` (payout destination) in ``currency``."""
    return {"id": id, "object": "bank_account", "account": account,
            "account_holder_name": DISPLAY_NAME, "account_holder_type": "company",
            "account_type": None, "available_payout_methods": ["standard"],
            "bank_name": "STRIPE TEST BANK", "country": country, "currency": currency,
            "default_for_currency": True, "fingerprint": id[-16:], "future_requirements": None,
            "last4": last4, "metadata": {}, "requirements": None,
            "routing_number": "110000000", "status": "new"}


def own(e: Any) -> Obj:
    """The key's own account (``GET /v1/account``)."""
    from .payouts import bank_accounts

    return account(e.account_id, ACCOUNT_CREATED, currencies=sorted(bank_accounts(e)),
                   external_accounts=[
                       bank_account(ba, e.account_id, cur, COUNTRY, ba[-4:].upper())
                       for cur, ba in sorted(bank_accounts(e).items())])


def check_header(e: Any, header: str | None, api_key: str) -> StripeError | None:
    """The error for a ``Stripe-Account`` header this key may not use, else None."""
    if header is None or header == e.account_id:
        return None
    raw = e.store.get(header)
    if raw is not None and b'"object":"account"' in raw[:80]:
        return connected_not_modelled(header)
    return no_access(api_key, header)


def retrieve(e: Any, id: str | None, api_key: str, params: Obj) -> bytes:
    """``GET /v1/account`` and ``GET /v1/accounts/{id}`` (own or connected)."""
    if params:
        key = next(iter(params))
        raise StripeError(400, "invalid_request_error", f"Received unknown parameter: {key}",
                          code="parameter_unknown", param=key)
    if id is None or id == e.account_id:
        return dumps(own(e))
    raw = e.store.get(id)
    if raw is None or b'"object":"account"' not in raw[:80]:
        raise no_access(api_key, id)
    return raw
