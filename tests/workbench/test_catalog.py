"""The ERP item list the suggestions rank, read through Epicor's own API (TIMS's is read by
the browser test), and the suggestion it gives for a variant SKU."""
from __future__ import annotations

from domain.suggestions import ItemSuggester
from tests.erp.conftest import start_erp_sandbox
from workbench.catalog import erp_items


def test_epicor_parts_are_read_and_ranked(tmp_path) -> None:
    sb = start_erp_sandbox("epicor", tmp_path)
    try:
        adapter = sb.adapter()
        items = erp_items(adapter)
        adapter.close()
    finally:
        sb.proc.stop()
    assert {"SKU-01000", "SKU-01099", "MISC"} <= {i.sku for i in items}
    assert ItemSuggester(items).suggest("sku.1042")[0].code == "SKU-01042"
