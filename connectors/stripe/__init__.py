"""Stripe over HTTP through the official SDK (no Dagster import here).

``api.StripeApi`` does the HTTP exchange with the SDK (auth, pinned API
version, retries honouring ``Stripe-Should-Retry``, error mapping) under one
shared request budget; ``extract`` walks list endpoints concurrently and
hands plain-JSON pages to a sink.
"""
from .api import STRIPE_API_VERSION, StripeApi
from .budget import RequestBudget
from .extract import ExtractStats, Extractor, ListTarget, TARGETS

__all__ = ["STRIPE_API_VERSION", "StripeApi", "RequestBudget", "ExtractStats", "Extractor",
           "ListTarget", "TARGETS"]
