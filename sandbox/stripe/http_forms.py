"""Decode Stripe's v1 form encoding (query strings and POST bodies) into params.

Stripe's v1 API takes ``application/x-www-form-urlencoded`` bodies with
bracketed keys: ``metadata[k]=v`` is a nested dict, ``expand[0]=a&expand[1]=b``
is a list, ``items[0][price]=p`` a list of dicts.  stripe-python always sends
indexed arrays; curl users often send ``expand[]=a``, which Stripe also
accepts, so ``[]`` appends.  Leaves stay strings, exactly as on the wire: the
engine decides what is an integer or a boolean, and reports Stripe's errors.

Real Stripe rejects an indexed array that does not start at ``0``; this module
raises the same 400 (``Invalid array``) so clients that hand-roll encodings
fail here as they would against Stripe.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from .errors import StripeError

Params = dict[str, Any]


def _split_key(key: str) -> list[str]:
    """``a[b][0][]`` -> ``["a", "b", "0", ""]``; malformed brackets stay literal."""
    head, sep, rest = key.partition("[")
    if not sep or not rest.endswith("]"):
        return [key]
    parts = [head]
    for piece in rest[:-1].split("]["):
        if "[" in piece or "]" in piece:
            return [key]
        parts.append(piece)
    return parts


def _invalid_array(path: str) -> StripeError:
    return StripeError(
        400, "invalid_request_error",
        f"Invalid array: {path}. When sending an array, we expected to have a key with "
        "the value `0`, but it was not present.",
        param=path,
    )


def _listify(node: Any, path: str) -> Any:
    """Turn dicts whose keys are all array indexes into lists, validating them.

    Indexes must start at 0; gaps are closed up in index order (Stripe accepts
    ``a[0]=x&a[2]=y`` as ``[x, y]``).
    """
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(k, int) for k in node):
        if 0 not in node:
            raise _invalid_array(path)
        return [_listify(node[i], f"{path}[{i}]") for i in sorted(node)]
    if any(isinstance(k, int) for k in node):
        raise StripeError(400, "invalid_request_error",
                          f"Invalid hash: {path}. Cannot mix array indexes and hash keys.",
                          param=path)
    return {k: _listify(v, f"{path}[{k}]" if path else k) for k, v in node.items()}


def decode(raw: str | bytes) -> Params:
    """Decode a query string or form body into nested params (leaves are ``str``)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    root: dict[Any, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        parts = _split_key(key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            k: Any = part
            if i > 0 and part == "":  # ``[]`` appends
                k = len(node)
            elif i > 0 and part.isdigit():
                k = int(part)
            if last:
                node[k] = value
                break
            child = node.get(k)
            if not isinstance(child, dict):
                child = {}
                node[k] = child
            node = child
    return _listify(root, "")
