"""JSON answers as Epicor's REST v2 gives them: decimals as JSON numbers, errors with the
§1.6 body."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import Response

from .errors import EpicorError, error_body


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 \
            else float(value)
    raise TypeError(type(value).__name__)


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_json_default)


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    return Response(dumps(obj), status, headers=headers, media_type="application/json")


def error_response(err: EpicorError, headers: dict[str, str] | None = None) -> Response:
    return json_response(error_body(err), err.status, headers)


