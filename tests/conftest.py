"""Suite-wide fixtures: free ports, the throwaway PostgreSQL cluster."""
from __future__ import annotations

import uuid

import pytest

from tests.support.postgres import PgCluster, start_cluster


@pytest.fixture(scope="session")
def pg_cluster() -> PgCluster:
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A fresh, empty database on the throwaway cluster (SQLAlchemy URL, psycopg2 driver)."""
    return pg_cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")
