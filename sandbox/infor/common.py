"""What every M3 program of the sandbox shares: the NOK answer, the call context, the
seeded set-up (chart of accounts, bank accounts, order type, ...), amounts and dates.

The set-up stands for what an M3 administrator configures before the product's first run
(README "What to set up in Infor M3"); the values are the sandbox's own.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF",
                          "VND", "VUV", "XAF", "XOF", "XPF"})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

# chart of accounts (FCHACC, accounting dimension 1)
ACCOUNTS = {"1010": "Operating bank", "1200": "Accounts receivable", "1250": "Stripe clearing",
            "1999": "Suspense", "2200": "Sales tax payable", "2450": "Deferred revenue", "4000": "Revenue",
            "4900": "Sales returns and allowances", "4910": "Chargebacks",
            "6100": "Merchant fees", "6110": "Dispute fees", "7900": "FX gain/loss",
            "1260": "Cash in transit",
            "1270": "Stripe reserve",
            "2350": "Customer funds held by Stripe",
            "2400": "Stripe Capital financing",
            "4100": "Platform revenue",
            "6200": "Connect transfers",
            "6300": "Climate contributions",
            "6400": "Issuing spend",
            "6900": "Stripe adjustments"}
# accounting identities: (FAM function, accounting type) -> account.  The types follow the
# documented accounting rules (AR10-100 accounts receivable, AR10-111 VAT payable); the
# numbers of the others are the sandbox's.
ACCOUNTING = {("OI20", "100"): "1200",   # customer invoice: accounts receivable (Dr)
              ("OI20", "300"): "4000",   # net sales (Cr)
              ("OI20", "111"): "2200",   # VAT payable (Cr)
              ("AR30", "100"): "1200",   # customer payment: accounts receivable (Cr)
              ("AR30", "180"): "7900",   # realised currency difference
              ("AR30", "190"): "6100"}   # batch payment charge (AddBatchCharge)
BANK_ACCOUNTS = {"STRIPE": ("STRIP", "1250", "Stripe clearing"),   # BAAN -> (BKID, AIT1, name)
                 "OPER": ("OPER", "1010", "Operating bank")}
PAYMENT_TYPES = {"CRD": "Card", "ACH": "ACH / bank debit"}        # ARS040 BOPE
ORDER_TYPES = {"A10": "Standard customer order"}
GL_INTERFACES = {"STRIPE": "Stripe postings"}                     # GLS840 INTN
PARTNERS = {("STRIPE", "STRIPE")}                                 # (E0PA, E065) MMS850/MHS850
AR_INFO_CATEGORIES = {"901": "Stripe charge"}                     # ARS251 SEXN
WAREHOUSE = "MAI"                                                 # WHLO is 3 characters
LOCATION_ALIASES = {"MAIN": WAREHOUSE}
TEMPLATE = "TEMPLATE"
# local currency per unit of foreign currency (CRS055 exchange rates, rate type 01)
RATES = {"USD": "1", "EUR": "1.08", "GBP": "1.27", "CAD": "0.73", "AUD": "0.66",
         "CHF": "1.13", "SEK": "0.095", "NOK": "0.093", "DKK": "0.145", "JPY": "0.0067",
         "KWD": "3.25", "BHD": "2.65", "JOD": "1.41", "OMR": "2.6", "TND": "0.32",
         "MXN": "0.058", "BRL": "0.2", "INR": "0.012", "SGD": "0.74", "HKD": "0.128",
         "NZD": "0.6", "PLN": "0.25", "CZK": "0.044", "KRW": "0.00075", "VND": "0.00004",
         "CLP": "0.00106", "XOF": "0.00165", "ZAR": "0.054", "HUF": "0.0028",
         "ISK": "0.0072", "TWD": "0.031"}


class Nok(Exception):
    """An MI 'not OK' answer: M3's message, message id and the field it concerns."""

    def __init__(self, message: str, code: str = "XIM0002", field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.field = message, code, field


class Discard(Exception):
    """Control failed: the batch is removed, then the Nok is answered."""

    def __init__(self, nok: Nok) -> None:
        super().__init__(nok.message)
        self.nok = nok


@dataclass
class Ctx:
    cono: str
    divi: str
    maxrecs: int = 100          # 0 = unlimited


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d")


def currency_decimals(cucd: str) -> int:
    return 0 if cucd in ZERO_DECIMAL else 3 if cucd in THREE_DECIMAL else 2


def quantize(value: Decimal, cucd: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-currency_decimals(cucd)), rounding=ROUND_HALF_UP)


def fmt_amount(value: Decimal, cucd: str) -> str:
    value = quantize(value, cucd)
    return format(abs(value) if value == 0 else value, "f")


def fmt_qty(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def warehouse_for(location: str) -> str:
    location = (location or WAREHOUSE).strip().upper()
    return LOCATION_ALIASES.get(location, location[:3])


def check_date(value: str, field: str, desc: str) -> str:
    """``value`` as M3 takes dates (YYYYMMDD), or Nok."""
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise Nok(f"{desc} {value} is invalid - use YYYYMMDD", f"W{field}02", field) from None
    return value


def strip_prefix(row: dict[str, str], prefix: str) -> dict[str, str]:
    n = len(prefix)
    return {k[n:]: v for k, v in row.items()}
