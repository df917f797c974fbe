"""The generic top-level package names resolve to this repository, not to anything installed."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ["pipelines", "assets", "resources", "sensors", "domain", "warehouse", "webhooks", "posting",
            "connectors", "sandbox"]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_imports_from_the_repository(name: str) -> None:
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve().parent == REPO / name


def test_product_code_never_imports_the_sandboxes() -> None:
    for package in ("pipelines", "assets", "resources", "sensors", "domain", "warehouse", "posting",
                    "webhooks", "connectors"):
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text()
            assert "import sandbox" not in text and "from sandbox" not in text, path
