"""What happens to a subscription as time passes: renewals, trial ends, collection, dunning.

* Renewal at period end (job ``renew``): item periods roll forward on the billing-cycle
  anchor's calendar and a draft ``subscription_cycle`` invoice bills the new period, with the
  subscription's pending invoice items (prorations) first; it is finalized and charged an
  hour later (job ``collect``, Stripe's auto-advance delay).  ``cancel_at_period_end`` ends
  the subscription instead (``customer.subscription.deleted``).
* Trials: ``customer.subscription.trial_will_end`` three days before ``trial_end`` (job
  ``trial_will_end``); at ``trial_end`` the status leaves ``trialing``: ``active`` and a first
  paid invoice, or -- without a payment method and with
  ``trial_settings.end_behavior.missing_payment_method`` ``pause``/``cancel`` -- ``paused``
  (``customer.subscription.paused``) or ``canceled``.
* ``pause_collection``: the subscription stays ``active`` and invoices are still created,
  but ``keep_as_draft`` leaves them draft (``auto_advance: false``), ``void`` finalizes and
  voids them, ``mark_uncollectible`` finalizes and marks them uncollectible; collection
  resumes by itself at ``resumes_at``.
* Dunning: a failed automatic charge makes an ``active`` subscription ``past_due`` and sets
  ``next_payment_attempt``; the invoice is retried (job ``dunning``) 1, 3, 5 and 7 days after
  the first failure with the payment method the subscription or customer has *then*; a
  successful retry pays the invoice (``invoice.paid``) and the subscription is ``active``
  again; after the last failed retry the subscription is canceled
  (``cancellation_details.reason: payment_failed``) and the invoice stays open.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import billing, coupons, invoicing, prorations, render
from .clock import DAY, add_months

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]
AUTO_ADVANCE_DELAY = 3600
TRIAL_WILL_END_NOTICE = 3 * DAY
RETRY_DAYS = (1, 3, 5, 7)  # after the first failed attempt


def period_after(anchor: int, recurring: Obj, current_end: int) -> int:
    """First period boundary after ``current_end`` counted from ``anchor``."""
    interval, count = recurring["interval"], recurring["interval_count"]
    if interval in ("day", "week"):
        step = count * (DAY if interval == "day" else 7 * DAY)
        return current_end + step
    months = count * (12 if interval == "year" else 1)
    n = 1
    while (end := add_months(anchor, n * months)) <= current_end:
        n += 1
    return end


def trial_line(e: Engine, in_id: str, sub: Obj, si: Obj) -> Obj:
    product = e.load(si["price"]["product"], "product")
    line = render.line_item(
        e.ids.new("il"), invoice=in_id, amount=0, currency=sub["currency"],
        description=f"Trial period for {product['name']}", price=si["price"],
        quantity=si["quantity"], period_start=si["current_period_start"],
        period_end=si["current_period_end"], subscription=sub["id"], subscription_item=si["id"],
        metadata={})
    return e.put(line)


def bill(e: Engine, sub: Obj, t: int, reason: str, *, items: list[Obj], trial: bool = False,
         period: tuple[int, int] | None = None) -> Obj:
    """A draft subscription invoice: pending invoice items, then one line per item in
    ``items`` for its current period (0 during a trial), discounted and totalled."""
    customer = e.load(sub["customer"], "customer")
    in_id = e.ids.new("in")
    lines = [prorations.line_from_item(e, it, in_id) for it in prorations.pending_items(e, sub)]
    if trial:
        lines += [trial_line(e, in_id, sub, si) for si in items]
    discounts = coupons.active_discounts(e, sub, t)
    start, end = period or (t, t)
    inv = billing.new_invoice(
        e, t, customer=customer, currency=sub["currency"], billing_reason=reason,
        subscription=sub, items=[] if trial else items, period_start=start, period_end=end,
        collection_method=sub["collection_method"], days_until_due=sub["days_until_due"],
        in_id=in_id, lines=lines,
        adjust=lambda inv: coupons.settle(inv, discounts, sub["default_tax_rates"]))
    used = [(di, c) for di, c in discounts
            if any(d["discount"] == di["id"] and d["amount"] > 0
                   for d in inv["total_discount_amounts"])]
    coupons.spent_once(e, sub, used, t)
    return inv


def collect_now(e: Engine, sub: Obj, inv: Obj, t: int) -> bool:
    """Finalize ``inv`` and charge it (automatic collection); False when the charge failed."""
    ip = billing.finalize(e, inv, t)
    if inv["status"] != "open" or inv["collection_method"] != "charge_automatically":
        return True
    customer = e.load(sub["customer"], "customer")
    pm = billing.payment_method(sub, customer)
    if pm is not None and billing.pay(e, inv, ip, pm, t) is None:
        return True
    start_dunning(e, sub, inv, ip, t, retry=pm is not None)
    return False


def start_dunning(e: Engine, sub: Obj, inv: Obj, ip: Obj | None, t: int, retry: bool) -> None:
    if sub["status"] in ("active", "trialing"):
        billing.set_sub(e, sub, t, status="past_due")
    if retry and ip is not None:
        inv["next_payment_attempt"] = t + RETRY_DAYS[0] * DAY
        e.put(inv)
        e.schedule(inv["next_payment_attempt"], "dunning", f"{inv['id']}|{ip['id']}")


def dunning_retry(e: Engine, ref: str, due: int) -> None:
    """A scheduled retry of a failed subscription invoice (``RETRY_DAYS``)."""
    inv_id, ip_id = ref.split("|")
    inv = e.load(inv_id, "invoice")
    sub = billing.subscription_of(e, inv)
    if inv["status"] != "open" or sub is None or sub["status"] == "canceled":
        return
    ip = e.load(ip_id, "invoice_payment")
    pm = billing.payment_method(sub, e.load(sub["customer"], "customer"))
    failed = pm is None or billing.pay(e, inv, ip, pm, due) is not None
    if not failed:
        inv["next_payment_attempt"] = None
        e.put(inv)
        if sub["status"] in ("past_due", "unpaid"):
            billing.set_sub(e, sub, due, status="active")
        return
    retries = inv["attempt_count"] - 1  # the first attempt was not a retry
    if pm is not None and retries < len(RETRY_DAYS):
        first = inv["status_transitions"]["finalized_at"]
        inv["next_payment_attempt"] = first + RETRY_DAYS[retries] * DAY
        e.put(inv)
        e.schedule(inv["next_payment_attempt"], "dunning", ref)
        return
    inv["next_payment_attempt"] = None
    e.put(inv)
    end_subscription(e, sub, due, "payment_failed")


def end_subscription(e: Engine, sub: Obj, t: int, reason: str) -> Obj:
    for kind in ("renew", "trial_will_end"):
        e.unschedule(kind, sub["id"])
    sub.update(status="canceled", canceled_at=sub["canceled_at"] or t, ended_at=t,
               cancellation_details={"comment": None, "feedback": None, "reason": reason})
    e.put(sub)
    e.emit("customer.subscription.deleted", sub, t)
    return sub


# --------------------------------------------------------------------------- jobs


def renew_subscription(e: Engine, id: str, due: int) -> None:
    """Period end (or trial end): roll item periods forward and bill the new period."""
    sub = e.load(id, "subscription")
    if sub["status"] in ("canceled", "incomplete_expired", "paused"):
        return
    if sub["cancel_at_period_end"]:
        end_subscription(e, sub, due, "cancellation_requested")
        return
    resume_collection_if_due(e, sub, due)
    customer = e.load(sub["customer"], "customer")
    if sub["status"] == "trialing" and billing.payment_method(sub, customer) is None:
        behavior = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
        if behavior == "pause":
            billing.set_sub(e, sub, due, status="paused")
            e.emit("customer.subscription.paused", sub, due)
            return
        if behavior == "cancel":
            end_subscription(e, sub, due, "cancellation_requested")
            return
    first = sub["items"]["data"][0]
    end = period_after(sub["billing_cycle_anchor"], first["price"]["recurring"], due)
    sis = [e.put({**si, "current_period_start": due, "current_period_end": end})
           for si in sub["items"]["data"]]
    inv = bill(e, sub, due, "subscription_cycle", items=sis,
               period=(first["current_period_start"], due))
    changes: dict[str, Any] = {"items": render.sub_list(sub["items"]["url"], sis),
                               "latest_invoice": inv["id"]}
    if sub["status"] == "trialing":
        changes["status"] = "active"
    billing.set_sub(e, sub, due, **changes)
    e.schedule(end, "renew", id)
    if not paused_invoice(e, sub, inv, due):
        e.schedule(due + AUTO_ADVANCE_DELAY, "collect", inv["id"])


def paused_invoice(e: Engine, sub: Obj, inv: Obj, t: int) -> bool:
    """Apply ``pause_collection`` to a new invoice; True when collection is paused."""
    pause = sub["pause_collection"]
    if not pause:
        return False
    if pause["behavior"] == "keep_as_draft":
        inv.update(auto_advance=False, automatically_finalizes_at=None)
        e.put(inv)
    elif pause["behavior"] == "void":
        billing.void(e, inv, billing.finalize(e, inv, t), t)
    else:  # mark_uncollectible
        billing.finalize(e, inv, t)
        if inv["status"] == "open":
            invoicing.mark_uncollectible(e, inv, t)
    return True


def resume_collection_if_due(e: Engine, sub: Obj, t: int) -> None:
    pause = sub["pause_collection"]
    if pause and pause["resumes_at"] is not None and pause["resumes_at"] <= t:
        billing.set_sub(e, sub, t, pause_collection=None)


def resume_collection(e: Engine, id: str, due: int) -> None:
    """Job at ``pause_collection.resumes_at``."""
    resume_collection_if_due(e, e.load(id, "subscription"), due)


def collect_invoice(e: Engine, id: str, due: int) -> None:
    """Auto-advance: finalize the draft and charge it (automatic collection)."""
    inv = e.load(id, "invoice")
    if inv["status"] != "draft" or not inv["auto_advance"]:
        return
    sub = billing.subscription_of(e, inv)
    if sub is None:
        billing.finalize(e, inv, due)
        return
    collect_now(e, sub, inv, due)


def trial_will_end(e: Engine, id: str, due: int) -> None:
    sub = e.load(id, "subscription")
    if sub["status"] == "trialing":
        e.emit("customer.subscription.trial_will_end", sub, due)
