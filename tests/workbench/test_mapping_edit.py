"""Mapping edits from the workbench: comments kept, loaded through the load-time validation,
nothing written when the result does not load."""
from __future__ import annotations

import shutil

import pytest

from domain.mapping import DEFAULT_MAPPING, MappingError, load_mapping
from workbench.mapping_edit import map_sku


def test_sku_mapping_added_keeps_comments_and_loads(tmp_path) -> None:
    path = tmp_path / "mapping.yaml"
    shutil.copy(DEFAULT_MAPPING, path)
    before = path.read_text()
    mapping, diff = map_sku(path, "sku_1042", "SKU-01042", write=False)
    assert path.read_text() == before and mapping.items.item_for("sku_1042", None) == "SKU-01042"
    map_sku(path, "sku_1042", "SKU-01042", write=True)
    map_sku(path, "SKU 7", "SKU-01007", write=True)
    _, again = map_sku(path, "sku_1042", "SKU-01043", write=True)   # replaced, not duplicated
    assert '-    "sku_1042": "SKU-01042"' in again and '+    "sku_1042": "SKU-01043"' in again
    text = path.read_text()
    assert [ln for ln in before.splitlines() if ln.lstrip().startswith("#")] == \
        [ln for ln in text.splitlines() if ln.lstrip().startswith("#")]
    assert load_mapping(path).items.by_sku == {"sku_1042": "SKU-01043", "SKU 7": "SKU-01007"}
    assert diff.startswith("--- a/mapping.yaml")


def test_a_mapping_that_does_not_load_is_refused_and_not_written(tmp_path) -> None:
    path = tmp_path / "mapping.yaml"
    broken = DEFAULT_MAPPING.read_text().replace("refund: refunds", "refund: refundz")
    path.write_text(broken)
    with pytest.raises(MappingError, match="refundz"):
        map_sku(path, "sku_1042", "SKU-01042", write=True)
    assert path.read_text() == broken
