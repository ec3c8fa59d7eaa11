"""``licentia org ...`` on the populated database of tests/server/cli/test_every_command.py (one case each).

The database is shared by every case of that module: each case makes its own organisation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

OWNER, DANA = "olga@team.example", "dana@team.example"


def _made(cli: Any, name: str, *owner: str) -> int:
    said = cli("org", "create", name, *(("--owner", owner[0]) if owner else ()))
    found = re.search(r"organisation #(\d+) created", said)
    assert found, said
    return int(found.group(1))


def _joined(cli: Any, name: str) -> int:
    """An organisation whose owner joined (accepted in the portal: here, straight in its database)."""

    from licentia.server.cli import CliContext
    from licentia.server.store.tables import organisation_members

    org = _made(cli, name, OWNER)
    ctx = CliContext(data_dir=str(cli.data_dir))
    try:
        with ctx.engine.begin() as conn:
            conn.execute(
                organisation_members.update()
                .where(organisation_members.c.organisation_id == org)
                .values(joined_at=ctx.clock.now(), invitation_hash=None)
            )
    finally:
        ctx.close()
    return org


def case_org_create(cli: Any) -> None:
    org = _made(cli, "Team Create", OWNER)
    shown = json.loads(cli("org", "show", str(org), "--json"))
    assert shown["members"][0]["email"] == OWNER and shown["members"][0]["pending"] is True
    assert "name: " in cli("org", "create", "  ", code=1)


def case_org_list(cli: Any) -> None:
    _made(cli, "Team Listed")
    assert "Team Listed\t0 member(s)\t0 license(s)" in cli("org", "list", "--search", "listed")
    assert json.loads(cli("org", "list", "--json", "--search", "team listed"))[0]["name"] == "Team Listed"


def case_org_show(cli: Any) -> None:
    org = _made(cli, "Team Shown", OWNER)
    assert f"owner\t{OWNER}\tinvited" in cli("org", "show", str(org))
    assert "no such organisation" in cli("org", "show", "99999", code=1)


def case_org_rename(cli: Any) -> None:
    org = _made(cli, "Team Old")
    assert "renamed" in cli("org", "rename", str(org), "Team New")
    assert cli("org", "show", str(org)).startswith(f"#{org} Team New")


def case_org_invite(cli: Any) -> None:
    org = _joined(cli, "Team Invites")
    assert f"{DANA} invited to organisation #{org} as admin" in cli("org", "invite", str(org), DANA, "--role", "admin")
    assert "already a member" in cli("org", "invite", str(org), OWNER, code=1)
    assert "not an email address" in cli("org", "invite", str(org), "nobody", code=1)


def case_org_role(cli: Any) -> None:
    org = _joined(cli, "Team Roles")
    assert "keeps an owner" in cli("org", "role", str(org), OWNER, "member", code=1)
    cli("org", "invite", str(org), DANA)
    assert f"{DANA} is now admin (was member)" in cli("org", "role", str(org), DANA, "admin")


def case_org_remove(cli: Any) -> None:
    org = _joined(cli, "Team Removes")
    cli("org", "invite", str(org), DANA)
    assert f"{DANA} removed" in cli("org", "remove", str(org), DANA)
    assert "neither a member" in cli("org", "remove", str(org), DANA, code=1)
    assert "keeps an owner" in cli("org", "remove", str(org), OWNER, code=1)


def case_org_attach(cli: Any) -> None:
    org = _made(cli, "Team Licensed")
    assert "belongs to organisation" in cli("org", "attach", str(org), "1")
    assert json.loads(cli("org", "show", str(org), "--json"))["licenses"][0]["id"] == 1
    assert "no license 99999" in cli("org", "attach", str(org), "99999", code=1)


def case_org_detach(cli: Any) -> None:
    org = _made(cli, "Team Detached")
    cli("org", "attach", str(org), "2")
    assert "detached" in cli("org", "detach", str(org), "2")
    assert "holds no license 2" in cli("org", "detach", str(org), "2", code=1)


ORGANISATION_CASES: dict[tuple[str, ...], Callable[..., None]] = {
    ("org", "create"): case_org_create,
    ("org", "list"): case_org_list,
    ("org", "show"): case_org_show,
    ("org", "rename"): case_org_rename,
    ("org", "invite"): case_org_invite,
    ("org", "role"): case_org_role,
    ("org", "remove"): case_org_remove,
    ("org", "attach"): case_org_attach,
    ("org", "detach"): case_org_detach,
}
