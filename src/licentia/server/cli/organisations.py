"""``licentia org``: organisations, their members and the licenses they hold.

    licentia org create NAME [--owner EMAIL]
    licentia org list [--search TEXT] [--json]
    licentia org show ID [--json]
    licentia org rename ID NAME
    licentia org invite ID EMAIL [--role owner|admin|member]
    licentia org role ID EMAIL owner|admin|member
    licentia org remove ID EMAIL
    licentia org attach ID LICENSE_ID
    licentia org detach ID LICENSE_ID

An invited address gets an email with a link to accept in the portal, signed
in as that address; the link works once, for 7 days (docs/portal.md,
"Organisations"). An organisation always keeps an owner who joined. Every
change is audited with the operating system user as actor.
"""

from __future__ import annotations

import argparse

from licentia.server.cli.context import RawFormatter

TYPE_CHECKING = False  # typing is not imported: see cli/context.py
if TYPE_CHECKING:
    from typing import Any

    from licentia.server.cli.context import CliContext

COMMANDS = {"org": "organisations: create, rename, members and invitations, the licenses they hold"}
ROLES = ("owner", "admin", "member")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    group = commands.add_parser("org", help=COMMANDS["org"], description=__doc__, formatter_class=RawFormatter)
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("create", parents=[options], help="create an organisation (audited)")
    p.add_argument("name")
    p.add_argument("--owner", help="an address to invite as its owner (emailed)")
    p.set_defaults(run=create)
    p = actions.add_parser("list", parents=[options], help="the organisations with their counts")
    p.add_argument("--search", default="", help="in names and members' addresses")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=listing)
    p = actions.add_parser("show", parents=[options], help="one organisation: members and licenses")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=show)
    p = actions.add_parser("rename", parents=[options], help="rename an organisation (audited)")
    p.add_argument("id", type=int)
    p.add_argument("name")
    p.set_defaults(run=rename)
    p = actions.add_parser("invite", parents=[options], help="invite an address (emailed; audited)")
    p.add_argument("id", type=int)
    p.add_argument("email")
    p.add_argument("--role", choices=ROLES, default="member")
    p.set_defaults(run=invite)
    p = actions.add_parser("role", parents=[options], help="change a member's role (audited)")
    p.add_argument("id", type=int)
    p.add_argument("email")
    p.add_argument("role", choices=ROLES)
    p.set_defaults(run=role)
    p = actions.add_parser("remove", parents=[options], help="remove a member or withdraw an invitation (audited)")
    p.add_argument("id", type=int)
    p.add_argument("email")
    p.set_defaults(run=remove)
    for name, run, said in (
        ("attach", attach, "make a license the organisation's"),
        ("detach", detach, "detach a license"),
    ):
        p = actions.add_parser(name, parents=[options], help=f"{said} (audited)")
        p.add_argument("id", type=int)
        p.add_argument("license_id", type=int)
        p.set_defaults(run=run)


def _mailer(ctx: CliContext) -> Any:
    from licentia.server.organisations.members import Mailer

    return Mailer.of(ctx.settings, ctx.settings.fernet())


def _json(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, default=str)


def create(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.organisations.service import create_organisation

    made = ctx.change(create_organisation, name=args.name, owner=args.owner, mailer=_mailer(ctx))
    print(f"organisation #{made} created" + (f", {args.owner} invited as owner" if args.owner else ""))
    return 0


def listing(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.organisations.service import list_organisations

    found = ctx.read(list_organisations, search=args.search)
    if args.json:
        print(_json(found))
        return 0
    for o in found:
        print(f"#{o['id']}\t{o['name']}\t{o['members']} member(s)\t{o['licenses']} license(s)\t{o['created_at']}")
    return 0


def show(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.organisations.service import organisation_view

    org = ctx.read(organisation_view, organisation_id=args.id)
    if args.json:
        print(_json(org))
        return 0
    print(f"#{org['id']} {org['name']}")
    for m in org["members"]:
        print(f"  {m['role']}\t{m['email']}\t" + ("invited" if m["pending"] else f"joined {m['joined_at']}"))
    for lic in org["licenses"]:
        print(f"  license {lic['id']}\t{lic['key_prefix']}\t{lic['product']}\t{lic['state']}")
    return 0


def rename(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.organisations.service import rename_organisation

    ctx.change(rename_organisation, organisation_id=args.id, name=args.name)
    print(f"organisation #{args.id} renamed")
    return 0


def invite(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.organisations.members import invite as invite_member
    from licentia.server.organisations.roles import OrgRole

    ctx.change(
        invite_member, organisation_id=args.id, email=args.email, role=OrgRole(args.role), by=None, mailer=_mailer(ctx)
    )
    print(f"{args.email} invited to organisation #{args.id} as {args.role}")
    return 0


def role(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.organisations.members import change_role
    from licentia.server.organisations.roles import OrgRole

    previous = ctx.change(change_role, organisation_id=args.id, email=args.email, role=OrgRole(args.role), by=None)
    print(f"{args.email} is now {args.role} (was {previous.value})")
    return 0


def remove(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.organisations.members import remove as remove_member

    ctx.change(remove_member, organisation_id=args.id, email=args.email, by=None)
    print(f"{args.email} removed from organisation #{args.id}")
    return 0


def attach(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.organisations.service import attach_license

    ctx.change(attach_license, organisation_id=args.id, license_id=args.license_id)
    print(f"license {args.license_id} belongs to organisation #{args.id}")
    return 0


def detach(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.organisations.service import detach_license

    ctx.change(detach_license, organisation_id=args.id, license_id=args.license_id)
    print(f"license {args.license_id} detached from organisation #{args.id}")
    return 0
