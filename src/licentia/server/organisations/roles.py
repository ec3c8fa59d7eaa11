"""Who in an organisation may change whom: the rules as one pure decision, tested on their own.

- a member manages nothing (they see the organisation's licenses, read-only);
- an admin invites, changes and removes admins and members, never an owner, and names no owner;
- an owner (and the vendor's staff) may change anyone;
- an organisation always keeps an owner who joined: the last one can be neither demoted, removed, nor leave.
A pending invitation is not yet a member: withdrawing one never leaves the organisation without its owner.
"""

from __future__ import annotations

import enum

from licentia.server.errors import ApiError, ErrorCode


class OrgRole(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"

    @property
    def manages(self) -> bool:
        return self is not OrgRole.MEMBER


def parse_role(text: str) -> OrgRole:
    try:
        return OrgRole(text.strip().lower())
    except ValueError:
        raise ApiError(ErrorCode.INVALID_ORGANISATION_ROLE, "a member's role is owner, admin or member") from None


def decide_invitation(by: OrgRole | None, role: OrgRole) -> None:
    """May ``by`` (None: the vendor's staff) invite someone as ``role``? Raises when not."""
    if by is OrgRole.MEMBER:
        raise ApiError(ErrorCode.ORGANISATION_ROLE_FORBIDDEN, "only the organisation's owners and admins invite")
    if by is OrgRole.ADMIN and role is OrgRole.OWNER:
        raise ApiError(ErrorCode.ORGANISATION_ROLE_FORBIDDEN, "only an owner names another owner")


def decide_change(
    by: OrgRole | None, *, current: OrgRole, new: OrgRole | None, joined: bool, other_owners: int
) -> None:
    """May ``by`` (None: staff) move a member from ``current`` to ``new`` (None: out of the organisation)?

    ``joined``: the member accepted (else it is an invitation); ``other_owners``: owners who joined, besides them.
    """
    if by is OrgRole.MEMBER:
        raise ApiError(
            ErrorCode.ORGANISATION_ROLE_FORBIDDEN, "only the organisation's owners and admins manage members"
        )
    if by is OrgRole.ADMIN and (current is OrgRole.OWNER or new is OrgRole.OWNER):
        raise ApiError(ErrorCode.ORGANISATION_ROLE_FORBIDDEN, "an admin does not change an owner, nor name one")
    if joined and current is OrgRole.OWNER and new is not OrgRole.OWNER and other_owners == 0:
        raise ApiError(
            ErrorCode.LAST_ORGANISATION_OWNER, "the organisation keeps an owner: make someone else owner first"
        )


def decide_leaving(role: OrgRole, *, other_owners: int) -> None:
    """A member leaves by themselves; the last owner cannot (they name another owner first)."""
    if role is OrgRole.OWNER and other_owners == 0:
        raise ApiError(
            ErrorCode.LAST_ORGANISATION_OWNER, "you are the organisation's last owner: make someone else owner first"
        )
