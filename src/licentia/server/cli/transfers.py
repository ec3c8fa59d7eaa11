"""``licentia license transfers REF``: a license's moves to another machine; ``--grant N`` or ``--reset`` (audited)."""

from __future__ import annotations

import argparse

# ``typing`` itself costs the CLI's start a tenth: names for the type checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from licentia.server.cli.context import CliContext


def register(actions: Any, options: argparse.ArgumentParser) -> None:
    """Add ``transfers`` to ``licentia license`` (called by cli/licenses.py)."""
    p = actions.add_parser(
        "transfers",
        parents=[options],
        help="a license's moves to another machine: show, allow more (--grant N) or reset the count",
    )
    p.add_argument("ref", metavar="LICENSE", help="license id, full key or key prefix")
    change = p.add_mutually_exclusive_group()
    change.add_argument("--grant", type=int, metavar="N", help="allow N more moves beyond the type's limit (1-1000)")
    change.add_argument("--reset", action="store_true", help="forgive the moves counted in the current period")
    p.add_argument("--reason", help="why (a stolen laptop, an office move): kept in the audit log")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=transfers)


def transfers(args: argparse.Namespace, ctx: CliContext) -> int:
    import json

    from licentia.server.devices.transfers import grant_transfers, license_transfers, reset_transfers
    from licentia.server.evidence.subjects import find_license

    now = ctx.clock.now()
    with ctx.engine.begin() as conn:
        lic = find_license(conn, args.ref)
        if args.grant is not None:
            found = grant_transfers(
                conn, license_id=lic.id, transfers=args.grant, reason=args.reason, actor=ctx.actor, now=now
            )
        elif args.reset:
            found = reset_transfers(conn, license_id=lic.id, reason=args.reason, actor=ctx.actor, now=now)
        else:
            found = license_transfers(conn, lic.id, now)
    if args.json:
        shown = {"license_id": lic.id, **found.as_dict()}
        print(json.dumps(shown, default=lambda v: v.isoformat().replace("+00:00", "Z"), indent=2))
        return 0
    counted = f"{found.used} moves to another machine in the last {found.period_days} days"
    if found.limit is None:
        print(f"license {lic.key_prefix} (id {lic.id}): {counted}; its type sets no limit")
        return 0
    line = f"license {lic.key_prefix} (id {lic.id}): {counted}, limit {found.limit}"
    if found.extra:
        line += f", {found.extra} more allowed by staff"
    line += f": {found.left} left"
    if found.next_transfer_at is not None:
        line += f", the next from {found.next_transfer_at:%Y-%m-%d %H:%M}Z"
    print(line)
    return 0
