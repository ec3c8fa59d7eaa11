"""What a license type says about self-service: its name, seats and maintenance end.

Read from the license's type (``licenses.policy_id``, with the license's own
overrides applied) and from the sale's terms fixed on the license
(``maintenance_until``). Its transfer limit is counted in one place for every
path, the portal's among them: ``devices/transfers.py``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.server.policies.terms import effective
from licentia.server.store.tables import policies


@dataclass(frozen=True)
class LicenseTerms:
    type_name: str
    seats_allowed: int
    # Releases published after this date are not covered (None: every release is).
    maintenance_end: dt.datetime | None


def license_terms(conn: sa.Connection, license_row: Any) -> LicenseTerms:
    """The terms of ``license_row`` (a ``licenses`` row) under its license type."""
    policy = conn.execute(sa.select(policies).where(policies.c.id == license_row.policy_id)).one()
    terms = effective(dict(policy._mapping), license_row.policy_overrides)
    return LicenseTerms(
        type_name=policy.name,
        seats_allowed=int(terms["max_devices"]),
        maintenance_end=license_row.maintenance_until,
    )
