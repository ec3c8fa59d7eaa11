"""The named-user seats of an organisation's licenses, as its owners and admins manage them in the portal.

Thin over ``users.service`` (which the vendor's surfaces use too): every call is
scoped first by the signed-in address's managing membership, then by the
license belonging to that organisation, so an address reaches no seat of
another organisation's license (answered "not found", as for none). The
change is recorded in the audit log as the customer's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.organisations import access
from licentia.server.store.tables import licenses
from licentia.server.users import service as users


def _organisations_license(conn: sa.Connection, *, organisation_id: int, license_id: int) -> None:
    held_by = conn.execute(sa.select(licenses.c.organisation_id).where(licenses.c.id == license_id)).scalar()
    if held_by != organisation_id:
        raise ApiError(ErrorCode.UNKNOWN_LICENSE, "the organisation holds no such license")


def named_on(conn: sa.Connection, *, organisation_id: int, license_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The people named on each of the organisation's user licenses (machine licenses have none)."""
    found: dict[int, list[dict[str, Any]]] = {}
    for license_id in license_ids:
        _organisations_license(conn, organisation_id=organisation_id, license_id=license_id)
        try:
            found[license_id] = users.list_users(conn, license_id=license_id)
        except ApiError as exc:
            if exc.code != ErrorCode.NOT_USER_LICENSE:
                raise
    return found


def change_seat(
    conn: sa.Connection,
    *,
    organisation_id: int,
    license_id: int,
    customer: str,
    change: str,
    email: str,
    to: str = "",
    now: dt.datetime,
) -> str:
    """Give, free or move a user seat of the organisation's license; what was done, in words."""
    access.managing(conn, organisation_id=organisation_id, email=customer)
    _organisations_license(conn, organisation_id=organisation_id, license_id=license_id)
    actor = f"customer:{customer}"
    if change == "assign":
        users.assign_user(conn, license_id=license_id, email=email, actor=actor, now=now)
        return f"{email} holds a seat."
    if change == "free":
        left = users.free_user(conn, license_id=license_id, email=email, actor=actor, now=now, reason="organisation")
        return f"{email}'s seat is free" + (f"; {left} installation(s) signed out." if left else ".")
    if change == "reassign":
        users.reassign_user(conn, license_id=license_id, email=email, to=to, actor=actor, now=now)
        return f"{email}'s seat is now {to}'s."
    raise ApiError(ErrorCode.BAD_REQUEST, "a seat is assigned, freed or reassigned")
