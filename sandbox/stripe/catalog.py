"""Customers, products and prices: the low-volume objects (webhook endpoints: webhook_endpoints.py).

Handlers follow the engine's convention ``handler(engine, [id,] params, t)``
and return the object to render.  Validation happens before any change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import render
from .currencies import check_amount, check_currency
from .errors import invalid, missing
from .params import (
    get_address,
    get_bool,
    get_enum,
    get_int,
    get_list,
    get_metadata,
    get_str,
    merge_metadata,
)

if TYPE_CHECKING:
    from .engine import Engine

Obj = dict[str, Any]


def _changes(obj: Obj, updates: dict[str, Any]) -> dict[str, Any]:
    """Apply ``updates`` to ``obj``; return Stripe's ``previous_attributes``."""
    previous = {k: obj[k] for k, v in updates.items() if obj.get(k) != v}
    obj.update(updates)
    return previous


# --------------------------------------------------------------------------- customers


def new_customer(
    e: Engine,
    t: int,
    *,
    email: str | None,
    name: str | None,
    metadata: dict[str, str],
    phone: str | None = None,
    description: str | None = None,
    address: dict | None = None,
    currency: str | None = None,
    default_payment_method: str | None = None,
    preferred_locales: list[str] | None = None,
    tax_exempt: str = "none",
) -> Obj:
    cus = render.customer(
        e.ids.short("cus"),
        t,
        email=email,
        name=name,
        phone=phone,
        description=description,
        address=address,
        metadata=metadata,
        currency=currency,
        invoice_prefix=e.ids.secret(8).upper(),
        default_payment_method=default_payment_method,
        preferred_locales=preferred_locales or [],
        tax_exempt=tax_exempt,
    )
    e.put(cus)
    e.emit("customer.created", cus, t)
    return cus


def create_customer(e: Engine, params: dict[str, Any], t: int) -> Obj:
    settings = params.get("invoice_settings") or {}
    pm = get_str(params, "payment_method") or get_str(settings, "default_payment_method")
    if pm is not None:
        from .cards import resolve_card

        resolve_card(pm, "payment_method")
    return new_customer(
        e,
        t,
        email=get_str(params, "email"),
        name=get_str(params, "name"),
        metadata=get_metadata(params) or {},
        phone=get_str(params, "phone"),
        description=get_str(params, "description"),
        address=get_address(params, "address"),
        default_payment_method=pm,
        preferred_locales=get_list(params, "preferred_locales"),
        tax_exempt=get_enum(params, "tax_exempt", ("none", "exempt", "reverse"), "none") or "none",
    )


