"""Admin roles: who may look, who may change, who may manage the admins.

Threat: a staff account (or its stolen session) that can do more than its
job. Roles are checked on the server for every change, in one place for the
pages (``admin.web.checked_form`` asks :func:`needed_for` of each posted
path) and for API tokens (a token acts with at most its maker's role), never
only by hiding buttons.
"""

from __future__ import annotations

import enum

from licentia.server.errors import ApiError, ErrorCode


class Role(enum.StrEnum):
    OWNER = "owner"  # everything, and managing the admins
    STAFF = "staff"  # every change to devices, licenses, products, webhooks
    VIEWER = "viewer"  # reads only


RANK = {Role.VIEWER: 0, Role.STAFF: 1, Role.OWNER: 2}
DESCRIPTIONS = {
    Role.OWNER: "everything, and managing the admins",
    Role.STAFF: "changes devices, licenses, products, webhooks and tokens",
    Role.VIEWER: "sees everything, changes nothing",
}
# Posts any signed-in admin may make: about themselves only.
SELF_SERVICE = ("/admin/signout", "/admin/account")
OWNER_ONLY = ("/admin/admins",)


def valid_role(role: str) -> str:
    if role not in RANK:
        raise ApiError(ErrorCode.INVALID_ROLE, f"a role is {', '.join(r.value for r in Role)}; got {role!r}")
    return role


def may(role: str, needed: Role) -> bool:
    return RANK.get(Role(role) if role in RANK else Role.VIEWER, 0) >= RANK[needed]


def needed_for(path: str) -> Role:
    """The role a change posted to ``path`` needs."""
    if any(path == p or path.startswith(p + "/") for p in SELF_SERVICE):
        return Role.VIEWER
    if any(path == p or path.startswith(p + "/") for p in OWNER_ONLY):
        return Role.OWNER
    return Role.STAFF


class RoleRefused(Exception):
    """A signed-in admin tried a change their role does not allow (answered 403 with a page)."""

    def __init__(self, needed: Role) -> None:
        super().__init__(f"this needs the {needed.value} role")
        self.needed = needed
