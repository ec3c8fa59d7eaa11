"""What a license type says about self-service: its name, seats (machines or named users) and maintenance end.

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
from licentia.server.store.tables import license_users, policies


@dataclass(frozen=True)
class LicenseTerms:
    type_name: str
    seats_allowed: int
    # Releases published after this date are not covered (None: every release is).
    maintenance_end: dt.datetime | None
    seat_unit: str = "machine"  # "user": the seats are named people (users.service)


def license_terms(conn: sa.Connection, license_row: Any) -> LicenseTerms:
    """The terms of ``license_row`` (a ``licenses`` row) under its license type."""
    policy = conn.execute(sa.select(policies).where(policies.c.id == license_row.policy_id)).one()
    terms = effective(dict(policy._mapping), license_row.policy_overrides)
    return LicenseTerms(
        type_name=policy.name,
        seats_allowed=int(terms["max_devices"]),
        maintenance_end=license_row.maintenance_until,
        seat_unit=str(terms.get("seat_unit") or "machine"),
    )


def assigned_to(conn: sa.Connection, license_row: Any, email: str) -> bool:
    """Whether a plain member of the organisation holding the license has it assigned: a license of named users
    names them (holding a seat or not yet); a license of machines is the whole organisation's."""
    if license_terms(conn, license_row).seat_unit != "user":
        return True
    named = sa.select(license_users.c.id).where(
        license_users.c.license_id == license_row.id, license_users.c.email == email, license_users.c.freed_at.is_(None)
    )
    return conn.execute(named.limit(1)).first() is not None
