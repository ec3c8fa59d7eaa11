"""``licentia sso``: the OpenID Connect connections for single sign-on (docs/sso.md)."""

from __future__ import annotations

import argparse
import os

from licentia.server.cli.context import CliContext, CliError

# ``typing`` itself costs the CLI's start a tenth: names for the type checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from licentia.server.sso.connections import Connection

# The top-level commands this module registers, with their help lines (see build_parser).
COMMANDS = {"sso": "single sign-on: add, list and remove OpenID Connect connections"}
# Where ``sso add`` reads the client secret when ``--client-secret`` is not given (kept out of shell history).
SECRET_VARIABLE = "LICENTIA_SSO_CLIENT_SECRET"  # noqa: S105 (a variable's name)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    group = commands.add_parser("sso", parents=[options], help=COMMANDS["sso"])
    actions = group.add_subparsers(dest="sso_action", required=True, metavar="ACTION")
    p = actions.add_parser("add", parents=[options], help="add a connection to an identity provider")
    p.add_argument("purpose", choices=("admin", "portal"), help="admin: the admin UI; portal: an organisation's")
    p.add_argument("--name", required=True, help='shown on the button: "Sign in with NAME"')
    p.add_argument("--issuer", required=True, help="the provider's issuer URL, exactly as its discovery names it")
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", help=f"the client secret (default: the {SECRET_VARIABLE} variable)")
    p.add_argument("--domain", action="append", default=[], help="an email domain it answers for (repeatable)")
    p.add_argument("--organisation", type=int, help="the organisation's id (portal connections)")
    p.add_argument("--create-admins", metavar="ROLE", help="admin connections: make unknown addresses admins")
    p.set_defaults(run=add)
    p = actions.add_parser("list", parents=[options], help="list the connections (never their secrets)")
    p.set_defaults(run=list_all)
    p = actions.add_parser("remove", parents=[options], help="remove a connection")
    p.add_argument("connection_id", type=int)
    p.set_defaults(run=remove)


def _line(found: Connection) -> str:
    domains = " ".join(found.email_domains) or "any domain"
    extra = f"  organisation {found.organisation_id}" if found.organisation_id else ""
    if found.new_admin_role:
        extra += f"  creates admins as {found.new_admin_role}"
    return f"#{found.id} {found.purpose}  {found.name}  {found.issuer}  client {found.client_id}  {domains}{extra}"


def add(args: argparse.Namespace, ctx: CliContext) -> int:
    from pydantic import ValidationError

    from licentia.server.sso.connections import ConnectionSpec, add_connection, get_connection

    secret = args.client_secret or os.environ.get(SECRET_VARIABLE, "")
    if not secret:
        raise CliError(f"give the client secret with --client-secret or the {SECRET_VARIABLE} variable")
    try:
        spec = ConnectionSpec(
            purpose=args.purpose,
            name=args.name,
            issuer=args.issuer,
            client_id=args.client_id,
            client_secret=secret,
            email_domains=args.domain,
            organisation_id=args.organisation,
            new_admin_role=args.create_admins,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CliError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from exc
    fernet = ctx.settings.fernet()
    made = ctx.change(add_connection, spec=spec, fernet=fernet)
    print(_line(ctx.read(get_connection, connection_id=made)))
    print(f"the provider's redirect URI: {ctx.settings.base_url.rstrip('/')}/{args.purpose}/sso/callback")
    return 0


def list_all(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.sso.connections import list_connections

    found = ctx.read(list_connections)
    for connection in found:
        print(_line(connection))
    if not found:
        print("no single sign-on connections; add one with: licentia sso add admin|portal --issuer URL ...")
    return 0


def remove(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.sso.connections import remove_connection

    ctx.change(remove_connection, connection_id=args.connection_id)
    print(f"removed connection #{args.connection_id}")
    return 0
