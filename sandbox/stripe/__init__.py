"""Faithful local Stripe sandbox.

Layers: ``engine`` (business rules, below HTTP) over ``store`` (SQLite of
rendered JSON); ``generator`` builds seeded histories through the same engine
functions.  The HTTP layer (``app``) is a separate module.  The sandbox is an
independent oracle: it never imports product packages.
"""

from .engine import Engine
from .errors import StripeError
from .store import Store

__all__ = ["Engine", "Store", "StripeError"]
