"""Payout reconciliation, to the minor unit: Stripe payout <-> its balance transactions <-> ERP.

For each payout, Stripe's side is the list of balance transactions it settled
(``GET /v1/balance_transactions?payout=po_…``, the payout's own BT included);
the ERP side is what the ERP holds for each of them, read back through its API.

An item is one balance transaction (other than the payout's own).  Its
expected effect on the Stripe clearing account is its ``net``; what the ERP
holds for it is:

* a charge: the cash receipt (gross, charge currency) and the fee journal
  (``<bt>:fee``).  The receipt counts as the BT's ``amount`` when it equals the
  charge's amount; missing, twice, or a different amount is a variance.  A charge
  presented in another currency reaches clearing through its FX journal
  (``<bt>:fx-in``), which must equal the BT's ``amount``;
* any other BT: its journal's clearing line (debit positive), which must equal ``net``.

A payout is

* ``pending`` until Stripe marks it paid with reconciliation completed;
* for a manual payout (which Stripe cannot itemise) ``matched`` when the ERP holds
  exactly one deposit of its amount;
* ``failed`` when it failed (its ``payout_failure`` BT returns the funds into a
  later payout, which reconciles it);
* ``matched`` when the BTs' nets sum to the payout amount, every item's ERP
  effect equals its net, and the ERP holds exactly one bank deposit of the
  payout's amount;
* ``variance`` otherwise, with the items behind it.

Figures per payout, in the payout's currency, minor units, as effects on Stripe clearing
(debit positive: receipts and money-in journals positive, fees and the deposit negative):
``expected`` is what Stripe's side says the payout's documents leave in clearing (its
balance transactions' nets less the payout: 0 when they sum to it), ``found`` what the
ERP's documents for them leave (every receipt, journal, fee and deposit found counts,
twice if it is there twice), and ``variance = found - expected``: positive when the ERP
holds more than Stripe settled.  A failed payout: its deposit and the journal reversing it
(expected 0).  Items keep the amounts of their documents (a fee's fee, a deposit's amount).

Pure: plain data in, plain data out.  Linear in the number of balance transactions.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MATCHED, VARIANCE, PENDING, FAILED = "matched", "variance", "pending", "failed"
CHARGE_TYPES = {"charge", "payment"}


@dataclass(frozen=True)
class ErpView:
    """What the ERP holds, keyed by the external ids the posting rules use.

    Lists, not single values: a document posted twice shows as two entries.
    Amounts are integer minor units.
    """

    receipts: Mapping[str, list[int]]          # charge id -> receipt amounts (charge currency)
    clearing: Mapping[str, list[int]]          # journal external id -> clearing-line net (Dr +)
    deposits: Mapping[str, list[int]]          # payout id -> deposit amounts
    fees: Mapping[str, list[int]] = field(default_factory=dict)  # "<bt>:fee" -> fee amounts


@dataclass
class Item:
    balance_transaction: str
    kind: str              # receipt | fee | journal | deposit
    source: str | None
    expected: int
    found: int
    problem: str           # missing | duplicated | wrong amount

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class PayoutResult:
    payout: str
    status: str
    currency: str
    amount: int                       # the payout's amount
    expected: int                     # Stripe: its BTs' nets less the payout (0 when they sum)
    found: int                        # the ERP: its documents' effect on clearing, deposit in
    variance: int                     # found - expected
    transactions: int
    items: list[Item] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {"payout_id": self.payout, "status": self.status, "currency": self.currency,
                "amount": self.amount, "expected": self.expected, "found": self.found,
                "variance": self.variance, "transactions": self.transactions,
                "unmatched_items": len(self.items)}


def _one(values: list[int] | None) -> tuple[int, str | None]:
    """Total found and the problem, for a document expected exactly once."""
    if not values:
        return 0, "missing"
    if len(values) > 1:
        return sum(values), "duplicated"
    return values[0], None


def reconcile_payout(payout: Mapping[str, Any], bts: Iterable[Mapping[str, Any]],
                     charge_amounts: Mapping[str, int], erp: ErpView,
                     fx_charges: frozenset[str] = frozenset()) -> PayoutResult:
    """Reconcile one payout.  ``charge_amounts``: charge id -> its amount (charge currency);
    ``fx_charges``: charges presented in a currency other than the settlement currency."""
    pid, amount = payout["id"], int(payout["amount"])
    currency = str(payout["currency"]).upper()
    if payout.get("status") == "failed":
        # A payout that failed after being paid: its deposit must have been reversed by the
        # journal of its payout_failure balance transaction.
        result = PayoutResult(pid, FAILED, currency, amount, 0, 0, 0, 0)
        deposited = sum(erp.deposits.get(pid) or [])
        failure = payout.get("failure_balance_transaction")
        failure = failure.get("id") if isinstance(failure, dict) else failure
        reversed_ = sum(erp.clearing.get(failure or "") or [])
        if deposited:       # arrived, then failed: the deposit and its reversal cancel
            result.found = result.variance = reversed_ - deposited
            if reversed_ != deposited:
                result.items.append(Item(failure or pid, "reversal", pid, deposited, reversed_,
                                         "deposit of a failed payout not reversed"))
        return result
    if payout.get("status") != "paid":
        return PayoutResult(pid, PENDING, currency, amount, 0, 0, 0, 0)
    if not payout.get("automatic", True):
        # Manual payouts cannot be itemised (Stripe cannot say which balance transactions
        # they paid out): the ERP must hold exactly one deposit of the payout's amount; the
        # balance they drew on is reconciled by the automatic payouts' clearing check.
        got, problem = _one(erp.deposits.get(pid))
        if problem is None and got != amount:
            problem = "wrong amount"
        items = [Item(pid, "deposit", pid, amount, got, problem)] if problem else []
        return PayoutResult(pid, VARIANCE if items else MATCHED, currency, amount, -amount,
                            -got, amount - got, 0, items)
    if payout.get("reconciliation_status") not in ("completed", None):
        return PayoutResult(pid, PENDING, currency, amount, 0, 0, 0, 0)
    expected = found = count = 0
    items: list[Item] = []
    for bt in bts:
        if bt["type"] == "payout" and bt.get("source") == pid:
            continue  # the payout's own BT: reconciled against the deposit below
        count += 1
        net, bt_id, source = int(bt["net"]), bt["id"], bt.get("source")
        expected += net
        if bt["type"] in CHARGE_TYPES:
            gross = int(bt["amount"])
            receipts = erp.receipts.get(source or "") or []
            charge = charge_amounts.get(source or "")
            fx = erp.clearing.get(f"{bt_id}:fx-in")
            if fx is not None or source in fx_charges:
                # presented in another currency: clearing receives the settled amount
                # through the FX journal, the receipt only has to be there, once, in full
                got_fx, fx_problem = _one(fx)
                if fx_problem is None and got_fx != gross:
                    fx_problem = "wrong amount"
                if fx_problem:
                    items.append(Item(bt_id, "fx", source, gross, got_fx, fx_problem))
                found += got_fx
                if not (len(receipts) == 1 and receipts[0] == charge):
                    problem = ("missing" if not receipts else "duplicated" if len(receipts) > 1
                               else "wrong amount")
                    items.append(Item(bt_id, "receipt", source, charge or 0,
                                      sum(receipts), problem))
            elif len(receipts) == 1 and receipts[0] == charge:
                found += gross
            else:
                # each receipt counts as its share of the settled gross (exact unless an
                # amount is wrong in a currency other than the payout's)
                effect = sum(gross * r // charge for r in receipts) if charge else 0
                problem = ("missing" if not receipts else "duplicated" if len(receipts) > 1
                           else "wrong amount")
                items.append(Item(bt_id, "receipt", source, gross, effect, problem))
                found += effect
            fee = int(bt["fee"])
            if fee:
                got_fee, problem = _one(erp.fees.get(f"{bt_id}:fee"))
                if problem is None and got_fee != fee:
                    problem = "wrong amount"
                if problem:
                    items.append(Item(bt_id, "fee", source, fee, got_fee, problem))
                found -= got_fee
        else:
            got, problem = _one(erp.clearing.get(bt_id))
            if problem is None and got != net:
                problem = "wrong amount"
            if problem:
                items.append(Item(bt_id, "journal", source, net, got, problem))
            found += got
    got_deposit, problem = _one(erp.deposits.get(pid))
    if problem is None and got_deposit != amount:
        problem = "wrong amount"
    if problem:
        items.append(Item(pid, "deposit", pid, amount, got_deposit, problem))
    if expected != amount:
        items.append(Item(pid, "stripe_net", pid, amount, expected, "balance transactions do not "
                          "sum to the payout"))
    expected, found = expected - amount, found - got_deposit     # effects on clearing
    variance = found - expected
    status = MATCHED if not items and variance == 0 else VARIANCE
    return PayoutResult(pid, status, currency, amount, expected, found, variance, count, items)


def source_not_posted(payout: Mapping[str, Any], bts: Iterable[Mapping[str, Any]],
                      unposted: Mapping[str, str]) -> PayoutResult:
    """A paid payout that cannot be matched yet: some balance transactions it settled have no
    document in the ERP (their days were never posted, or the ERP refused them).  ``unposted``:
    balance transaction id -> why (``not posted`` or the dead letter's message)."""
    items = [Item(bt["id"], "source", bt.get("source"), int(bt["net"]), 0,
                  f"source not posted: {unposted[bt['id']]}") for bt in bts if bt["id"] in unposted]
    return PayoutResult(payout["id"], PENDING, str(payout["currency"]).upper(),
                        int(payout["amount"]), 0, 0, 0, len(items), items)


def reconcile(payouts: Iterable[Mapping[str, Any]],
              bts_by_payout: Mapping[str, list[Mapping[str, Any]]],
              charge_amounts: Mapping[str, int], erp: ErpView,
              fx_charges: frozenset[str] = frozenset()) -> list[PayoutResult]:
    return [reconcile_payout(p, bts_by_payout.get(p["id"], []), charge_amounts, erp, fx_charges)
            for p in payouts]
