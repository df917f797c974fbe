"""The business the generator simulates: names, markets, test cards, catalog and plans.

A small outdoor-gear shop with a subscription club; weights are relative
frequencies.  Changing any value changes every generated history.
"""
from __future__ import annotations

FIRST = (
    "Olivia Liam Emma Noah Ava Elijah Sophia Lucas Mia Mateo Amelia Leo Harper Ethan "
    "Yuki Hana Omar Layla Lukas Lena Chloe Hugo Aisha Ravi Priya Jonas Freya Sven Ines "
    "Marco"
).split()
LAST = (
    "Smith Johnson Garcia Müller Schmidt Dubois Martin Rossi Tanaka Sato Kim Nguyen Patel "
    "Khan Al-Sabah Haddad Novak Silva Costa Brown Wilson Taylor Andersson Jensen Moreau "
    "Fischer Weber Ito Lopez Clark"
).split()
DOMAINS = ("example.com", "mail.test", "acme.test", "corp.example", "shop.test")
# (currency, weight, country, locale)
MARKETS = (
    ("usd", 70, "US", "en-US"),
    ("eur", 12, "DE", "de-DE"),
    ("gbp", 8, "GB", "en-GB"),
    ("jpy", 4, "JP", "ja-JP"),
    ("cad", 2, "CA", "en-CA"),
    ("kwd", 2, "KW", "ar-KW"),
    ("eur", 2, "FR", "fr-FR"),
)
CITIES = {
    "US": "New York",
    "DE": "Berlin",
    "GB": "London",
    "JP": "Tokyo",
    "CA": "Toronto",
    "KW": "Kuwait City",
    "FR": "Paris",
}
CARDS = (
    ("pm_card_visa", 50),
    ("pm_card_mastercard", 24),
    ("pm_card_amex", 8),
    ("pm_card_visa_debit", 5),
    ("pm_card_gb", 3),
    ("pm_card_de", 3),
    ("pm_card_chargeDeclined", 5),
    ("pm_card_chargeDeclinedInsufficientFunds", 2),
)
CATALOG = (
    ("Trail Running Shoes", 12900),
    ("Merino Base Layer", 7900),
    ("Rain Jacket", 18900),
    ("Insulated Bottle", 3400),
    ("Headlamp", 4900),
    ("Trekking Poles", 9900),
    ("Camp Stove", 11900),
    ("Sleeping Bag", 24900),
    ("Wool Socks", 1900),
    ("Daypack 24L", 8900),
    ("Water Filter", 5900),
    ("First Aid Kit", 2900),
    ("Gift Card", 5000),
    ("Beanie", 2500),
    ("Gaiters", 3900),
    ("Compass", 2900),
)
PLANS = (
    ("Basic", 900, "month"),
    ("Pro", 2900, "month"),
    ("Team", 9900, "month"),
    ("Pro Annual", 29000, "year"),
)

CURRENCY_BY_COUNTRY = {
    "US": "usd",
    "DE": "eur",
    "FR": "eur",
    "GB": "gbp",
    "JP": "jpy",
    "CA": "cad",
    "KW": "kwd",
}
