"""Field types every surface and domain validates the same way: row ids, slugs, emails, order references.

A value refused here is a 422 from the developer API and a refused form in the
admin UI, by the same rule.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval
from pydantic import BaseModel, ConfigDict, StringConstraints

# Row ids are 64-bit signed integers on both databases. A larger number names no
# row, and the drivers refuse to even bind it (SQLite raises OverflowError), so
# an id outside the range is refused as input (422) before any query runs.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Interval(ge=1, le=MAX_ROW_ID)]

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Feature = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]
OrderRef = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
