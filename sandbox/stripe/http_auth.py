"""API-key authentication with Stripe's 401 bodies.

Stripe accepts ``Authorization: Bearer sk_…`` and, for curl users, Basic auth
with the key as the user name.  A wrong key is echoed back *masked* (prefix
and last four characters), so logs and error bodies never carry a usable key;
the sandbox itself never logs keys.
"""
from __future__ import annotations

import base64
import binascii
import secrets

from .errors import StripeError

NO_API_KEY = ("You did not provide an API key. You need to provide your API key in the "
              "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
              "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
              "or we can help at https://support.stripe.com/.")
PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_")


def mask_key(key: str) -> str:
    """``sk_test_abcdefgh1234`` -> ``sk_test_********1234`` (Stripe's masking)."""
    prefix = next((p for p in PREFIXES if key.startswith(p)), "")
    body = key[len(prefix):]
    if len(body) <= 4:
        return prefix + "*" * len(body)
    return prefix + "*" * (len(body) - 4) + body[-4:]


def authenticate(header: str | None, api_key: str) -> tuple[str | None, StripeError | None]:
    """The presented key if it is ``api_key``, else ``(None, 401 error)``."""
    if not header:
        return None, StripeError(401, "invalid_request_error", NO_API_KEY)
    scheme, _, value = header.partition(" ")
    key = value.strip()
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(key).decode().partition(":")[0]
        except (binascii.Error, ValueError, UnicodeDecodeError):
            key = ""
    elif scheme.lower() != "bearer":
        key = header
    if not key:
        return None, StripeError(401, "invalid_request_error", NO_API_KEY)
    if not secrets.compare_digest(key.encode(), api_key.encode()):
        return None, StripeError(401, "invalid_request_error",
                                 f"Invalid API Key provided: {mask_key(key)}")
    return key, None
