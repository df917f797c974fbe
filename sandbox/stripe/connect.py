"""Platform money movements: Connect transfers and application fees, top-ups, reserves,
account-level fees and adjustments, and one BT of any documented type.

Shapes are the stripe-python 16.1 models' (``transfer``, ``transfer_reversal``,
``application_fee``, ``fee_refund``, ``topup``, ``reserve_transaction``,
connected ``account``).  Balance effects follow Stripe's balance-transaction
types page: a transfer to a connected account is a negative ``transfer`` BT
(category ``transfer``), its reversal a positive ``transfer_refund``
(``transfer_reversal``); an application fee the platform collects is a
positive ``application_fee`` BT (``platform_earning``) and its refund an
``application_fee_refund`` (``platform_earning_refund``); a top-up a positive
``topup`` BT available later; reserves hold (negative) and release
(positive) ``reserved_funds`` (``risk_reserved_funds``); Connect reserves are
``reserve_transaction`` BTs with a ``reserve_transaction`` source
(``connect_reserved_funds``).  Account-level fees (``stripe_fee``,
``tax_fee``, network costs) and ``other_adjustment`` carry no source object.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import accounts, render
from .bt_types import CATEGORIES, CATEGORY_TYPES, TYPES
from .clock import DAY, midnight
from .errors import invalid
from .ledger import new_bt
from .store_schema import ROW

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]

ROW.update({
    "account": lambda o: (o["id"], o["created"] or 0, o["email"]),
    "transfer": lambda o: (o["id"], o["created"], o["destination"], o["currency"], o["amount"]),
    "transfer_reversal": lambda o: (o["id"], o["created"], o["transfer"], o["currency"],
                                    o["amount"]),
    "application_fee": lambda o: (o["id"], o["created"], o["charge"], o["currency"],
                                  o["amount"]),
    "fee_refund": lambda o: (o["id"], o["created"], o["fee"], o["currency"], o["amount"]),
    "topup": lambda o: (o["id"], o["created"], o["status"], o["currency"], o["amount"]),
    "reserve_transaction": lambda o: (o["id"], 0, o["currency"], o["amount"]),
})


def connected_account(e: Engine, t: int, name: str, country: str, currency: str) -> Obj:
    """An Express connected account of this platform (a transfer destination)."""
    acct = accounts.account(e.ids.new("acct", 21), t, currencies=[currency],
                            external_accounts=[], type="express", email=None, name=name,
                            country=country, default_currency=currency)
    e.put(acct)  # account.* events go to Connect webhook endpoints only (not modelled)
    return acct


def transfer(e: Engine, t: int, destination: Obj, amount: int, currency: str,
             description: str | None = None) -> Obj:
    tr_id = e.ids.new("tr")
    bt = new_bt(e, t, amount=-amount, fee=0, fee_details=[], available_on=t, type="transfer",
                category="transfer", source=tr_id, description=description, currency=currency)
    tr = {"id": tr_id, "object": "transfer", "amount": amount, "amount_reversed": 0,
          "balance_transaction": bt["id"], "created": t, "currency": currency,
          "description": description, "destination": destination["id"],
          "destination_payment": e.ids.new("py"), "livemode": False, "metadata": {},
          "reversals": render.sub_list(f"/v1/transfers/{tr_id}/reversals", []),
          "reversed": False, "source_transaction": None, "source_type": "card",
          "transfer_group": None}
    e.put(tr)
    e.emit("transfer.created", tr, t)
    return tr


def reverse_transfer(e: Engine, t: int, tr: Obj, amount: int) -> Obj:
    trr_id = e.ids.new("trr")
    bt = new_bt(e, t, amount=amount, fee=0, fee_details=[], available_on=t,
                type="transfer_refund", category="transfer_reversal", source=trr_id,
                description=None, currency=tr["currency"])
    rev = {"id": trr_id, "object": "transfer_reversal", "amount": amount,
           "balance_transaction": bt["id"], "created": t, "currency": tr["currency"],
           "destination_payment_refund": e.ids.new("pyr"), "metadata": {},
           "source_refund": None, "transfer": tr["id"]}
    e.put(rev)
    reversals = tr["reversals"]
    tr["reversals"] = render.sub_list(reversals["url"], [rev] + reversals["data"])
    tr["amount_reversed"] += amount
    tr["reversed"] = tr["amount_reversed"] >= tr["amount"]
    e.put(tr)
    e.emit("transfer.reversed", tr, t)
    return rev


def application_fee(e: Engine, t: int, account: Obj, amount: int, currency: str) -> Obj:
    """A fee the platform collects on a connected account's charge (direct charge)."""
    fee_id = e.ids.new("fee")
    bt = new_bt(e, t, amount=amount, fee=0, fee_details=[], available_on=midnight(t) + 2 * DAY,
                type="application_fee", category="platform_earning", source=fee_id,
                description=None, currency=currency)
    charge = e.ids.new("py")  # the charge lives in the connected account (not modelled)
    fee = {"id": fee_id, "object": "application_fee", "account": account["id"],
           "amount": amount, "amount_refunded": 0, "application": "ca_" + e.account_id[5:],
           "balance_transaction": bt["id"], "charge": charge, "created": t,
           "currency": currency, "fee_source": {"charge": charge, "payout": None,
                                                "type": "charge"},
           "livemode": False, "originating_transaction": None, "refunded": False,
           "refunds": render.sub_list(f"/v1/application_fees/{fee_id}/refunds", [])}
    e.put(fee)
    e.emit("application_fee.created", fee, t)
    return fee


