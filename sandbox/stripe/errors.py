"""Engine-level errors.

The engine raises :class:`StripeError`; the HTTP layer turns it into Stripe's
error JSON (``{"error": {...}}``) with the given status.  Keeping the error
vocabulary here (instead of in the HTTP layer) lets engine tests assert the
exact Stripe codes and messages without an HTTP round-trip.
"""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """A Stripe API error: HTTP status plus the fields of Stripe's error object.

    ``extra`` carries additional error-object keys (``charge``,
    ``payment_intent``, ``payment_method`` ...) that card errors include.
    """

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` object body; only present keys are emitted, like Stripe."""
        body: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            body["code"] = self.code
            body["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            body["param"] = self.param
        if self.decline_code:
            body["decline_code"] = self.decline_code
        body.update(self.extra)
        return body


def missing(param: str) -> StripeError:
    return StripeError(
        400,
        "invalid_request_error",
        f"Missing required param: {param}.",
        code="parameter_missing",
        param=param,
    )


def no_such(kind: str, id: str, param: str = "id") -> StripeError:
    return StripeError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{id}'",
        code="resource_missing",
        param=param,
    )


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, code=code, param=param)
