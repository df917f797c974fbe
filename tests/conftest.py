"""Suite-wide fixtures: the throwaway PostgreSQL cluster, a shared Stripe sandbox."""
from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox.fixtures import Sandbox, start_stripe_sandbox
from tests.support.postgres import PgCluster, start_cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A fresh, empty database on the throwaway cluster (SQLAlchemy URL, psycopg2 driver)."""
    return pg_cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty warehouse on each backend the product supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def stripe_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A Stripe sandbox with 30 days of generated history, shared by pipeline tests.

    Tests that turn knobs (faults) clear them afterwards; none creates objects in it.
    """
    sb = start_stripe_sandbox(tmp_path_factory.mktemp("stripe-history"), history_days=30,
                              scale="small", seed=7)
    yield sb
    sb.stop()


def mirror_history(sb: Sandbox, path: Path) -> tuple[Path, int]:
    """Mirror everything the sandbox holds into a new SQLite warehouse at ``path``."""
    from connectors.stripe import StripeApi
    from warehouse.db import make_engine
    from warehouse.migrate import upgrade
    from warehouse.stripe_sync import TABLES, sync_window
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    clock = sb.control("GET", "health")["clock"]
    sync_window(StripeApi(sb.api_key, sb.base_url, rate_limit=1000), engine, list(TABLES),
                None, clock + 1)
    engine.dispose()
    return path, clock


@pytest.fixture(scope="session")
def mirrored(stripe_history, tmp_path_factory) -> tuple[Path, int]:
    """A SQLite warehouse holding the sandbox's whole 30-day history (built once).

    Tests copy the file (fixture ``engine``) so each starts from the same mirror.
    """
    return mirror_history(stripe_history, tmp_path_factory.mktemp("mirror") / "warehouse.db")


@pytest.fixture
def engine(mirrored, tmp_path):
    """A private copy of the mirrored warehouse."""
    from warehouse.db import make_engine
    path = tmp_path / "warehouse.db"
    shutil.copy(mirrored[0], path)
    return make_engine(f"sqlite:///{path}")


@pytest.fixture
def stripe_sb(stripe_history: Sandbox) -> Iterator[Sandbox]:
    stripe_history.clear_faults()
    yield stripe_history
    stripe_history.clear_faults()