def refund_application_fee(e: Engine, t: int, fee: Obj, amount: int) -> Obj:
    fr_id = e.ids.new("fr")
    bt = new_bt(e, t, amount=-amount, fee=0, fee_details=[], available_on=t,
                type="application_fee_refund", category="platform_earning_refund",
                source=fr_id, description=None, currency=fee["currency"])
    fr = {"id": fr_id, "object": "fee_refund", "amount": amount, "balance_transaction": bt["id"],
          "created": t, "currency": fee["currency"], "fee": fee["id"], "metadata": {}}
    e.put(fr)
    fee["refunds"] = render.sub_list(fee["refunds"]["url"], [fr] + fee["refunds"]["data"])
    fee["amount_refunded"] += amount
    fee["refunded"] = fee["amount_refunded"] >= fee["amount"]
    e.put(fee)
    e.emit("application_fee.refunded", fee, t)
    return fr


def topup(e: Engine, t: int, amount: int, currency: str) -> Obj:
    """A bank-funded top-up: succeeds at once, funds available in 5 days (assumed)."""
    tu_id = e.ids.new("tu")
    bt = new_bt(e, t, amount=amount, fee=0, fee_details=[], available_on=midnight(t) + 5 * DAY,
                type="topup", category="topup", source=tu_id, description="Top-up",
                currency=currency)
    tu = {"id": tu_id, "object": "topup", "amount": amount, "balance_transaction": bt["id"],
          "created": t, "currency": currency, "description": "Top-up",
          "expected_availability_date": midnight(t) + 5 * DAY, "failure_code": None,
          "failure_message": None, "initiated_by": None, "livemode": False, "metadata": {},
          "payment_method": None, "payment_method_options": None, "source": None,
          "statement_descriptor": None, "status": "succeeded", "transfer_group": None}
    e.put(tu)
    e.emit("topup.succeeded", tu, t)
    return tu


def reserve_transaction(e: Engine, t: int, amount: int, currency: str,
                        description: str) -> Obj:
    rtx = {"id": e.ids.new("rtx"), "object": "reserve_transaction", "amount": amount,
           "currency": currency, "description": description}
    e.put(rtx)
    new_bt(e, t, amount=amount, fee=0, fee_details=[], available_on=t,
           type="reserve_transaction", category="connect_reserved_funds", source=rtx["id"],
           description=description, currency=currency)
    return rtx


def account_bt(e: Engine, t: int, type: str, category: str, amount: int, currency: str,
               description: str, fee: int = 0) -> Obj:
    """An account-level movement with no source object (fees, reserves, adjustments)."""
    details = ([{"amount": fee, "application": None, "currency": currency,
                 "description": description, "type": "stripe_fee"}] if fee else [])
    return new_bt(e, t, amount=amount, fee=fee, fee_details=details, available_on=t, type=type,
                  category=category, source=None, description=description, currency=currency)


