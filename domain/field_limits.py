"""Values longer than the ERP's field: truncated on purpose, or refused. Never cut silently.

Each adapter declares the lengths of its ERP's fields for the canonical document fields it
fills (``ErpAdapter.field_limits``: ``"customer.name": 36`` for M3's ``CUNM``). Before a
document is sent, :func:`fit` compares every declared field with its value and applies the
mapping file's policy for that field (``field_policies`` in ``config/mapping.yaml``):

* ``dead_letter`` (the default): the document is refused with :class:`FieldTooLong`, whose
  message names the document, the field, the value's length and the ERP's limit; the
  document becomes a dead letter and the documents that need it wait, visibly;
* ``truncate``: the value is cut to the limit and the cut is returned as a
  :class:`Truncation`, which the posting run records in the link table and in its metadata.

Field names are ``<kind>.<field>``, with ``.`` into nested parts:
``customer.billing.line1``, ``customer.shipping.postal_code``. Pure: no I/O.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .erp import Document

Policy = Literal["truncate", "dead_letter"]
ADDRESS_PARTS = ("line1", "line2", "city", "region", "postal_code", "country")
# Every field a policy may name (the mapping file is validated against it).
KNOWN_FIELDS: tuple[str, ...] = (
    "customer.name", "customer.email", "customer.phone",
    *(f"customer.{which}.{part}" for which in ("billing", "shipping") for part in ADDRESS_PARTS))


@dataclass(frozen=True)
class Truncation:
    """A value cut to the ERP's limit because the mapping says ``truncate`` for its field."""

    field: str        # customer.billing.line1
    length: int       # the value's length before
    limit: int        # the ERP field's length
    original: str     # the whole value, kept for the record

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "length": self.length, "limit": self.limit,
                "original": self.original}


class FieldTooLong(ValueError):
    """A value longer than the ERP's field whose policy is ``dead_letter``."""

    def __init__(self, kind: str, external_id: str, field: str, length: int, limit: int,
                 erp: str) -> None:
        self.kind, self.external_id, self.field = kind, external_id, field
        self.length, self.limit, self.erp = length, limit, erp
        self.message = (f"{kind} {external_id}: {field} is {length} characters, {erp} allows "
                        f"{limit}; not sent (field_policies in the mapping file: dead_letter "
                        f"for {field}; set it to truncate to post it cut to {limit})")
        super().__init__(self.message)


def _get(data: dict[str, Any], path: list[str]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _set(data: dict[str, Any], path: list[str], value: str) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def fit(doc: Document, limits: Mapping[str, int], policy_for: Any, erp: str
        ) -> tuple[Document, list[Truncation]]:
    """The document as it may be sent to the ERP, and what was cut to get there.

    ``policy_for(field) -> "truncate" | "dead_letter"`` (``FieldPolicies.policy``).
    Raises :class:`FieldTooLong` for the first field over its limit whose policy is
    ``dead_letter``; the document is then not sent at all.
    """
    kind = doc.kind.value
    mine = {f: n for f, n in limits.items() if f.startswith(kind + ".")}
    if not mine:
        return doc, []
    data = doc.model_dump()
    cuts: list[Truncation] = []
    for name, limit in mine.items():
        path = name.split(".")[1:]
        value = _get(data, path)
        if not isinstance(value, str) or len(value) <= limit:
            continue
        if policy_for(name) != "truncate":
            raise FieldTooLong(kind, doc.external_id, name, len(value), limit, erp)
        _set(data, path, value[:limit].rstrip())
        cuts.append(Truncation(name, len(value), limit, value))
    if not cuts:
        return doc, []
    return type(doc).model_validate(data), cuts


def customer_limits(name: int, email: int | None, phone: int | None,
                    billing: Mapping[str, int], shipping: Mapping[str, int]) -> dict[str, int]:
    """An ERP's ``field_limits`` for customers: name, e-mail, phone and the two addresses
    (part -> length; a part missing from the mapping has no limit in that ERP)."""
    out = {"customer.name": name}
    if email:
        out["customer.email"] = email
    if phone:
        out["customer.phone"] = phone
    for which, parts in (("billing", billing), ("shipping", shipping)):
        out.update({f"customer.{which}.{part}": n for part, n in parts.items()})
    return out
