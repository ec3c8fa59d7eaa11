"""``licentia license offline-activate`` and ``offline-deactivate``: the vendor's side of air-gapped activation.

Standard library only at import (the parser is built on every ``licentia`` start).
"""

from __future__ import annotations

import argparse
import os
import sys

from licentia.server.cli.context import CliContext, CliError

DEFAULT_LEASE_DAYS = 365  # server.offline.service.DEFAULT_LEASE_DAYS, without importing the server


def register(actions: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    p = actions.add_parser(
        "offline-activate", parents=[options], help="answer an offline machine's activation request (takes a seat)"
    )
    p.add_argument("request", help="the activation request file (- for stdin)")
    p.add_argument("-o", "--output", help="write the activation response here (else stdout)")
    p.add_argument(
        "--lease-days",
        type=int,
        default=DEFAULT_LEASE_DAYS,
        help=f"how long the machine runs on the response without checking in (default {DEFAULT_LEASE_DAYS})",
    )
    p.set_defaults(run=offline_activate)
    p = actions.add_parser(
        "offline-deactivate", parents=[options], help="free an offline machine's seat with the proof it wrote"
    )
    p.add_argument("proof", help="the deactivation proof file (- for stdin)")
    p.set_defaults(run=offline_deactivate)


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return handle.read(1 << 20)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc


def offline_activate(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.devices.service import Checker
    from licentia.server.offline.service import answer_request, read_request
    from licentia.server.products.service import Keyring

    request = read_request(_read(args.request))
    checker = Checker(Keyring(ctx.settings.fernet()), product_ttl_seconds=0)
    with ctx.engine.begin() as conn:
        done = answer_request(
            conn, checker=checker, request=request, lease_days=args.lease_days, actor=ctx.actor, now=ctx.clock.now()
        )
    if not args.output or args.output == "-":
        sys.stdout.write(done.response)
        return 0
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as handle:
        handle.write(done.response)
    print(
        f"activated device {done.device} on license {done.license_id} until {done.lease_until:%Y-%m-%d}; "
        f"response written to {args.output}"
    )
    return 0


def offline_deactivate(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.offline.service import deactivate

    done = ctx.change(deactivate, proof=_read(args.proof))
    freed = "seat freed" if done.seat_freed else "it held no seat any more"
    print(f"offline activation {done.activation} of license {done.license_id} ended: {freed}")
    return 0
