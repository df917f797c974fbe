"""Parsing of form-decoded request params into typed values.

Params arrive as the SDK form-encodes them: nested dicts/lists with string
leaves.  These helpers convert and validate them, raising the same error
codes and messages Stripe uses, so every resource handler validates the same
way.
"""

from __future__ import annotations

from typing import Any

from .errors import StripeError, invalid, missing

Params = dict[str, Any]


def get_int(
    params: Params,
    key: str,
    *,
    required: bool = False,
    minimum: int | None = None,
    default: int | None = None,
) -> int | None:
    raw = params.get(key)
    if raw is None or raw == "":
        if required:
            raise missing(key)
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise StripeError(
            400,
            "invalid_request_error",
            f"Invalid integer: {raw}",
            code="parameter_invalid_integer",
            param=key,
        ) from None
    if minimum is not None and value < minimum:
        raise StripeError(
            400,
            "invalid_request_error",
            f"This value must be greater than or equal to {minimum}."
            if minimum
            else "Invalid positive integer",
            code="parameter_invalid_integer",
            param=key,
        )
    return value


def get_bool(params: Params, key: str, default: bool | None = None) -> bool | None:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).lower()
    if text in ("true", "false"):
        return text == "true"
    raise invalid(f"Invalid boolean: {raw}", param=key)


def get_str(
    params: Params, key: str, *, required: bool = False, default: str | None = None
) -> str | None:
    raw = params.get(key)
    if raw is None or raw == "":
        if required:
            raise missing(key)
        return default
    if not isinstance(raw, str):
        raise invalid(f"Invalid string: {raw!r}", param=key)
    return raw


def get_enum(
    params: Params, key: str, allowed: tuple[str, ...], default: str | None = None
) -> str | None:
    value = get_str(params, key, default=default)
    if value is not None and value not in allowed:
        choices = (
            ", ".join(allowed[:-1]) + f", or {allowed[-1]}" if len(allowed) > 1 else allowed[0]
        )
        raise invalid(f"Invalid {key}: must be one of {choices}", param=key)
    return value


def get_list(params: Params, key: str) -> list[Any] | None:
    raw = params.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict):  # tolerate {"0": ..} style decoding
        return [raw[k] for k in sorted(raw, key=int)]
    if not isinstance(raw, list):
        raise invalid("Invalid array", param=key)
    return raw


def get_metadata(params: Params, key: str = "metadata") -> dict[str, str] | None:
    """Validated metadata (≤50 keys, key ≤40 chars, value ≤500 chars)."""
    raw = params.get(key)
    if raw is None:
        return None
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid("Invalid object", param=key)
    if len(raw) > 50:
        raise invalid("Metadata can have up to 50 keys.", param=key)
    for k, v in raw.items():
        if len(k) > 40:
            raise invalid(
                f"Metadata keys can have up to 40 characters. The key `{k}` is too long.",
                param=f"{key}[{k}]",
            )
        if not isinstance(v, str):
            raise invalid("Metadata values must be strings.", param=f"{key}[{k}]")
        if len(v) > 500:
            raise invalid("Metadata values can have up to 500 characters.", param=f"{key}[{k}]")
    return dict(raw)


def merge_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict[str, str]:
    """Stripe's update semantics: keys merge, ``""`` unsets a key, ``metadata=""`` clears."""
    if update is None:
        return current
    if not update:
        return {}
    merged = {**current, **update}
    return {k: v for k, v in merged.items() if v != ""}


def get_address(params: Params, key: str) -> dict[str, Any] | None:
    raw = params.get(key)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, dict):
        raise invalid("Invalid object", param=key)
    return {
        f: raw.get(f) or None for f in ("city", "country", "line1", "line2", "postal_code", "state")
    }
