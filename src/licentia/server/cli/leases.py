"""``licentia license leases REF`` and ``licentia license release-lease REF LEASE``: a license's floating seats."""

from __future__ import annotations

import argparse

# ``typing`` itself costs the CLI's start a tenth: names for the type checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from licentia.server.cli.context import CliContext


HOLD = {True: "machine holds", False: "machines hold"}


def register(actions: Any, options: argparse.ArgumentParser) -> None:
    """Add the lease actions to ``licentia license`` (called by cli/licenses.py)."""
    p = actions.add_parser("leases", parents=[options], help="a floating license's leases, live ones first")
    p.add_argument("ref", metavar="LICENSE", help="license id, full key or key prefix")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=show)
    p = actions.add_parser("release-lease", parents=[options], help="free a floating lease's seat now (audited)")
    p.add_argument("ref", metavar="LICENSE", help="license id, full key or key prefix")
    p.add_argument("lease", help="the lease id (ls_...)")
    p.set_defaults(run=release)


def show(args: argparse.Namespace, ctx: CliContext) -> int:
    import json

    from licentia.server.evidence.subjects import find_license
    from licentia.server.leases.vendor import license_leases

    with ctx.engine.connect() as conn:
        lic = find_license(conn, args.ref)
        found = license_leases(conn, license_id=lic.id, now=ctx.clock.now())
    if args.json:
        print(json.dumps(found, default=lambda v: v.isoformat().replace("+00:00", "Z"), indent=2))
        return 0
    print(f"license {lic.key_prefix} (id {lic.id}): {found['seats_used']} {HOLD[found['seats_used'] == 1]} a seat")
    for lease in found["leases"]:
        ends = lease["ended_at"] or lease["expires_at"]
        borrowed = " borrowed" if lease["borrowed_until"] else ""
        line = f"{lease['id']}\t{lease['state']}{borrowed}\tmachine {lease['machine_id']}\tdevice {lease['device_id']}"
        print(f"{line}\t{'ended' if lease['ended_at'] else 'ends'} {ends:%Y-%m-%d %H:%M:%S}Z")
    return 0


def release(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.evidence.subjects import find_license
    from licentia.server.leases.vendor import force_release

    with ctx.engine.begin() as conn:
        lic = find_license(conn, args.ref)
        view = force_release(conn, license_id=lic.id, lease_id=args.lease, actor=ctx.actor, now=ctx.clock.now())
    print(f"lease {view['id']} is {view['state'].replace('_', ' ')}: its seat is free")
    return 0
