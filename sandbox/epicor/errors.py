"""Epicor's REST v2 error body (reference §1.6) and the exception the services raise."""
from __future__ import annotations

import uuid
from typing import Any

BO_EXCEPTION = "Ice.Common.BusinessObjectException"
ODATA_EXCEPTION = "ODataException"
API_EXCEPTION = "Epicor.RESTApi.ErrorHandling.ApiException"
NOT_FOUND_EXCEPTION = "RecordNotFoundException"
DUPLICATE_EXCEPTION = "DuplicateRecordException"
UNAUTHORIZED_EXCEPTION = "UnauthorizedAccessException"


class EpicorError(Exception):
    """An error answered with the §1.6 body; ``table``/``field`` fill ErrorDetails."""

    def __init__(self, message: str, *, status: int = 400, error_type: str | None = BO_EXCEPTION,
                 table: str = "", field: str = "") -> None:
        super().__init__(message)
        self.message, self.status, self.error_type = message, status, error_type
        self.table, self.field = table, field


def business(message: str, table: str = "", field: str = "") -> EpicorError:
    return EpicorError(message, table=table, field=field)


def error_body(err: EpicorError) -> dict[str, Any]:
    detail = {"Message": err.message, "Type": "Error", "Table": err.table, "Field": err.field}
    return {"HttpStatus": err.status, "ReasonPhrase": "REST API Exception",
            "ErrorMessage": err.message, "ErrorType": err.error_type,
            "ErrorDetails": [detail], "CorrelationId": str(uuid.uuid4())}
