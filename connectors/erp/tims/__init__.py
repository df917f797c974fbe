"""TIMS over our proposed REST contract (see ``adapter`` for the map of this package)."""
from .adapter import TimsAdapter

__all__ = ["TimsAdapter"]
