"""``licentia ticket``: installer tickets, the signed token in every distributed copy.

    licentia ticket mint --product SLUG [--release VERSION] [--customer ID] [--license ID] --out FILE
    licentia ticket list [--product SLUG] [--json]

Put the minted file (``licentia-ticket.json``) beside the installer, or inside
its archive (docs/integrate-python.md, "installer tickets"). The first
computer that starts from it starts its token chain from it; another computer
starting from the same file is recorded as a copy of that download.
"""

from __future__ import annotations

import argparse

from licentia.server.cli.context import RawFormatter

TYPE_CHECKING = False  # typing is not imported: see cli/context.py
if TYPE_CHECKING:
    from licentia.server.cli.context import CliContext

COMMANDS = {"ticket": "installer tickets: mint one per download, list them with their installations and copies"}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    group = commands.add_parser("ticket", help=COMMANDS["ticket"], description=__doc__, formatter_class=RawFormatter)
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("mint", parents=[options], help="sign and store a ticket for one download (audited)")
    p.add_argument("--product", required=True, help="the product's slug")
    p.add_argument("--release", help="the release's version the download carries")
    p.add_argument("--customer", type=int, help="the customer's id the download is for")
    p.add_argument("--license", type=int, help="the license's id the download is for (names its customer)")
    p.add_argument("--out", required=True, help="the file to write (licentia-ticket.json)")
    p.set_defaults(run=mint)
    p = actions.add_parser("list", parents=[options], help="the newest tickets with their installations and copies")
    p.add_argument("--product", help="only this product's")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=show)


def mint(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.tickets.service import Download, mint_ticket

    download = Download(args.product, args.release, args.customer, args.license)
    minted = ctx.change(mint_ticket, download=download, fernet=ctx.settings.fernet())
    with open(args.out, "wb") as handle:
        handle.write(minted.signed)
    print(minted.id)
    return 0


def show(args: argparse.Namespace, ctx: CliContext) -> int:
    import json

    from licentia.server.tickets.service import list_tickets

    found = ctx.read(list_tickets, product=args.product)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    for t in found:
        bought = f"license {t['license_id']}" if t["license_id"] else f"customer {t['customer_id'] or '-'}"
        print(
            f"{t['id']}\t{t['product']}\t{t['release'] or '-'}\t{t['source']}\t{bought}\t{t['issued_at']}"
            f"\t{t['installations']} installation(s)\t{t['copies']} copy(ies)"
        )
    return 0
