"""Test payment methods: Stripe's test cards and how a create/confirm names one.

Test payment methods behave like Stripe's test cards (``pm_card_visa``,
``tok_visa``, ``pm_card_chargeDeclined``, ``pm_card_createDispute`` ...).
"""

from __future__ import annotations

import zlib
from typing import Any, NamedTuple

from . import render
from .errors import StripeError, invalid
from .params import get_str

Obj = dict[str, Any]


class Card(NamedTuple):
    brand: str
    last4: str
    country: str
    funding: str
    decline: str | None = None  # decline_code when the card is declined
    dispute: str | None = None  # dispute reason opened right after success
    inquiry: bool = False


TEST_CARDS: dict[str, Card] = {
    "visa": Card("visa", "4242", "US", "credit"),
    "visa_debit": Card("visa", "5556", "US", "debit"),
    "mastercard": Card("mastercard", "4444", "US", "credit"),
    "amex": Card("amex", "8431", "US", "credit"),
    "discover": Card("discover", "1117", "US", "credit"),
    "gb": Card("visa", "0000", "GB", "credit"),
    "de": Card("visa", "0016", "DE", "credit"),
    "fr": Card("visa", "0003", "FR", "credit"),
    "jp": Card("visa", "0003", "JP", "credit"),
    "chargeDeclined": Card("visa", "0002", "US", "credit", decline="generic_decline"),
    "chargeDeclinedInsufficientFunds": Card(
        "visa", "9995", "US", "credit", decline="insufficient_funds"
    ),
    "createDispute": Card("visa", "0259", "US", "credit", dispute="fraudulent"),
    "createDisputeProductNotReceived": Card(
        "visa", "2685", "US", "credit", dispute="product_not_received"
    ),
    "createDisputeInquiry": Card(
        "visa", "1976", "US", "credit", dispute="fraudulent", inquiry=True
    ),
}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}


def resolve_card(pm: str, param: str = "payment_method") -> Card:
    """Map a test payment method / token id to its card behaviour, or 404."""
    for prefix in ("pm_card_", "tok_"):
        if pm.startswith(prefix) and pm[len(prefix) :] in TEST_CARDS:
            return TEST_CARDS[pm[len(prefix) :]]
    kind = "token" if pm.startswith("tok_") else "PaymentMethod"
    raise StripeError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{pm}'",
        code="resource_missing",
        param=param,
    )


def _card_template(name: str, card: Card) -> Obj:
    # A card number has one fingerprint and expiry: derive them from the card's name.
    h = zlib.crc32(name.encode())
    return render.card_template(
        card.brand,
        card.last4,
        card.country,
        card.funding,
        h % 12 + 1,
        2027 + h % 5,
        f"{h:016x}"[:16],
    )


_CARD_TEMPLATES = {card: _card_template(name, card) for name, card in TEST_CARDS.items()}


def pm_details(card: Card, amount: int) -> Obj:
    return render.card_details(_CARD_TEMPLATES[card], amount)


def payment_method_param(params: dict[str, Any]) -> str | None:
    """The test payment method of a create/confirm: ``payment_method`` (``pm_card_*``,
    or a ``tok_*`` token), or a card token in ``payment_method_data[card][token]``."""
    pm = get_str(params, "payment_method")
    if pm is not None:
        resolve_card(pm)
        return pm
    data = params.get("payment_method_data")
    if not isinstance(data, dict):
        return None
    if data.get("type") != "card":
        raise invalid(
            "The sandbox supports only payment_method_data[type]=card.",
            param="payment_method_data[type]",
        )
    card = data.get("card")
    token = get_str(card, "token") if isinstance(card, dict) else None
    if token is None or not token.startswith("tok_"):
        raise invalid(
            "Provide a test card token in payment_method_data[card][token] (e.g. tok_visa); "
            "raw card numbers are not accepted.",
            param="payment_method_data[card][token]",
        )
    resolve_card(token, "payment_method_data[card][token]")
    return token
