"""Money as integer minor units plus currency, with Stripe's exponent table.

Stripe's exponents are not ISO 4217's: ISK and UGX are *two*-decimal on
Stripe (amounts are multiples of 100), HUF and TWD are two-decimal for
charges.  Decimals appear only at the ERP boundary (:func:`to_decimal`,
:func:`from_decimal`), and conversion is exact or it fails.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# docs.stripe.com/currencies: amounts in major units.
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF",
                          "VND", "VUV", "XAF", "XOF", "XPF"})
# Amounts in thousandths; Stripe requires the last digit to be 0.
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# Zero-decimal in fact, two-decimal on the API: amounts must be multiples of 100.
WHOLE_HUNDREDS = frozenset({"ISK", "UGX"})


class MoneyError(ValueError):
    pass


def normalize_currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError(f"invalid currency code {currency!r}")
    return code


def exponent(currency: str) -> int:
    """Decimal places of Stripe's minor unit for ``currency``."""
    code = normalize_currency(currency)
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_decimal(amount_minor: int, currency: str) -> Decimal:
    """Minor units -> major-unit Decimal (exact): ``(2500, 'usd') -> 25.00``."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise MoneyError(f"amount must be integer minor units, got {amount_minor!r}")
    return Decimal(amount_minor).scaleb(-exponent(currency))


def from_decimal(amount: Decimal | str | int, currency: str) -> int:
    """Major units -> minor units; refuses anything finer than the currency's minor unit."""
    value = Decimal(str(amount)).scaleb(exponent(currency))
    if value != value.to_integral_value():
        raise MoneyError(f"{amount} {normalize_currency(currency)} has more decimals than its "
                         f"minor unit ({exponent(currency)})")
    return int(value)


def format_minor(amount_minor: int, currency: str) -> str:
    """For people: ``(-123456, 'usd') -> 'USD -1,234.56'``, ``(1500, 'jpy') -> 'JPY 1,500'``.
    Exact (the one conversion, :func:`to_decimal`; nothing is rounded)."""
    value = to_decimal(amount_minor, currency)
    return f"{normalize_currency(currency)} {value:,.{exponent(currency)}f}"


@dataclass(frozen=True, order=True)
class Money:
    amount: int      # minor units
    currency: str    # ISO 4217, upper case

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise MoneyError(f"amount must be integer minor units, got {self.amount!r}")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def decimal(self) -> Decimal:
        return to_decimal(self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.decimal()} {self.currency}"
