"""``licentia``: run and operate the server.

One module per command group, registered from :data:`GROUPS` in the order
``--help`` lists them. A command is a parser (its argument rules included)
and a ``run(args, ctx)`` function; ``ctx`` is the :class:`CliContext` that
loads settings and opens the database only when the command asks.

Every command prints a one-line error and exits non-zero on bad input; no
traceback reaches the user (``LICENTIA_DEBUG=1`` shows one). Building the
parser imports only the standard library, so ``--help`` and the read-only
commands start in a few times Python's own start (``bench/cold_start.py --only licentia``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from licentia.server.cli import (
    admin,
    data,
    devices,
    evidence,
    licenses,
    notify,
    organisations,
    payments,
    policies,
    products,
    serve,
    sso,
    tickets,
)
from licentia.server.cli.context import CliContext, CliError, Parser, command_options, global_options

__all__ = ["GROUPS", "CliContext", "CliError", "build_parser", "main"]

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
GROUPS = (
    serve,
    products,
    policies,
    licenses,
    devices,
    tickets,
    organisations,
    admin,
    sso,
    evidence,
    notify,
    payments,
    data,
)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command tree; given ``argv``, only the branches of the commands it names.

    Every other command is a stub with its name and help line, which is all
    ``licentia --help`` and argparse's "invalid choice" need: building the
    thirty-odd parsers of the whole tree costs more than a read-only
    command's own work.
    """
    parser = Parser(prog="licentia", description="Run and operate a Licentia server.")
    parser.add_argument("--version", action="version", version=f"licentia {serve.version()}")
    global_options(parser, default=None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    options = command_options()
    named = None if argv is None else set(argv)
    for group in GROUPS:
        if named is None or named & group.COMMANDS.keys():
            group.register(commands, options)
        else:
            for name, summary in group.COMMANDS.items():
                commands.add_parser(name, help=summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(given).parse_args(given)
    ctx = CliContext.from_args(args)
    try:
        return int(args.run(args, ctx) or 0)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``licentia device list | head``): nothing left to tell anyone.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as exc:
        if os.environ.get("LICENTIA_DEBUG"):
            raise
        print(f"licentia: error: {describe(exc)}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        ctx.close()


def describe(exc: BaseException) -> str:
    """One line for the user: what went wrong, without a traceback."""
    module = type(exc).__module__
    if module.startswith("pydantic") and hasattr(exc, "errors"):  # bad settings (environment or TOML)
        first = exc.errors()[0]
        return f"bad setting {'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if module.startswith("sqlalchemy"):
        orig = getattr(exc, "orig", None)
        message = f"database error: {type(orig or exc).__name__}: {str(orig or exc).splitlines()[0]}"
    return str(message)
