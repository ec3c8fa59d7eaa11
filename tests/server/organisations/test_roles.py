"""Who may change whom in an organisation: the rules on their own (``organisations.roles``)."""

from __future__ import annotations

import pytest

from licentia.server.errors import ApiError
from licentia.server.organisations.roles import OrgRole, decide_change, decide_invitation, decide_leaving, parse_role

OWNER, A, M = OrgRole.OWNER, OrgRole.ADMIN, OrgRole.MEMBER


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)
    return caught.value.code


def test_a_member_manages_nobody() -> None:
    assert refused(decide_invitation, M, M) == "organisation_role_forbidden"
    assert refused(decide_change, M, current=M, new=None, joined=True, other_owners=1) == "organisation_role_forbidden"


def test_an_admin_neither_changes_an_owner_nor_names_one() -> None:
    assert refused(decide_invitation, A, OWNER) == "organisation_role_forbidden"
    assert refused(decide_change, A, current=OWNER, new=M, joined=True, other_owners=3) == "organisation_role_forbidden"
    assert refused(decide_change, A, current=M, new=OWNER, joined=True, other_owners=1) == "organisation_role_forbidden"
    decide_change(A, current=M, new=A, joined=True, other_owners=1)
    decide_change(A, current=A, new=None, joined=True, other_owners=1)


def test_the_last_owner_who_joined_stays_owner_whoever_asks() -> None:
    for by in (OWNER, None):
        assert (
            refused(decide_change, by, current=OWNER, new=A, joined=True, other_owners=0) == "last_organisation_owner"
        )
        assert (
            refused(decide_change, by, current=OWNER, new=None, joined=True, other_owners=0)
            == "last_organisation_owner"
        )
        decide_change(by, current=OWNER, new=A, joined=True, other_owners=1)
        decide_change(by, current=OWNER, new=None, joined=False, other_owners=0)  # withdrawing an invitation
    assert refused(decide_leaving, OWNER, other_owners=0) == "last_organisation_owner"
    decide_leaving(OWNER, other_owners=1)
    decide_leaving(M, other_owners=0)


def test_roles_are_read_from_their_names_only() -> None:
    assert parse_role(" Admin ") is A
    assert refused(parse_role, "boss") == "invalid_organisation_role"
