"""Dagster resources: thin ConfigurableResources over connectors/ and warehouse/."""
from .config import build_resources
from .stripe import StripeResource
from .warehouse import WarehouseResource

__all__ = ["StripeResource", "WarehouseResource", "build_resources"]
