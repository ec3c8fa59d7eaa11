"""Field types every surface and domain validates the same way: row ids, slugs, emails, order references, reasons.

A value refused here is a 422 from the developer API and a refused form in the
admin UI or the portal, by the same rule: the API's bodies declare these types,
and a form's value is held to the same type by :func:`checked`. The database's
columns are sized to these limits (PostgreSQL refuses a longer value with an
error, SQLite keeps it whole), so nothing longer may reach a write.
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Interval
from pydantic import BaseModel, ConfigDict, StringConstraints, TypeAdapter, ValidationError

from licentia.server.errors import ApiError, ErrorCode

# Row ids are 64-bit signed integers on both databases. A larger number names no
# row, and the drivers refuse to even bind it (SQLite raises OverflowError), so
# an id outside the range is refused as input (422) before any query runs.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Interval(ge=1, le=MAX_ROW_ID)]

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Feature = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]
OrderRef = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# Why a vendor or a customer acted (a revoke, a block, a freed seat): kept in the audit log and beside the change.
MAX_REASON = 200
Reason = Annotated[str, StringConstraints(max_length=MAX_REASON)]
ProductName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# A customer's name for one of their computers ("Dana's laptop"); empty clears it.
MAX_MACHINE_LABEL = 64
MachineLabel = Annotated[str, StringConstraints(max_length=MAX_MACHINE_LABEL)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def checked(kind: Any, value: object, *, field: str) -> Any:
    """``value`` held to the field type ``kind``, or refused as the developer API words it: ``field: problem``
    (``validation_error``, 422), never cut to fit."""
    try:
        return TypeAdapter(kind).validate_python(value)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0].get("msg", "invalid")
        raise ApiError(ErrorCode.VALIDATION_ERROR, f"{field}: {problem}", details={"field": field}) from exc
