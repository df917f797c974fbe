"""Helpers of the engine-level tests of the Stripe sandbox (no HTTP): a
private in-memory engine with a fixed clock and the calls the tests repeat."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from sandbox.stripe import Engine, Store, StripeError

T0 = 1_767_261_600  # 2026-01-01 10:00:00 UTC


def load(data: bytes | None) -> dict[str, Any]:
    assert data is not None
    return orjson.loads(data)


def new_engine() -> Engine:
    e = Engine(Store(), seed=7, start_time=T0)
    e.payout_failure_rate = 0.0
    return e


def customer(e: Engine, pm: str = "pm_card_visa", **extra: Any) -> dict[str, Any]:
    return load(
        e.create(
            "customers", {"email": "jo@example.com", "name": "Jo", "payment_method": pm, **extra}
        )
    )


def pay(
    e: Engine, amount: int, currency: str = "usd", pm: str = "pm_card_visa", **extra: Any
) -> dict[str, Any]:
    pi = load(
        e.create(
            "payment_intents",
            {
                "amount": str(amount),
                "currency": currency,
                "payment_method": pm,
                "confirm": "true",
                **extra,
            },
        )
    )
    return pi


def charge_of(e: Engine, pi: dict[str, Any]) -> dict[str, Any]:
    return load(e.store.get(pi["latest_charge"]))


def bt(e: Engine, id: str) -> dict[str, Any]:
    return load(e.store.get(id))


def error(fn: Any, *args: Any) -> StripeError:
    with pytest.raises(StripeError) as info:
        fn(*args)
    return info.value
