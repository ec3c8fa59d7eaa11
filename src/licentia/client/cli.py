"""``licentia-client``: the SDK from a shell, for testing and for applications not written in Python.

Exit status: 0 allowed (or done), 1 denied (or refused, or still queued),
2 usage or configuration error. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from licentia.client._client import Licentia
from licentia.client._exceptions import (
    ConfigurationError,
    InvalidAnswer,
    InvalidKey,
    LicentiaError,
    Offline,
    QuotaExceeded,
    ServerRefused,
)
from licentia.client.events import FlushResult
from licentia.client.meters import Consumption
from licentia.client.status import Status

EXIT_ALLOWED, EXIT_DENIED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"licentia-client: {message}\n")


def _options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    env = os.environ.get
    parser.add_argument("--server", default=default(env("LICENTIA_SERVER")), help="server URL ($LICENTIA_SERVER)")
    parser.add_argument("--product", default=default(env("LICENTIA_PRODUCT")), help="product slug ($LICENTIA_PRODUCT)")
    parser.add_argument(
        "--public-key",
        default=default(env("LICENTIA_PUBLIC_KEY")),
        help="the product's public key, or @FILE ($LICENTIA_PUBLIC_KEY)",
    )
    parser.add_argument(
        "--data-dir",
        default=default(env("LICENTIA_CLIENT_DATA_DIR")),
        help="state directory ($LICENTIA_CLIENT_DATA_DIR)",
    )
    parser.add_argument("--app-version", default=default(env("LICENTIA_APP_VERSION")), help="the application's version")
    parser.add_argument("--timeout", type=float, default=default(3.0), help="seconds to wait for the server")
    parser.add_argument("--json", action="store_true", default=default(False), help="print JSON")
    parser.add_argument("--fingerprint-root", default=default(None), help=argparse.SUPPRESS)  # fake trees in tests


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="licentia-client", description="Licentia client: check, activate, report.")
    _options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    common = _Parser(add_help=False)
    _options(common, suppress=True)
    check = sub.add_parser("check", parents=[common], help="this installation's status")
    check.add_argument("--offline", action="store_true", help="answer from the stored document only")
    sub.add_parser("activate", parents=[common], help="redeem a license key").add_argument("key")
    deactivate = sub.add_parser("deactivate", parents=[common], help="free this device's seat")
    deactivate.add_argument("--offline", action="store_true", help="air-gapped: end the offline activation here")
    deactivate.add_argument("-o", "--output", help="with --offline: write the deactivation proof here (else stdout)")
    request = sub.add_parser("activation-request", parents=[common], help="air-gapped: write an activation request")
    request.add_argument("key")
    request.add_argument("-o", "--output", help="write the request here (else stdout)")
    response = sub.add_parser("activation-response", parents=[common], help="air-gapped: install the vendor's response")
    response.add_argument("file", help="the activation response file (- for stdin)")
    _lease_commands(sub, common)
    move = sub.add_parser("move", parents=[common], help="adopt the installation of a previous data folder")
    move.add_argument("--from", dest="old_data_dir", required=True, help="the previous data folder on this computer")
    sub.add_parser("fingerprint", parents=[common], help="show the hashed fingerprint")
    sub.add_parser("flush", parents=[common], help="send queued events")
    sub.add_parser("uninstall", parents=[common], help="report an uninstall")
    sub.add_parser("feedback", parents=[common], help="send feedback text").add_argument("text")
    consume = sub.add_parser("consume", parents=[common], help="count units of a meter (online); prints what remains")
    consume.add_argument("meter")
    consume.add_argument("amount", type=int, nargs="?", default=1)
    consume.add_argument("--idempotency-key", help="the same key on a retry is counted once")
    verify = sub.add_parser(
        "verify", parents=[common], help="check a signed file offline: status document, purchase certificate, report"
    )
    verify.add_argument("file")
    return parser


def _lease_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """``checkout``, ``heartbeat``, ``release``: floating leases from a shell (client/leases.py)."""
    checkout = sub.add_parser("checkout", parents=[common], help="check out a floating seat (prints the lease)")
    checkout.add_argument("key")
    checkout.add_argument("--borrow-days", type=int, help="borrow the seat for offline use for this many days")
    for name, what in (("heartbeat", "keep a lease for another lease time"), ("release", "return a lease's seat")):
        sub.add_parser(name, parents=[common], help=what).add_argument(
            "lease", nargs="?", help="the lease id (default: the lease kept in the data directory)"
        )


def _lease_out(args: argparse.Namespace, lease: Any) -> int:
    data = {"lease": lease.id, "state": lease.state, "valid": lease.valid, "borrowed": lease.borrowed}
    data.update(expires_at=lease.expires_at.isoformat().replace("+00:00", "Z"), online=lease.online)
    ends = f"{'borrowed' if lease.borrowed else 'ends'} until {data['expires_at']}"
    _emit(args, f"lease {lease.id}: {lease.state}, {ends}", data)
    return EXIT_ALLOWED if lease.valid else EXIT_DENIED


def _run_lease(args: argparse.Namespace, lic: Licentia) -> int:
    from licentia.client.leases import heartbeat_lease, release_lease

    if args.command == "checkout":
        return _lease_out(args, lic.checkout(args.key, borrow_days=args.borrow_days, heartbeats=False))
    if args.command == "heartbeat":
        return _lease_out(args, heartbeat_lease(lic, args.lease))
    state = release_lease(lic, args.lease)
    _emit(args, f"lease {state}", {"state": state})
    return EXIT_ALLOWED


def _public_key(text: str) -> list[str]:
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as exc:
            raise ConfigurationError(f"cannot read the public key file: {exc.strerror}") from exc
    keys = [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]
    if not keys:
        raise ConfigurationError("the public key is empty")
    return keys


def _licentia(args: argparse.Namespace) -> Licentia:
    missing = [name for name in ("server", "product", "public_key") if not getattr(args, name)]
    if missing:
        flags = ", ".join("--" + m.replace("_", "-") for m in missing)
        raise ConfigurationError(f"missing {flags} (or the LICENTIA_* environment variables)")
    return Licentia(
        args.server,
        args.product,
        _public_key(args.public_key),
        args.data_dir,
        timeout=args.timeout,
        app_version=args.app_version,
        fingerprint_root=args.fingerprint_root,
    )


def _status_line(status: Status) -> str:
    verdict = "allowed" if status.allowed else "denied"
    parts = [f"{verdict}: {status.state}"]
    if status.days_left is not None and status.allowed:
        parts.append(f"{status.days_left} days left")
    if status.reason:
        parts.append(f"reason {status.reason}")
    parts.append("online" if status.online else "offline")
    if status.device:
        parts.append(f"device {status.device}")
    return ", ".join(parts)


def _emit(args: argparse.Namespace, text: str, data: dict[str, Any]) -> None:
    print(json.dumps(data, sort_keys=True) if args.json else text)


def _status_out(args: argparse.Namespace, status: Status) -> int:
    data = status.as_dict()
    data["features"] = list(status.features)
    _emit(args, _status_line(status), data)
    return EXIT_ALLOWED if status.allowed else EXIT_DENIED


def _flush_out(args: argparse.Namespace, what: str, result: FlushResult) -> int:
    data = {"sent": result.sent, "duplicates": result.duplicates, "dropped": result.dropped}
    data["remaining"] = result.remaining
    _emit(args, f"{what}: {result.sent} sent, {result.remaining} still queued", data)
    return EXIT_ALLOWED if result.remaining == 0 else EXIT_DENIED


def _file_out(args: argparse.Namespace, what: str, text: str) -> int:
    """Print an air-gapped activation file, or write it (0600: a request carries the license key)."""
    if not args.output or args.output == "-":
        sys.stdout.write(text)
        return EXIT_ALLOWED
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as handle:
        handle.write(text)
    _emit(args, f"{what} written to {args.output}", {"written": args.output})
    return EXIT_ALLOWED


def _verify(args: argparse.Namespace) -> int:
    """Offline: only the product's public key is needed (no server, no product slug)."""
    from licentia.client.status import pinned_keys
    from licentia.core.documents import describe, verify_any
    from licentia.core.signing import InvalidDocument

    if not args.public_key:
        raise ConfigurationError("verify needs the product's public key: --public-key (or $LICENTIA_PUBLIC_KEY)")
    keys = pinned_keys(_public_key(args.public_key))
    raw = Path(args.file).read_bytes()
    try:
        kind, payload = verify_any(raw, keys, product=args.product or None)
    except InvalidDocument as exc:
        _emit(args, f"{args.file}: NOT genuine ({exc})", {"genuine": False, "reason": str(exc)})
        return EXIT_DENIED
    _emit(args, "\n".join(describe(kind, payload)), {"genuine": True, "kind": kind, "document": payload})
    return EXIT_ALLOWED


