"""The ERP sandboxes (as in tests/erp) and a 90-day Stripe history mirrored once."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import mirror_history
from tests.erp.conftest import erp, erp_session  # noqa: F401 - fixtures
from tests.sandbox.fixtures import Sandbox, start_stripe_sandbox


@pytest.fixture(scope="session")
def history_90(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sb = start_stripe_sandbox(tmp_path_factory.mktemp("stripe-90"), history_days=90,
                              scale="tiny", seed=90)
    yield sb
    sb.stop()


@pytest.fixture(scope="session")
def mirrored_90(history_90: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    return mirror_history(history_90, tmp_path_factory.mktemp("mirror-90") / "warehouse.db")


@pytest.fixture
def engine_90(mirrored_90, tmp_path):
    from warehouse.db import make_engine
    path = tmp_path / "warehouse-90.db"
    shutil.copy(mirrored_90[0], path)
    return make_engine(f"sqlite:///{path}")
