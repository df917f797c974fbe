"""Currency rules: Stripe's exponent table, amount validation, FX and fees.

The sandbox account settles in USD.  Charges in another presentment currency
produce USD balance transactions converted with a fixed, deterministic rate
table (``RATES``), so ground truth and tests never depend on live FX.
All money arithmetic is integer minor units; conversions use ``Decimal`` and
round half-up (exact integer maths), which is how Stripe rounds fees.
"""

from __future__ import annotations

from decimal import Decimal

from .errors import StripeError, invalid

SETTLEMENT = "usd"

ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())
# Zero-decimal in reality but represented with two decimals that must be "00".
WHOLE_HUNDREDS = frozenset({"isk", "ugx"})

# USD per one major unit of the currency (deterministic table, not live rates).
RATES: dict[str, Decimal] = {
    k: Decimal(v)
    for k, v in {
        "usd": "1",
        "eur": "1.0850",
        "gbp": "1.2700",
        "cad": "0.7300",
        "aud": "0.6600",
        "chf": "1.1300",
        "sek": "0.0950",
        "nok": "0.0930",
        "dkk": "0.1455",
        "pln": "0.2500",
        "czk": "0.0430",
        "huf": "0.0028",
        "jpy": "0.0067",
        "krw": "0.00075",
        "clp": "0.00106",
        "vnd": "0.000040",
        "isk": "0.0072",
        "ugx": "0.00027",
        "kwd": "3.2500",
        "bhd": "2.6500",
        "jod": "1.4100",
        "omr": "2.6000",
        "tnd": "0.3200",
        "mxn": "0.0580",
        "brl": "0.2000",
        "inr": "0.0120",
        "sgd": "0.7400",
        "hkd": "0.1280",
        "nzd": "0.6000",
        "zar": "0.0540",
        "xof": "0.00165",
        "xaf": "0.00165",
        "twd": "0.0310",
        "pyg": "0.000135",
        "bif": "0.00035",
        "djf": "0.0056",
        "gnf": "0.000116",
        "kmf": "0.0022",
        "mga": "0.00022",
        "rwf": "0.00077",
        "vuv": "0.0084",
        "xpf": "0.0091",
    }.items()
}

SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "$", "aud": "$"}
# Stripe's minimum charge amounts, expressed in USD cents equivalent (0.50 USD).
MIN_USD_CENTS = 50


def exponent(currency: str) -> int:
    """Stripe's exponent (not ISO 4217's: ISK and UGX are 2 here)."""
    if currency in WHOLE_HUNDREDS:
        return 2
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def check_currency(value: object, param: str = "currency") -> str:
    """Validate a currency param and return it lower-cased."""
    if value is None or value == "":
        raise StripeError(
            400,
            "invalid_request_error",
            f"Missing required param: {param}.",
            code="parameter_missing",
            param=param,
        )
    cur = str(value).lower()
    if cur not in RATES:
        raise invalid(
            f"Invalid currency: {cur}. Stripe currently supports these currencies: "
            + ", ".join(sorted(RATES)),
            param=param,
        )
    return cur


def format_major(amount: int, currency: str) -> str:
    """Human amount such as ``$0.50`` used in Stripe's error messages."""
    exp = exponent(currency)
    major = Decimal(amount).scaleb(-exp)
    return f"{SYMBOLS.get(currency, '')}{major:.{exp}f}"


def check_amount(amount: int, currency: str, param: str = "amount", minimum: bool = True) -> None:
    """Enforce exponent rules and the minimum charge amount for ``currency``."""
    if currency in THREE_DECIMAL and amount % 10:
        raise invalid(
            f"Invalid {currency} amount: {amount}. Amounts in {currency.upper()} must be "
            "rounded to the nearest ten (the least-significant digit must be 0).",
            param=param,
            code="invalid_charge_amount",
        )
    if currency in WHOLE_HUNDREDS and amount % 100:
        raise invalid(
            f"Invalid {currency} amount: {amount}. {currency.upper()} amounts must be "
            "expressed as a two-decimal value ending in 00; fractions are not supported.",
            param=param,
            code="invalid_charge_amount_no_decimal_compatible",
        )
    if amount > 99_999_999:
        raise invalid(
            "Amount must be no more than $999,999.99", param=param, code="amount_too_large"
        )
    if minimum and to_usd(amount, currency) < MIN_USD_CENTS:
        minimum_local = min_amount(currency)
        raise invalid(
            f"Amount must be at least {format_major(minimum_local, currency)} {currency}",
            param=param,
            code="amount_too_small",
        )


def min_amount(currency: str) -> int:
    """Smallest valid amount in ``currency`` worth at least 0.50 USD."""
    rate = RATES[currency]
    exp = exponent(currency)
    step = 10 if currency in THREE_DECIMAL else 100 if currency in WHOLE_HUNDREDS else 1
    raw = (Decimal(MIN_USD_CENTS) / 100 / rate).scaleb(exp)
    units = int(raw.to_integral_value(rounding="ROUND_CEILING"))
    return -(-units // step) * step


def rate(currency: str) -> float | None:
    """``exchange_rate`` as rendered on balance transactions (null for USD)."""
    return None if currency == SETTLEMENT else float(RATES[currency])


def _ratio(currency: str) -> tuple[int, int]:
    num, den = RATES[currency].as_integer_ratio()
    return num * 100, den * 10 ** exponent(currency)


# Exact integer ratios (USD cents per minor unit) so conversion is pure int maths.
_RATIOS = {currency: _ratio(currency) for currency in RATES}


def to_usd(amount: int, currency: str) -> int:
    """Convert minor units of ``currency`` to USD cents, half-up (exact)."""
    if currency == SETTLEMENT:
        return amount
    num, den = _RATIOS[currency]
    magnitude = (2 * abs(amount) * num + den) // (2 * den)
    return magnitude if amount >= 0 else -magnitude


def card_fee(usd_amount: int, currency: str, card_country: str) -> int:
    """Stripe's standard card pricing: 2.9% + 30c, +1.5% for international cards or non-USD.

    Computed in thousandths of the USD amount and rounded half-up.
    """
    per_mille = 44 if currency != SETTLEMENT or card_country != "US" else 29
    return (2 * usd_amount * per_mille + 1000) // 2000 + 30


def from_usd(cents: int, currency: str) -> int:
    """USD cents in minor units of ``currency``, half-up (the inverse rate of ``to_usd``)."""
    if currency == SETTLEMENT:
        return cents
    num, den = _RATIOS[currency]
    magnitude = (2 * abs(cents) * den + num) // (2 * num)
    return magnitude if cents >= 0 else -magnitude


def settlement(currency: str, settlement_currencies: list[str]) -> str:
    """Where a charge in ``currency`` settles: in that currency when the account has a bank
    account for it, else converted into the default settlement currency (USD)."""
    return currency if currency in settlement_currencies else SETTLEMENT


def settle(amount: int, currency: str, settled: str) -> tuple[int, float | None]:
    """``amount`` of ``currency`` in the settlement currency, and the BT's ``exchange_rate``."""
    if settled == currency:
        return amount, None
    return to_usd(amount, currency), rate(currency)


def processing_fee(settled_amount: int, settled: str, presentment: str, card_country: str) -> int:
    """Card pricing on the settled amount: 2.9% (+1.5% international or non-USD) + a fixed
    30 US cents, converted to the settlement currency (equal to ``card_fee`` for USD)."""
    per_mille = 44 if presentment != SETTLEMENT or card_country != "US" else 29
    return (2 * settled_amount * per_mille + 1000) // 2000 + from_usd(30, settled)
