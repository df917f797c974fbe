"""Epicor Kinetic through its REST API v2 (see ``adapter`` for the map of this package)."""
from .adapter import EpicorAdapter

__all__ = ["EpicorAdapter"]
