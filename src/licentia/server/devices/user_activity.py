"""When a person last used their user seat: written once a day per installation by the status check."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from licentia.server.store.tables import license_users


def touch_user(conn: sa.Connection, license_id: int, email: str, now: dt.datetime) -> None:
    """Note that ``email`` used their seat of the license ``now`` (the vendor's list sorts by it)."""
    conn.execute(
        license_users.update()
        .where(license_users.c.license_id == license_id, license_users.c.email == email)
        .values(last_active_at=now)
    )
