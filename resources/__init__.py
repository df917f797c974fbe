"""Dagster resources: thin ConfigurableResources over connectors/ and warehouse/."""
from .config import build_resources
from .erp import ErpResource
from .stripe import StripeResource
from .warehouse import WarehouseResource

__all__ = ["ErpResource", "StripeResource", "WarehouseResource", "build_resources"]