def update_customer(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    cus = e.load(id, "customer")
    updates: dict[str, Any] = {}
    for key in ("email", "name", "phone", "description"):
        if key in params:
            updates[key] = get_str(params, key)
    if "address" in params:
        updates["address"] = get_address(params, "address")
    if "metadata" in params:
        updates["metadata"] = merge_metadata(cus["metadata"], get_metadata(params))
    if "invoice_settings" in params:
        pm = get_str(params["invoice_settings"], "default_payment_method")
        updates["invoice_settings"] = {**cus["invoice_settings"], "default_payment_method": pm}
    if "tax_exempt" in params:
        updates["tax_exempt"] = get_enum(params, "tax_exempt", ("none", "exempt", "reverse"))
    previous = _changes(cus, updates)
    e.put(cus)
    if previous:
        e.emit("customer.updated", cus, t, previous)
    return cus


def delete_customer(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    cus = e.load(id, "customer")
    e.emit("customer.deleted", e.put(cus), t)
    stub = render.deleted(id, "customer")
    e.put(stub)
    e._hot.pop(id, None)
    return stub


# --------------------------------------------------------------------------- products & prices


def new_product(
    e: Engine,
    t: int,
    *,
    name: str,
    metadata: dict[str, str],
    description: str | None = None,
    id: str | None = None,
    active: bool = True,
    type: str = "service",
    unit_label: str | None = None,
    url: str | None = None,
    images: list[str] | None = None,
    shippable: bool | None = None,
    statement_descriptor: str | None = None,
    tax_code: str | None = None,
) -> Obj:
    prod = render.product(
        id or e.ids.short("prod"),
        t,
        name=name,
        description=description,
        metadata=metadata,
        active=active,
        type=type,
        unit_label=unit_label,
        url=url,
        images=images or [],
        shippable=shippable,
        statement_descriptor=statement_descriptor,
        tax_code=tax_code,
    )
    e.put(prod)
    e.emit("product.created", prod, t)
    return prod


def create_product(e: Engine, params: dict[str, Any], t: int) -> Obj:
    name = get_str(params, "name", required=True)
    custom_id = get_str(params, "id")
    if custom_id is not None and e.store.get(custom_id) is not None:
        raise invalid("Product already exists.", param="id", code="resource_already_exists")
    default_price_data = params.get("default_price_data")
    if default_price_data is not None:
        check_currency(default_price_data.get("currency"), "default_price_data[currency]")
    prod = new_product(
        e,
        t,
        name=name,
        metadata=get_metadata(params) or {},
        description=get_str(params, "description"),
        id=custom_id,
        active=bool(get_bool(params, "active", True)),
        type=get_enum(params, "type", ("good", "service"), "service") or "service",
        unit_label=get_str(params, "unit_label"),
        url=get_str(params, "url"),
        images=get_list(params, "images"),
        shippable=get_bool(params, "shippable"),
        statement_descriptor=get_str(params, "statement_descriptor"),
        tax_code=get_str(params, "tax_code"),
    )
    if default_price_data is not None:
        price = create_price(e, {**default_price_data, "product": prod["id"]}, t)
        prod["default_price"] = price["id"]
        e.put(prod)
    return prod


def update_product(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    prod = e.load(id, "product")
    updates: dict[str, Any] = {}
    for key in ("name", "description", "unit_label", "url", "statement_descriptor", "tax_code"):
        if key in params:
            updates[key] = get_str(params, key, required=key == "name")
    if "active" in params:
        updates["active"] = get_bool(params, "active")
    if "metadata" in params:
        updates["metadata"] = merge_metadata(prod["metadata"], get_metadata(params))
    if "default_price" in params:
        price_id = get_str(params, "default_price")
        if price_id is not None and e.load(price_id, "price", "default_price")["product"] != id:
            raise invalid("The price must belong to this product.", param="default_price")
        updates["default_price"] = price_id
    previous = _changes(prod, updates)
    if previous:
        previous["updated"] = prod["updated"]
        prod["updated"] = t
    e.put(prod)
    if previous:
        e.emit("product.updated", prod, t, previous)
    return prod


def delete_product(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    prod = e.load(id, "product")
    if e.store.query(
        "SELECT 1 FROM objects WHERE product=? AND object='price' LIMIT 1", (id,)
    ) or any(o["object"] == "price" and o["product"] == id for o, _ in e._dirty.values()):
        raise invalid(
            "This product cannot be deleted because it has one or more user-created prices.",
            param="id",
        )
    e.emit("product.deleted", e.put(prod), t)
    stub = render.deleted(id, "product")
    e.put(stub)
    e._hot.pop(id, None)
    return stub


def new_price(
    e: Engine,
    t: int,
    *,
    product: str,
    currency: str,
    unit_amount: int,
    recurring: dict[str, Any] | None,
    metadata: dict[str, str],
    nickname: str | None = None,
    lookup_key: str | None = None,
    active: bool = True,
    tax_behavior: str = "unspecified",
) -> Obj:
    price = render.price(
        e.ids.new("price"),
        t,
        product=product,
        currency=currency,
        unit_amount=unit_amount,
        recurring=recurring,
        nickname=nickname,
        lookup_key=lookup_key,
        metadata=metadata,
        active=active,
        tax_behavior=tax_behavior,
    )
    e.put(price)
    e.emit("price.created", price, t)
    return price


def create_price(e: Engine, params: dict[str, Any], t: int) -> Obj:
    currency = check_currency(params.get("currency"))
    unit_amount = get_int(params, "unit_amount", minimum=0)
    if unit_amount is None:
        decimal = get_str(params, "unit_amount_decimal")
        if decimal is None:
            raise missing("unit_amount")
        try:
            unit_amount = int(decimal)
        except ValueError:
            raise invalid(
                "Fractional unit_amount_decimal values are not supported by this sandbox.",
                param="unit_amount_decimal",
            ) from None
    check_amount(unit_amount, currency, "unit_amount", minimum=False)
    product_id = get_str(params, "product")
    if product_id is None:
        data = params.get("product_data")
        if not data:
            raise missing("product")
        product_id = new_product(
            e, t, name=get_str(data, "name", required=True) or "", metadata=get_metadata(data) or {}
        )["id"]
    else:
        e.load(product_id, "product", "product")
    rec = params.get("recurring")
    recurring = None
    if rec:
        interval = get_enum(rec, "interval", ("day", "week", "month", "year"))
        if interval is None:
            raise missing("recurring[interval]")
        recurring = render.recurring(
            interval, get_int(rec, "interval_count", minimum=1, default=1) or 1
        )
    return new_price(
        e,
        t,
        product=product_id,
        currency=currency,
        unit_amount=unit_amount,
        recurring=recurring,
        metadata=get_metadata(params) or {},
        nickname=get_str(params, "nickname"),
        lookup_key=get_str(params, "lookup_key"),
        active=bool(get_bool(params, "active", True)),
        tax_behavior=get_enum(
            params, "tax_behavior", ("exclusive", "inclusive", "unspecified"), "unspecified"
        )
        or "unspecified",
    )


def update_price(e: Engine, id: str, params: dict[str, Any], t: int) -> Obj:
    price = e.load(id, "price")
    updates: dict[str, Any] = {}
    if "active" in params:
        updates["active"] = get_bool(params, "active")
    for key in ("nickname", "lookup_key"):
        if key in params:
            updates[key] = get_str(params, key)
    if "metadata" in params:
        updates["metadata"] = merge_metadata(price["metadata"], get_metadata(params))
    if "tax_behavior" in params:
        updates["tax_behavior"] = get_enum(
            params, "tax_behavior", ("exclusive", "inclusive", "unspecified")
        )
    previous = _changes(price, updates)
    e.put(price)
    if previous:
        e.emit("price.updated", price, t, previous)
    return price


def require_customer(e: Engine, id: str | None, param: str = "customer") -> Obj | None:
    """The referenced customer, 404 with ``param`` if missing; None when not given."""
    if id is None:
        return None
    return e.load(id, "customer", param)
