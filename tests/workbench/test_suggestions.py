"""Mapping suggestions: quality on a fixed seeded set of injected unknown SKUs and customers."""
from __future__ import annotations

from domain.suggestions import ErpItem, ItemSuggester, fold_code
from tests.support.suggestion_cases import cases, erp_customers, erp_items
from bench.bench_suggestions import quality, rank_all


def test_right_candidate_first_in_90_percent_and_top_three_in_98_percent() -> None:
    ranked = rank_all(cases(200, seed=3))
    assert {c.kind for c, _ in ranked} == {"item", "customer"}
    first, top3 = quality(ranked)
    assert first >= 0.90 and top3 >= 0.98, (first, top3)
    for kind in ("item", "customer"):
        assert quality([r for r in ranked if r[0].kind == kind])[0] >= 0.90, kind


def test_codes_fold_case_separators_zeros_and_lookalikes() -> None:
    assert {fold_code(c) for c in ("SKU-01042", "sku_1042", "SKU O1042", "Sku.01042")} == \
        {"SKU1042"}
    assert fold_code("SKU-01042-BLK") == "SKU1042BLK" and fold_code("MISC") == "MISC"


def test_product_name_decides_between_codes_equally_far() -> None:
    """An unknown SKU equally far from two items: the Stripe product's name picks the one
    whose ERP description (or mapped Stripe product) it matches, abbreviated and reordered."""
    items, mapped = erp_items()
    suggester = ItemSuggester(items, mapped)
    [first, *_] = suggester.suggest("SKU-0100", name="Shoes Trl Running")
    assert first.code == "SKU-01000" and "Trail Running Shoes" in first.why
    only = ItemSuggester([ErpItem("A-1", "Rain Jacket"), ErpItem("A-2", "Camp Stove")])
    assert only.suggest("XYZ", name="stove, camp")[0].code == "A-2"
    assert len(erp_customers()) == 400