def create_typed(e: Engine, params: dict[str, Any], t: int) -> Obj:
    """``POST /_sandbox/balance_transactions``: one BT of a documented ``type`` (and
    optionally ``reporting_category``), with a source object consistent with it."""
    type = params.get("type")
    category = params.get("reporting_category")
    if type is None and category in CATEGORY_TYPES:
        type = CATEGORY_TYPES[category]
    if type not in TYPES:
        raise invalid(f"Unknown balance transaction type: {type!r}", param="type")
    info = TYPES[type]
    category = category or info.category
    if category not in CATEGORIES:
        raise invalid(f"Unknown reporting category: {category!r}", param="reporting_category")
    currency = str(params.get("currency", "usd")).lower()
    if currency not in e.settlement_currencies:
        raise invalid(f"Not a settlement currency of this account: {currency}", param="currency")
    magnitude = abs(int(params.get("amount", 1000)))
    amount = magnitude * (info.sign or int(params.get("sign", 1)))
    fee = int(params.get("fee", 0))
    return _with_source(e, t, type, category, amount, currency, fee)


def _with_source(e: Engine, t: int, type: str, category: str, amount: int, currency: str,
                 fee: int) -> Obj:
    from . import bank_debits

    if type in ("charge", "payment", "refund", "payment_refund", "payment_failure_refund",
                "payment_reversal", "refund_failure") or category in (
            "dispute", "dispute_reversal", "partial_capture_reversal"):
        return bank_debits.typed_bt(e, t, type, category, abs(amount), currency)
    if type == "transfer":
        dest = connected_account(e, t, "Connected seller", "US", currency)
        return e.load(transfer(e, t, dest, -amount, currency)["balance_transaction"],
                      "balance_transaction")
    if type in ("transfer_refund", "transfer_cancel", "transfer_failure"):
        dest = connected_account(e, t, "Connected seller", "US", currency)
        tr = transfer(e, t, dest, amount, currency)
        if type == "transfer_refund":
            return e.load(reverse_transfer(e, t, tr, amount)["balance_transaction"],
                          "balance_transaction")
        return new_bt(e, t, amount=amount, fee=0, fee_details=[], available_on=t, type=type,
                      category=category, source=tr["id"], description=None, currency=currency)
    if type in ("application_fee", "application_fee_refund"):
        dest = connected_account(e, t, "Connected seller", "US", currency)
        fee_obj = application_fee(e, t, dest, abs(amount), currency)
        if type == "application_fee":
            return e.load(fee_obj["balance_transaction"], "balance_transaction")
        return e.load(refund_application_fee(e, t, fee_obj, abs(amount))["balance_transaction"],
                      "balance_transaction")
    if type in ("topup", "topup_reversal"):
        tu = topup(e, t, abs(amount), currency)
        if type == "topup":
            return e.load(tu["balance_transaction"], "balance_transaction")
        tu["status"] = "reversed"
        e.put(tu)
        e.emit("topup.reversed", tu, t)
        return new_bt(e, t, amount=amount, fee=0, fee_details=[], available_on=t, type=type,
                      category=category, source=tu["id"], description="Top-up reversal",
                      currency=currency)
    if type == "reserve_transaction":
        rtx = reserve_transaction(e, t, amount, currency, "Connect reserve")
        return next(o for o, _ in e._dirty.values()
                    if o["object"] == "balance_transaction" and o["source"] == rtx["id"])
    if type.startswith("payout"):
        from .payouts import typed_bt
        return typed_bt(e, t, type, category, amount, currency)
    prefix = TYPES[type].source
    source = e.ids.new(prefix) if prefix else None  # objects the sandbox does not model
    details = ([{"amount": fee, "application": None, "currency": currency,
                 "description": "Stripe fee", "type": "stripe_fee"}] if fee else [])
    return new_bt(e, t, amount=amount, fee=fee, fee_details=details, available_on=t, type=type,
                  category=category, source=source, description=type.replace("_", " "),
                  currency=currency)