def _consumption_out(args: argparse.Namespace, used: Consumption) -> int:
    data = used.as_dict()
    data["period_start"] = used.period_start.isoformat()
    data["period_end"] = used.period_end.isoformat() if used.period_end else None
    until = f"until {used.period_end:%Y-%m-%d}" if used.period_end else "never resets"
    _emit(args, f"{used.meter}: {used.remaining} of {used.limit} left this {used.period} ({until})", data)
    return EXIT_ALLOWED


def run(args: argparse.Namespace) -> int:
    if args.command == "verify":
        return _verify(args)
    lic = _licentia(args)
    command = args.command
    if command == "check":
        return _status_out(args, lic.check(online=not args.offline))
    if command == "activate":
        return _status_out(args, lic.activate(args.key))
    if command == "deactivate" and args.offline:
        return _file_out(args, "deactivation proof", lic.deactivate_offline())
    if command == "deactivate":
        return _status_out(args, lic.deactivate())
    if command == "activation-request":
        return _file_out(args, "activation request", lic.activation_request(args.key))
    if command == "activation-response":
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(errors="replace")
        return _status_out(args, lic.install_activation(text))
    if command == "move":
        return _status_out(args, lic.move_from(args.old_data_dir))
    if command in ("checkout", "heartbeat", "release"):
        return _run_lease(args, lic)
    if command == "fingerprint":
        fp = lic.fingerprint()
        data = {**fp.to_request(), "used": list(fp.used), "virtual_signals": list(fp.virtual_signals)}
        _emit(args, f"components {', '.join(fp.used) or 'none'}; virtual {fp.virtual}; data path {fp.data_path}", data)
        return EXIT_ALLOWED
    if command == "flush":
        return _flush_out(args, "flush", lic.flush(timeout=max(args.timeout, 10.0)))
    if command == "uninstall":
        return _flush_out(args, "uninstall reported", lic.uninstall())
    if command == "feedback":
        lic.feedback(args.text)
        return _flush_out(args, "feedback", lic.flush())
    if command == "consume":
        try:
            return _consumption_out(args, lic.consume(args.meter, args.amount, idempotency_key=args.idempotency_key))
        except QuotaExceeded as exc:
            _consumption_out(args, exc.consumption)
            raise
    raise ConfigurationError(f"unknown command {command!r}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except ConfigurationError as exc:
        code, message = EXIT_USAGE, f"configuration error: {exc}"
    except InvalidKey as exc:
        code, message = EXIT_DENIED, f"invalid key: {exc}"
    except ServerRefused as exc:
        code, message = EXIT_DENIED, f"refused: {exc.code}: {exc.message}"
    except InvalidAnswer as exc:  # an answer (or a response file) that does not verify: nothing was kept
        code, message = EXIT_DENIED, f"not accepted: {exc}"
    except Offline as exc:
        code, message = EXIT_DENIED, f"offline: {exc}"
    except LicentiaError as exc:
        code, message = EXIT_DENIED, f"error: {exc}"
    except (OSError, ValueError) as exc:
        code, message = EXIT_USAGE, f"error: {exc}"
    except KeyboardInterrupt:
        code, message = EXIT_DENIED, "interrupted"
    except Exception as exc:  # a bug of ours: still one line for the shell script that called us
        code, message = EXIT_DENIED, f"internal error ({type(exc).__name__}): {exc}; please report it"
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "exit": code}))
    print(f"licentia-client: {message}", file=sys.stderr)
    return code
