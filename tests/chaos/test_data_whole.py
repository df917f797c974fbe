"""Data kept whole (issue 12, breaks 4 and 5), against each ERP sandbox, read back through
the ERP's own API: billing and shipping addresses reach the ERP in its fields; a value too
long for the ERP is a dead letter naming the field and the limit, or a recorded truncation,
as the mapping says, never a silent cut; currencies.allowed is enforced.

The Stripe side is a handful of objects in Stripe's shape (customer ``address`` and
``shipping.address`` as the installed ``stripe`` package types them) landed in an empty
warehouse through the mirror's own write path; posting goes through ``post_window``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from assets.erp import truncation_metadata
from domain.erp import Address, DocKind
from domain.mapping import DEFAULT_MAPPING, Mapping, MappingError, load_mapping
from posting.run import PostingReport, post_window, replay_dead_letters
from tests.erp.conftest import erp, erp_session  # noqa: F401 (the ERP sandboxes)
from tests.support.erp_contract import check
from tests.support.erp_requests import RequestRecorder
from warehouse.db import make_engine
from warehouse.migrate import upgrade
from warehouse.schema import erp_dead_letters, erp_links
from warehouse.stripe_sync import land_objects

T0 = 1_764_547_200            # 2025-12-01 00:00 UTC: an open period in every sandbox
LONG_NAME = ("Consolidated Industrial Gases and Welding Supply Cooperative of the Greater "
             "Pacific Northwest, Alaska, Hawaii and the Outlying Territories, Incorporated, "
             "Accounts Payable Department, Attention Ms. Jane Q. Controller")[:200]
BILLING = {"line1": "1234 Long Street Name Avenue Bldg 7", "line2": "Suite 100",
           "city": "Portland", "state": "OR", "postal_code": "97201", "country": "US"}
SHIPPING = {"line1": "Dock 4, 55 Harbor Way", "line2": None, "city": "Tacoma",
            "state": "WA", "postal_code": "98402", "country": "US"}


def canonical(stripe_address: dict[str, Any]) -> Address:
    return Address(line1=stripe_address["line1"], line2=stripe_address["line2"],
                   city=stripe_address["city"], region=stripe_address["state"],
                   postal_code=stripe_address["postal_code"],
                   country=stripe_address["country"])


def customer(cid: str, name: str, *, address: dict | None = None,
             shipping: dict | None = None) -> dict[str, Any]:
    return {"id": cid, "object": "customer", "created": T0, "livemode": False,
            "email": f"{cid}@example.com", "name": name, "phone": None, "currency": None,
            "balance": 0, "delinquent": False, "tax_exempt": "none", "metadata": {},
            "address": address,
            "shipping": {"name": name, "phone": None, "address": shipping} if shipping else None}


def payment(n: int, cid: str, currency: str = "usd", amount: int = 2500
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A succeeded card charge and its balance transaction (settled in its own currency)."""
    ch, txn, t = f"ch_dw{n}", f"txn_dw{n}", T0 + 3600 * n
    charge = {"id": ch, "object": "charge", "created": t, "livemode": False, "amount": amount,
              "amount_captured": amount, "amount_refunded": 0, "currency": currency,
              "customer": cid, "payment_intent": f"pi_dw{n}", "balance_transaction": txn,
              "status": "succeeded", "paid": True, "captured": True, "refunded": False,
              "disputed": False, "description": None, "metadata": {},
              "payment_method_details": {"type": "card"}}
    fee = amount * 29 // 1000 + 30
    bt = {"id": txn, "object": "balance_transaction", "created": t, "livemode": False,
          "amount": amount, "fee": fee, "net": amount - fee, "currency": currency,
          "exchange_rate": None, "type": "charge", "reporting_category": "charge",
          "status": "pending", "available_on": t + 2 * 86400, "source": ch,
          "description": None}
    return charge, bt


def warehouse(tmp_path: Path, customers: list[dict], payments: list[tuple[dict, dict]],
              url: str | None = None) -> sa.Engine:
    engine = make_engine(url or f"sqlite:///{tmp_path / 'warehouse.db'}")
    upgrade(engine)
    land_objects(engine, "customers", customers, 1)
    land_objects(engine, "charges", [c for c, _ in payments], 1)
    land_objects(engine, "balance_transactions", [b for _, b in payments], 1)
    return engine


def mapping(tmp_path: Path, **sections: Any) -> Mapping:
    data = yaml.safe_load(DEFAULT_MAPPING.read_text())
    data.update(sections)
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_mapping(path)


def post(erp_sb, engine: sa.Engine, m: Mapping) -> tuple[Any, PostingReport]:  # noqa: F811
    adapter = erp_sb.adapter()
    return adapter, post_window(adapter, engine, m, None, None)


def dead_letters(engine: sa.Engine) -> dict[tuple[str, str], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(erp_dead_letters)).mappings().all()
    return {(r["kind"], r["external_id"]): dict(r) for r in rows}


def in_erp(adapter, kind: DocKind, ids: list[str]) -> set[str]:
    return set(adapter.find(kind, ids))


def test_billing_and_shipping_addresses_reach_the_erp(erp, tmp_path) -> None:  # noqa: F811
    engine = warehouse(tmp_path, [customer("cus_dwaddr", "Harbor Supply Co",
                                           address=BILLING, shipping=SHIPPING)],
                       [payment(1, "cus_dwaddr")])
    adapter = erp.adapter()
    recorder = RequestRecorder.attach(adapter)
    report = post_window(adapter, engine, load_mapping(), None, None)
    assert report.dead == 0, dead_letters(engine)
    [record] = adapter.read(DocKind.CUSTOMER, ["cus_dwaddr"])   # through the ERP's own API
    assert record.doc.billing == canonical(BILLING)
    assert record.doc.shipping == canonical(SHIPPING)
    assert in_erp(adapter, DocKind.SALES_ORDER, ["pi_dw1"]) == {"pi_dw1"}
    # every field the addresses went in is one the ERP publishes (or its sandbox README
    # names with a source)
    contract = check(erp.kind, recorder.requests)
    assert not contract.uncovered, contract.describe()


