"""Times a caller sends that the server stores: within the years both databases keep as UTC.

The columns hold UTC. A time at the calendar's edge (year 1 east of Greenwich,
year 9999 west of it) has no UTC equivalent, and the drivers fail to bind it;
so such an input is refused as invalid (422) before anything runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator

EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def _storable(value: dt.datetime) -> dt.datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    try:
        if EARLIEST <= aware.astimezone(dt.UTC) < LATEST:
            return aware
    except OverflowError:
        pass
    raise ValueError("a time must lie between 1970 and 9000")


StoredTime = Annotated[dt.datetime, AfterValidator(_storable)]
