"""Infor M3 through the ION API gateway (see ``adapter`` for the map of this package)."""
from .adapter import InforAdapter
from .http import IonApi

__all__ = ["InforAdapter", "IonApi"]
