"""What a license type says about self-service: its name, maintenance end and transfer limit.

License types (named policies with ``transfer_limit`` per
``transfer_period_days`` and a maintenance period, ``licenses.policy_id``) are
being added to the product alongside the portal. Until they are, every license
reads the documented defaults below, from this one function, so that reading
the license's own type is a one-line change here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

# A customer may move their license to another machine this many times per period
# (a new computer, a reinstall) without writing to the vendor; more looks like sharing.
DEFAULT_TRANSFER_LIMIT = 3
DEFAULT_TRANSFER_PERIOD_DAYS = 30
DEFAULT_TYPE_NAME = "Standard"


@dataclass(frozen=True)
class LicenseTerms:
    type_name: str
    transfer_limit: int
    transfer_period_days: int
    # Releases published after this date are not covered (None: every release is).
    maintenance_end: dt.datetime | None


def license_terms(license_row: Any) -> LicenseTerms:
    """The terms of ``license_row`` (a ``licenses`` row); the documented defaults until license types land."""
    return LicenseTerms(
        type_name=DEFAULT_TYPE_NAME,
        transfer_limit=DEFAULT_TRANSFER_LIMIT,
        transfer_period_days=DEFAULT_TRANSFER_PERIOD_DAYS,
        maintenance_end=None,
    )
