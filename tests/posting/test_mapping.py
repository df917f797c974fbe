"""The mapping file: the default loads; mistakes fail with the offending path named."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from domain.mapping import DEFAULT_MAPPING, MappingError, load_mapping


def write(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(DEFAULT_MAPPING.read_text())
    change(data)
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_default_mapping_loads() -> None:
    m = load_mapping()
    assert m.account(m.rule_for("adjustment", "dispute")) == "4910"
    assert m.rule_for("payout_minimum_balance_hold", "payout") == "stripe_reserve"
    assert m.rule_for("payout", "payout") == "payout"
    assert m.rule_for("something_new", "something_new") is None   # a dead letter, never suspense
    assert m.payment_method("card") == "CARD" and m.payment_method("klarna") == "CARD"
    assert m.items.item_for("SKU-01000", None) == "SKU-01000"
    assert m.items.item_for(None, None) == "MISC"


@pytest.mark.parametrize("change,message", [
    (lambda d: d["reporting_categories"].update(refund="refundz"),
     r"reporting_categories.refund: 'refundz' is neither an account name"),
    (lambda d: d["balance_types"].update(payout="payout_rule"),
     r"balance_types.payout: 'payout_rule' is neither an account name .* nor a posting rule"),
    (lambda d: d["accounts"].pop("stripe_clearing"), r"accounts.stripe_clearing: Field required"),
    (lambda d: d["accounts"].pop("deferred_revenue"), r"accounts.deferred_revenue: Field required"),
    (lambda d: d["revenue_recognition"]["contra"].update(refund="refundz"),
     r"revenue_recognition.contra: .*refund: 'refundz' is not an account name"),
    (lambda d: d["revenue_recognition"]["by_product"].update(Pro="4010"),
     r"revenue_recognition.by_product: .*'Pro': not a Stripe product"),
    (lambda d: d["payment_methods"].pop("default"), r"payment_methods.default is required"),
    (lambda d: d["customers"].update(match=["phone"]), r"customers.match.0"),
    (lambda d: d.update(version=1), r"version"),
    (lambda d: d["items"].update(colour="red"), r"items.colour: Extra inputs are not permitted"),
])
def test_mistakes_name_the_path(tmp_path, change, message) -> None:
    with pytest.raises(MappingError, match=message):
        load_mapping(write(tmp_path, change))


def test_broken_yaml_and_missing_file(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("accounts: [unclosed")
    with pytest.raises(MappingError, match="bad.yaml"):
        load_mapping(bad)
    with pytest.raises(MappingError, match="nope.yaml"):
        load_mapping(tmp_path / "nope.yaml")
