"""TIMS contract values: amounts as JSON numbers in major units, field lengths, lines."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import orjson

from domain.erp import OrderLine
from domain.field_limits import customer_limits
from domain.money import Money, from_decimal, to_decimal

# Free-text field lengths of the contract (CONTRACT.md) for document texts the product
# composes itself (descriptions, memos); keys are never cut.  Customer data is not cut
# here: it goes by the mapping's field policies (CUSTOMER_LIMITS, domain.field_limits).
_MAX = {"description": 100, "memo": 200, "reference": 50, "reasonCode": 10, "source": 20}
ADDRESS_LIMITS = {"line1": 60, "line2": 60, "city": 40, "region": 30, "postal_code": 15,
                  "country": 2}
CUSTOMER_LIMITS = customer_limits(name=60, email=100, phone=30, billing=ADDRESS_LIMITS,
                                  shipping=ADDRESS_LIMITS)


def cut(text: str | None, field: str) -> str | None:
    return None if text is None else text[:_MAX[field]]


def json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return orjson.Fragment(format(obj, "f").encode())
    if isinstance(obj, date):
        return obj.isoformat()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def amount(money: Money) -> Decimal:
    return to_decimal(money.amount, money.currency)


def money(value: Any, currency: str) -> Money:
    return Money(from_decimal(Decimal(str(value)), currency), currency)


def chunks(seq: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def lines_out(lines: Sequence[OrderLine]) -> list[dict[str, Any]]:
    """Order or invoice lines as the contract's ``lines``."""
    return [{"lineNumber": ln.line_no, "sku": ln.sku,
             "description": cut(ln.description, "description"),
             "quantity": ln.quantity, "unitPrice": amount(ln.unit_price)} for ln in lines]


def lines_in(lines: list[dict[str, Any]], currency: str) -> tuple[OrderLine, ...]:
    """The contract's ``lines`` as canonical order lines."""
    return tuple(OrderLine(line_no=int(ln["lineNumber"]), sku=ln["sku"],
                           description=ln.get("description") or "",
                           quantity=Decimal(str(ln["quantity"])),
                           unit_price=money(ln["unitPrice"], currency)) for ln in lines)