def test_a_name_too_long_is_a_dead_letter_naming_field_and_limit(erp, tmp_path) -> None:  # noqa: F811
    engine = warehouse(tmp_path, [customer("cus_dwlong", LONG_NAME, address=BILLING),
                                  customer("cus_dwok", "Short Name Ltd", address=BILLING)],
                       [payment(1, "cus_dwlong"), payment(2, "cus_dwok")])
    adapter, report = post(erp, engine, load_mapping())
    letters = dead_letters(engine)
    letter = letters.get(("customer", "cus_dwlong"))
    assert letter is not None, "the 200-character name went to the ERP"
    limit = adapter.field_limits["customer.name"]
    assert letter["error_type"] == "FieldTooLong" and letter["error_field"] == "customer.name"
    assert f"customer.name is {len(LONG_NAME)} characters" in letter["error_message"]
    assert f"allows {limit}" in letter["error_message"]
    # its documents wait for it, visibly; nothing of that customer is in the ERP
    for kind, ext in (("sales_order", "pi_dw1"), ("invoice", "pi_dw1"),
                      ("payment", "ch_dw1")):
        assert letters[(kind, ext)]["error_type"] == "Blocked", letters.keys()
        assert "customer cus_dwlong" in letters[(kind, ext)]["error_message"]
    assert adapter.read(DocKind.CUSTOMER, ["cus_dwlong"]) == []
    assert in_erp(adapter, DocKind.SALES_ORDER, ["pi_dw1", "pi_dw2"]) == {"pi_dw2"}
    # the other customer posts whole
    assert report.kinds[DocKind.CUSTOMER].too_long == 1
    assert in_erp(adapter, DocKind.CUSTOMER, ["cus_dwok"]) == {"cus_dwok"}
    # the controller decides: truncate names; the replay posts the customer and its documents
    m = mapping(tmp_path, field_policies={"default": "dead_letter",
                                          "fields": {"customer.name": "truncate"}})
    replayed = replay_dead_letters(adapter, engine, m)
    assert replayed.dead == 0 and replayed.truncations, replayed.totals()
    assert in_erp(adapter, DocKind.SALES_ORDER, ["pi_dw1"]) == {"pi_dw1"}
    assert all(r["resolved_at"] for r in dead_letters(engine).values())


def test_truncate_policy_posts_the_cut_value_and_records_it(erp, tmp_path,  # noqa: F811
                                                            warehouse_url) -> None:
    engine = warehouse(tmp_path, [customer("cus_dwcut", LONG_NAME, address=BILLING)],
                       [payment(1, "cus_dwcut")], warehouse_url)
    m = mapping(tmp_path, field_policies={"default": "dead_letter",
                                          "fields": {"customer.name": "truncate"}})
    adapter, report = post(erp, engine, m)
    assert report.dead == 0, dead_letters(engine)
    [record] = adapter.read(DocKind.CUSTOMER, ["cus_dwcut"])
    limit = adapter.field_limits["customer.name"]
    assert record.doc.name == LONG_NAME[:limit].rstrip()
    with engine.connect() as conn:
        cuts = conn.execute(sa.select(erp_links.c.truncations).where(
            erp_links.c.kind == "customer", erp_links.c.external_id == "cus_dwcut")).scalar()
    assert cuts == [{"field": "customer.name", "length": len(LONG_NAME), "limit": limit,
                     "original": LONG_NAME}]
    meta = truncation_metadata(report, DocKind.CUSTOMER)
    assert meta["truncated"] == 1
    assert f"| cus_dwcut | customer.name | {len(LONG_NAME)} | {limit} |" in meta["truncations"].value
    assert in_erp(adapter, DocKind.SALES_ORDER, ["pi_dw1"]) == {"pi_dw1"}


def test_a_currency_not_allowed_is_a_dead_letter_naming_it(erp, tmp_path) -> None:  # noqa: F811
    engine = warehouse(tmp_path, [customer("cus_dweur", "Euro Kunde GmbH"),
                                  customer("cus_dwusd", "Dollar Customer Inc")],
                       [payment(1, "cus_dweur", "eur"), payment(2, "cus_dwusd", "usd")])
    adapter, report = post(erp, engine, mapping(tmp_path, currencies={"allowed": ["usd"]}))
    letter = dead_letters(engine)[("payment", "ch_dw1")]
    assert "charge ch_dw1: currency EUR is not in currencies.allowed (USD)" in (
        letter["error_message"])
    assert in_erp(adapter, DocKind.SALES_ORDER, ["pi_dw1", "pi_dw2"]) == {"pi_dw2"}
    assert in_erp(adapter, DocKind.PAYMENT, ["ch_dw1"]) == set()
    assert report.problems == 1


@pytest.mark.parametrize("sections,message", [
    ({"currencies": {"allowed": ["usd", "euro"]}},
     r"currencies.allowed: .*'euro' is not an ISO 4217 currency code"),
    ({"field_policies": {"fields": {"customer.nmae": "truncate"}}},
     r"field_policies.fields: .*customer.nmae: not a field the product sends"),
    ({"field_policies": {"default": "cut"}}, r"field_policies.default"),
])
def test_mapping_mistakes_name_the_path(tmp_path, sections, message) -> None:
    with pytest.raises(MappingError, match=message):
        mapping(tmp_path, **sections)
