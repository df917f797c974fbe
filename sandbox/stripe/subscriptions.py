"""Subscriptions through the API: create (trials, discounts), change (items, quantities,
prices with prorations, pause_collection, cancel_at_period_end, trial_end=now,
default_tax_rates), cancel
(``prorate``, ``invoice_now``) and resume a paused subscription.

A subscription bills in advance.  On creation its first invoice (``subscription_create``)
is finalized and paid at once (during a trial it bills 0 for the trial period).  Item
changes follow ``proration_behavior`` (docs: api/subscriptions/update):
``create_prorations`` (default) leaves proration invoice items pending for the next
invoice, ``always_invoice`` invoices them at once (``subscription_update``), ``none``
creates none; ``proration_date`` computes them as of that time.  Changing the billing
interval resets the billing-cycle anchor to now and invoices at once.  Time-driven
behaviour (renewals, trial ends, dunning, paused collection) is in
:mod:`.subscription_cycle`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import billing, coupons, prorations, render
from . import subscription_cycle as cycle
from .catalog import require_customer
from .clock import DAY
from .errors import StripeError, invalid, missing
from .params import get_bool, get_enum, get_int, get_list, get_metadata, get_str, merge_metadata
from .cards import resolve_card

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]
PRORATION = ("create_prorations", "always_invoice", "none")
MISSING_PM = ("cancel", "create_invoice", "pause")


def new_subscription(e: Engine, t: int, *, customer: Obj, items: list[tuple[Obj, int]],
                     payment_method: str | None, metadata: dict[str, str] | None = None,
                     description: str | None = None,
                     collection_method: str = "charge_automatically",
                     days_until_due: int | None = None, trial_end: int | None = None,
                     missing_payment_method: str = "create_invoice",
                     discounts: list[Obj] | tuple[Obj, ...] = (),
                     tax_rates: list[Obj] | tuple[Obj, ...] = ()) -> Obj:
    """Create a subscription, bill its first period (or trial) and collect the invoice."""
    sub_id = e.ids.new("sub")
    if customer["currency"] is None:  # Stripe fixes it with the first subscription
        customer["currency"] = items[0][0]["currency"]
        e.put(customer)
    end = trial_end or cycle.period_after(t, items[0][0]["recurring"], t)
    sis = [e.put(render.subscription_item(e.ids.short("si"), t, price=price, quantity=qty,
                                          subscription=sub_id, period_start=t, period_end=end,
                                          metadata={}))
           for price, qty in items]
    sub = render.subscription(
        sub_id, t, customer=customer["id"], currency=items[0][0]["currency"], items=sis,
        anchor=trial_end or t, default_payment_method=payment_method, metadata=metadata or {},
        description=description, collection_method=collection_method,
        days_until_due=days_until_due)
    sub["trial_settings"] = {"end_behavior": {"missing_payment_method": missing_payment_method}}
    sub["default_tax_rates"] = list(tax_rates)
    if trial_end:
        sub.update(trial_start=t, trial_end=trial_end)
    sub["discounts"] = [coupons.apply_discount(e, c, sub, t)["id"] for c in discounts]
    e.put(sub)
    e.emit("customer.subscription.created", sub, t)
    inv = cycle.bill(e, sub, t, "subscription_create", items=sis, trial=bool(trial_end),
                     period=(t, t))
    sub["latest_invoice"] = inv["id"]
    e.put(sub)
    ip = billing.finalize(e, inv, t)
    if trial_end:
        billing.set_sub(e, sub, t, status="trialing")
        e.schedule(max(t, trial_end - cycle.TRIAL_WILL_END_NOTICE), "trial_will_end", sub_id)
    elif collection_method == "send_invoice" or inv["status"] == "paid":
        billing.set_sub(e, sub, t, status="active")
    else:
        pm = payment_method or customer["invoice_settings"]["default_payment_method"]
        if pm is not None and billing.pay(e, inv, ip, pm, t) is None:
            billing.set_sub(e, sub, t, status="active")
    e.schedule(end, "renew", sub_id)
    return sub


def _items_param(e: Engine, params: dict[str, Any]) -> list[tuple[Obj, int]]:
    raw_items = get_list(params, "items")
    if not raw_items:
        raise missing("items")
    items: list[tuple[Obj, int]] = []
    for i, raw in enumerate(raw_items):
        price_id = get_str(raw, "price")
        if price_id is None:
            raise missing(f"items[{i}][price]")
        items.append((_recurring_price(e, price_id, f"items[{i}][price]"),
                      get_int(raw, "quantity", minimum=1, default=1) or 1))
    _check_compatible([p for p, _ in items])
    return items


def _recurring_price(e: Engine, price_id: str, param: str) -> Obj:
    price = e.load(price_id, "price", param)
    if price["recurring"] is None:
        raise invalid("The price specified is set to `type=one_time` but this field only "
                      "accepts prices with `type=recurring`.", param=param)
    return price


def _interval(price: Obj) -> tuple[str, int]:
    return price["recurring"]["interval"], price["recurring"]["interval_count"]


def _check_compatible(prices: list[Obj]) -> None:
    first = prices[0]
    for price in prices[1:]:
        if price["currency"] != first["currency"] or _interval(price) != _interval(first):
            raise invalid("Currency and interval fields must match across all plans on this "
                          "subscription.", param="items")


def _trial_end(params: dict[str, Any], t: int) -> int | None:
    days = get_int(params, "trial_period_days", minimum=0)
    raw = params.get("trial_end")
    if raw not in (None, ""):
        if raw == "now":
            return None
        end = get_int(params, "trial_end")
        assert end is not None
        if end <= t:
            raise invalid("Invalid timestamp: must be an integer Unix timestamp in the future.",
                          param="trial_end")
        return end
    return t + days * DAY if days else None


def create_subscription(e: Engine, params: dict[str, Any], t: int) -> Obj:
    customer = require_customer(e, get_str(params, "customer"))
    if customer is None:
        raise missing("customer")
    items = _items_param(e, params)
    method = get_enum(params, "collection_method", ("charge_automatically", "send_invoice"),
                      "charge_automatically") or "charge_automatically"
    days = get_int(params, "days_until_due", minimum=0)
    if method == "send_invoice" and days is None:
        raise invalid("`days_until_due` is required when `collection_method` is "
                      "`send_invoice`.", param="days_until_due")
    pm = get_str(params, "default_payment_method")
    if pm is not None:
        resolve_card(pm, "default_payment_method")
    trial_end = _trial_end(params, t)
    settings = ((params.get("trial_settings") or {}).get("end_behavior") or {})
    missing_pm = get_enum(settings, "missing_payment_method", MISSING_PM, "create_invoice")
    if (trial_end is None and method == "charge_automatically" and pm is None
            and customer["invoice_settings"]["default_payment_method"] is None):
        raise StripeError(
            400, "invalid_request_error",
            "This customer has no attached payment source or default payment method. Please "
            "consider adding a default payment method. For more information, visit "
            "https://stripe.com/docs/billing/subscriptions/payment-methods-setting"
            "#payment-method-priority.", code="resource_missing")
    return new_subscription(
        e, t, customer=customer, items=items, payment_method=pm,
        metadata=get_metadata(params), description=get_str(params, "description"),
        collection_method=method, days_until_due=days, trial_end=trial_end,
        missing_payment_method=missing_pm or "create_invoice",
        discounts=coupons.parse_discounts(e, params, items[0][0]["currency"]),
        tax_rates=_tax_rates(e, params))


def _tax_rates(e: Engine, params: dict[str, Any]) -> list[Obj]:
    """``default_tax_rates[i]``: active exclusive tax rates (``""`` clears them)."""
    rates = []
    for i, rid in enumerate(get_list(params, "default_tax_rates") or []):
        rate = e.load(rid, "tax_rate", f"default_tax_rates[{i}]")
        if not rate["active"]:
            raise invalid(f"Tax rate {rid} is inactive.", param=f"default_tax_rates[{i}]")
        rates.append(rate)
    return rates


# --------------------------------------------------------------------------- changes


def _change_items(e: Engine, sub: Obj, params: dict[str, Any], t: int) -> bool:
    """Apply ``items``; returns True when the billing interval changed."""
    behavior = get_enum(params, "proration_behavior", PRORATION, "create_prorations")
    current = {si["id"]: si for si in sub["items"]["data"]}
    period = (sub["items"]["data"][0]["current_period_start"],
              sub["items"]["data"][0]["current_period_end"])
    at = get_int(params, "proration_date") or t
    if not period[0] <= at <= period[1]:
        raise invalid("proration_date must be within the subscription's current period.",
                      param="proration_date")
    prorate = behavior != "none" and sub["status"] != "trialing"
    plan: list[tuple[Obj | None, Obj, int]] = []  # (existing item or None, price, quantity)
    for i, raw in enumerate(get_list(params, "items") or []):
        if get_bool(raw, "deleted"):
            raise invalid("Removing items is not supported by the sandbox.",
                          param=f"items[{i}][deleted]")
        si_id, price_id = get_str(raw, "id"), get_str(raw, "price")
        si = current.get(si_id) if si_id else None
        if si_id and si is None:
            raise invalid(f"No such subscription item: '{si_id}'", param=f"items[{i}][id]",
                          code="resource_missing")
        if si is None and price_id is None:
            raise missing(f"items[{i}][price]")
        price = _recurring_price(e, price_id, f"items[{i}][price]") if price_id else si["price"]
        qty = get_int(raw, "quantity", minimum=1)
        plan.append((si, price, qty if qty is not None else (si["quantity"] if si else 1)))
    untouched = [si for si in sub["items"]["data"] if si["id"] not in {p[0]["id"] for p in plan
                                                                        if p[0]}]
    _check_compatible([si["price"] for si in untouched] + [p for _, p, _ in plan])
    interval_change = _interval(plan[0][1]) != _interval(sub["items"]["data"][0]["price"]) \
        if plan else False
    sis = list(untouched)
    for si, price, qty in plan:
        if si is not None and si["price"]["id"] == price["id"] and si["quantity"] == qty:
            sis.append(si)
            continue
        if si is not None and prorate:
            prorations.credit_unused(e, sub, si, at)
        new = render.subscription_item(
            si["id"] if si else e.ids.short("si"), si["created"] if si else t, price=price,
            quantity=qty, subscription=sub["id"], period_start=period[0], period_end=period[1],
            metadata=si["metadata"] if si else {})
        if prorate and not interval_change:
            prorations.charge_remaining(e, sub, new, price, qty, at)
        sis.append(e.put(new))
    order = [si["id"] for si in sub["items"]["data"]]
    sis.sort(key=lambda s: order.index(s["id"]) if s["id"] in order else len(order))
    if interval_change:
        end = cycle.period_after(t, plan[0][1]["recurring"], t)
        sis = [e.put({**si, "current_period_start": t, "current_period_end": end})
               for si in sis]
        billing.set_sub(e, sub, t, billing_cycle_anchor=t,
                        items=render.sub_list(sub["items"]["url"], sis))
        e.schedule(end, "renew", sub["id"])
        _invoice_now(e, sub, t, items=sis)
        return True
    billing.set_sub(e, sub, t, items=render.sub_list(sub["items"]["url"], sis))
    if behavior == "always_invoice" and prorate:
        _invoice_now(e, sub, t, items=[])
    return False


def _invoice_now(e: Engine, sub: Obj, t: int, *, items: list[Obj]) -> Obj | None:
    """An immediate ``subscription_update`` invoice (pending items + ``items``), collected."""
    if not items and not prorations.pending_items(e, sub):
        return None
    inv = cycle.bill(e, sub, t, "subscription_update", items=items, period=(t, t))
    billing.set_sub(e, sub, t, latest_invoice=inv["id"])
    cycle.collect_now(e, sub, inv, t)
    return inv


def _pause_param(e: Engine, sub: Obj, params: dict[str, Any]) -> Obj | None:
    raw = params.get("pause_collection")
    if raw in (None, ""):
        e.unschedule("resume_collection", sub["id"])
        return None
    behavior = get_enum(raw, "behavior", ("keep_as_draft", "mark_uncollectible", "void"))
    if behavior is None:
        raise missing("pause_collection[behavior]")
    resumes_at = get_int(raw, "resumes_at")
    if resumes_at is not None:
        e.schedule(resumes_at, "resume_collection", sub["id"])
    return {"behavior": behavior, "resumes_at": resumes_at}


def update_subscription(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    sub = e.load(id, "subscription")
    if sub["status"] == "canceled":
        raise invalid("A canceled subscription can only update its cancellation_details and "
                      "metadata.", param="id")
    changes: dict[str, Any] = {}
    if "metadata" in params:
        changes["metadata"] = merge_metadata(sub["metadata"], get_metadata(params))
    if "description" in params:
        changes["description"] = get_str(params, "description")
    if "cancel_at_period_end" in params:
        flag = bool(get_bool(params, "cancel_at_period_end"))
        changes["cancel_at_period_end"] = flag
        changes["cancel_at"] = sub["items"]["data"][0]["current_period_end"] if flag else None
    if "default_payment_method" in params:
        pm = get_str(params, "default_payment_method")
        if pm is not None:
            resolve_card(pm, "default_payment_method")
        changes["default_payment_method"] = pm
    if "default_tax_rates" in params:
        changes["default_tax_rates"] = _tax_rates(e, params)
    if "pause_collection" in params:
        changes["pause_collection"] = _pause_param(e, sub, params)
    if "discounts" in params:
        chosen = coupons.parse_discounts(e, params, sub["currency"])
        changes["discounts"] = [coupons.apply_discount(e, c, sub, t)["id"] for c in chosen]
    billing.set_sub(e, sub, t, **changes)
    if "items" in params:
        _change_items(e, sub, params, t)
    if params.get("trial_end") == "now" and sub["status"] == "trialing":
        _end_trial_now(e, sub, t)
    return sub


def _end_trial_now(e: Engine, sub: Obj, t: int) -> None:
    """``trial_end=now``: ``trial_will_end`` at once, a new period from now, billed now."""
    e.unschedule("trial_will_end", sub["id"])
    billing.set_sub(e, sub, t, trial_end=t, billing_cycle_anchor=t)
    e.emit("customer.subscription.trial_will_end", sub, t)
    cycle.renew_subscription(e, sub["id"], t)


def cancel_subscription(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    """``DELETE /v1/subscriptions/{id}``: ``prorate`` credits the unused time of every item;
    ``invoice_now`` puts pending items (that credit included) on a final invoice at once."""
    sub = e.load(id, "subscription")
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise invalid(f"No such subscription: '{id}'; it has already been canceled.",
                      param="id", code="resource_missing")
    if get_bool(params, "prorate") and sub["status"] in ("active", "past_due"):
        for si in sub["items"]["data"]:
            prorations.credit_unused(e, sub, si, t)
    if get_bool(params, "invoice_now"):
        _invoice_now(e, sub, t, items=[])
    details = params.get("cancellation_details") or {}
    cycle.end_subscription(e, sub, t, "cancellation_requested")
    if details:
        sub["cancellation_details"].update(comment=get_str(details, "comment"),
                                           feedback=get_str(details, "feedback"))
        e.put(sub)
    return sub


def resume_subscription(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    """``POST /v1/subscriptions/{id}/resume`` of a ``paused`` subscription: a new period from
    now (``billing_cycle_anchor=now``, the default) or from the old anchor (``unchanged``),
    billed at once; ``customer.subscription.resumed``."""
    sub = e.load(id, "subscription")
    if sub["status"] != "paused":
        raise invalid("Only subscriptions with status `paused` can be resumed.", param="id")
    anchor = get_enum(params, "billing_cycle_anchor", ("now", "unchanged"), "now")
    first = sub["items"]["data"][0]
    start = t if anchor == "now" else first["current_period_end"]
    base = t if anchor == "now" else sub["billing_cycle_anchor"]
    end = cycle.period_after(base, first["price"]["recurring"], max(t, start))
    sis = [e.put({**si, "current_period_start": min(start, t), "current_period_end": end})
           for si in sub["items"]["data"]]
    billing.set_sub(e, sub, t, status="active", billing_cycle_anchor=base,
                    items=render.sub_list(sub["items"]["url"], sis))
    e.emit("customer.subscription.resumed", sub, t)
    e.schedule(end, "renew", sub["id"])
    _invoice_now(e, sub, t, items=sis)
    return sub
