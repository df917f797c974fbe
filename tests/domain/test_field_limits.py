"""Stripe addresses normalised; values over an ERP's field length refused or cut, as the
mapping says, and every cut reported (pure functions, no ERP)."""
from __future__ import annotations

import pytest

from domain.addresses import address_from_stripe, customer_addresses
from domain.erp import Address, Customer
from domain.field_limits import FieldTooLong, customer_limits, fit
from domain.mapping import FieldPolicies

LIMITS = customer_limits(name=10, email=None, phone=None,
                         billing={"line1": 8, "region": 2}, shipping={"line1": 8})


def test_stripe_addresses_are_normalised_and_empty_ones_dropped() -> None:
    cus = {"address": {"line1": "  1 Main\tSt \n", "line2": "", "city": "New  York",
                       "state": "NY", "postal_code": " 10001 ", "country": "us"},
           "shipping": {"name": "Dock", "address": {"line1": None, "line2": None, "city": None,
                                                    "state": None, "postal_code": None,
                                                    "country": None}}}
    billing, shipping = customer_addresses(cus)
    assert billing == Address(line1="1 Main St", city="New York", region="NY",
                              postal_code="10001", country="US")
    assert shipping is None
    assert address_from_stripe(None) is None


def doc(name: str = "Short", line1: str = "1 Main", ship: str | None = None) -> Customer:
    return Customer(external_id="cus_1", name=name, currency="USD",
                    billing=Address(line1=line1, region="NY"),
                    shipping=Address(line1=ship) if ship else None)


def test_what_fits_is_sent_unchanged() -> None:
    original = doc()
    assert fit(original, LIMITS, FieldPolicies().policy, "m3") == (original, [])


def test_dead_letter_names_the_field_its_length_and_the_limit() -> None:
    with pytest.raises(FieldTooLong) as exc:
        fit(doc(line1="123 Long Street"), LIMITS, FieldPolicies().policy, "m3")
    assert exc.value.field == "customer.billing.line1"
    assert "customer cus_1: customer.billing.line1 is 15 characters, m3 allows 8" in str(
        exc.value)


def test_truncate_cuts_every_field_it_covers_and_reports_each_cut() -> None:
    policies = FieldPolicies(default="truncate",
                             fields={"customer.shipping.line1": "dead_letter"})
    fitted, cuts = fit(doc(name="A Very Long Name", line1="123 Long Street"), LIMITS,
                       policies.policy, "m3")
    assert (fitted.name, fitted.billing.line1) == ("A Very Lon", "123 Long")
    assert [(c.field, c.length, c.limit) for c in cuts] == [
        ("customer.name", 16, 10), ("customer.billing.line1", 15, 8)]
    with pytest.raises(FieldTooLong, match="customer.shipping.line1"):
        fit(doc(ship="9 Harbor Way"), LIMITS, policies.policy, "m3")
