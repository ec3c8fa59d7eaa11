"""``licentia device``: list and show devices (installations), change their status, extend a trial."""

from __future__ import annotations

import argparse

from licentia.core.vocabulary import DeviceStatus
from licentia.server.cli.context import CliContext, json_value

# The top-level commands this module registers, with their help lines (see build_parser).
COMMANDS = {
    "device": "list, show, change status, extend trial",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    group = commands.add_parser("device", parents=[options], help=COMMANDS["device"])
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("list", parents=[options], help="the most recently seen devices")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(run=list_devices)
    p = actions.add_parser("show", parents=[options], help="one device as JSON (its hashes left out)")
    p.add_argument("id")
    p.set_defaults(run=show)
    p = actions.add_parser(
        "set-status",
        parents=[options],
        help="block or suspend the device's machine, or lift that (every installation on it; audited)",
    )
    p.add_argument("id")
    p.add_argument("--status", required=True, choices=[status.value for status in DeviceStatus])
    p.add_argument("--reason", default="set by vendor", help="why: shown on the device page and kept in the audit log")
    p.set_defaults(run=set_status)
    p = actions.add_parser(
        "extend-trial",
        parents=[options],
        help="move the trial end of the device's machine later (every installation on it)",
    )
    p.add_argument("id")
    p.add_argument("--days", type=int, default=14)
    p.set_defaults(run=extend)


def list_devices(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.devices.reads import recent_devices

    with ctx.snapshot() as snapshot:
        for row in recent_devices(snapshot, args.limit):
            fields = [row["id"], row["status"], row["app_version"] or "-", f"{row['last_seen']:%Y-%m-%d %H:%M}"]
            if row["previous_id"]:  # a reinstall recognised without its credential: one installation with it
                fields.append(f"replaces {row['previous_id']}")
            print("\t".join(fields))
    return 0


def show(args: argparse.Namespace, ctx: CliContext) -> int:
    import json

    from licentia.server.devices.reads import device_view

    with ctx.snapshot() as snapshot:
        print(json.dumps(device_view(snapshot, args.id), indent=2, default=json_value))
    return 0


def set_status(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.devices.changes import get_device, set_device_status

    with ctx.engine.begin() as conn:
        set_device_status(
            conn, device_id=args.id, status=args.status, actor=ctx.actor, now=ctx.clock.now(), reason=args.reason
        )
        machine = get_device(conn, args.id).machine_id
    print(f"machine {machine} of device {args.id} (every installation on it) is now {args.status}")
    return 0


def extend(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.devices.changes import extend_trial, get_device

    with ctx.engine.begin() as conn:
        end = extend_trial(conn, device_id=args.id, days=args.days, actor=ctx.actor, now=ctx.clock.now())
        machine = get_device(conn, args.id).machine_id
    print(f"trial of machine {machine} (every installation on it) now ends {end:%Y-%m-%d %H:%M} UTC")
    return 0
