"""``licentia evidence``: risk, reports, verification and fact purge; ``licentia product facts``.

    licentia evidence KEY_OR_PREFIX [--format csv|json|html] [--output FILE]
    licentia evidence --device ID [--format ...]
    licentia evidence risk KEY_OR_PREFIX | --device ID
    licentia evidence verify FILE --public-key KEY_OR_FILE
    licentia evidence purge [--product SLUG]
    licentia product facts SLUG --enable|--disable [--retention-days N]

A full license key typed here is matched by its hash and never printed back;
reports show the key prefix only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ACTIONS = ("report", "risk", "verify", "purge")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "evidence",
        parents=[common],
        help="piracy risk and evidence reports per license key or device; verify; purge old facts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("words", nargs="*", metavar="[risk|verify|purge] KEY_OR_PREFIX|FILE")
    p.add_argument("--device", help="report on one device (installation) instead of a license key")
    p.add_argument("--format", choices=["csv", "json", "html"], default="json", help="report format (default json)")
    p.add_argument("--output", "-o", help="write the report to this file instead of standard output")
    p.add_argument("--public-key", help="verify: the product's public key (ed25519:...) or a file holding it")
    p.add_argument("--product", help="purge: only this product; verify: the product the report must be for")
    p.set_defaults(func=cmd_evidence)


def cmd_product_facts(args: argparse.Namespace) -> int:
    """``licentia product facts SLUG``: show, or switch, client-fact collection and retention."""
    from licentia.cli import _actor, connect
    from licentia.core.clock import SystemClock
    from licentia.server.products.changes import change_privacy
    from licentia.server.products.service import get_product

    _, engine = connect(args)
    with engine.begin() as conn:
        row = get_product(conn, args.slug)
        if args.enable or args.disable or args.retention_days is not None:
            change_privacy(
                conn,
                product_id=row.id,
                collect_facts=bool(args.enable) if (args.enable or args.disable) else row.collect_facts,
                retention_days=row.facts_retention_days if args.retention_days is None else args.retention_days,
                actor=_actor(),
                now=SystemClock().now(),
            )
            row = get_product(conn, args.slug)
    state = "on" if row.collect_facts else "off"
    print(f"client facts for {row.slug}: {state}; facts kept {row.facts_retention_days} days")
    return 0


def cmd_evidence(args: argparse.Namespace) -> int:
    from licentia.cli import CliError

    words = list(args.words)
    action = words.pop(0) if words and words[0] in ACTIONS else "report"
    if action == "verify":
        if len(words) != 1 or not args.public_key:
            raise CliError("evidence verify needs FILE and --public-key")
        return _verify(Path(words[0]), args.public_key, args.product)
    if action == "purge":
        return _purge(args)
    if bool(words) == bool(args.device) or len(words) > 1:
        raise CliError(f"evidence {action} needs one license key (or prefix, or id) or --device ID")
    return _risk(args, words) if action == "risk" else _report(args, words)


def _subject(conn: Any, args: argparse.Namespace, words: list[str]) -> Any:
    from licentia.server.evidence.subjects import device_subject, license_subject

    return device_subject(conn, args.device) if args.device else license_subject(conn, words[0])


def _risk(args: argparse.Namespace, words: list[str]) -> int:
    from licentia.cli import connect
    from licentia.server.evidence.risk import assess
    from licentia.server.store.engine import private_output

    _, engine = connect(args)
    try:
        with engine.connect() as conn:
            subject = _subject(conn, args, words)
    finally:
        engine.dispose()
    risk = assess(subject)
    if args.format == "json" and args.output:
        # Customer names and client facts: private from creation, like every export.
        with private_output(Path(args.output)) as path:
            path.write_text(json.dumps({"subject": subject.label, **risk.as_dict()}, indent=2) + "\n")
        return 0
    print(f"{subject.label}: risk {risk.score}/100 ({risk.level})")
    for factor in risk.factors:
        print(f"  {factor.name:<22} {factor.points:>3}/{factor.weight:<3} {factor.sentence}")
    return 0


def _report(args: argparse.Namespace, words: list[str]) -> int:
    from licentia.cli import connect
    from licentia.core.clock import SystemClock
    from licentia.server.evidence.report import html, signed_json, tsv
    from licentia.server.evidence.signing import product_signer
    from licentia.server.store.engine import private_output

    settings, engine = connect(args)
    now = SystemClock().now()
    try:
        with engine.connect() as conn:
            subject = _subject(conn, args, words)
            if args.format == "json":
                signer, chain = product_signer(conn, subject.product.id, settings.fernet())
                body = signed_json(subject, now=now, signer=signer, endorsements=chain)
            else:
                body = (tsv(subject) if args.format == "csv" else html(subject, now=now)).encode("utf-8")
    finally:
        engine.dispose()
    if args.output:
        with private_output(Path(args.output)) as path:
            path.write_bytes(body)
        print(f"{subject.label}: {len(subject.events)} events written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(body + (b"\n" if args.format == "json" else b""))
        sys.stdout.flush()
    return 0


def _verify(path: Path, public_key: str, product: str | None) -> int:
    from licentia.cli import CliError
    from licentia.core.signing import InvalidDocument, load_public_key, verify_document

    key_text = public_key
    if not key_text.startswith("ed25519:") and Path(key_text).is_file():
        key_text = Path(key_text).read_text().strip()
    try:
        kid, key = load_public_key(key_text)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    raw = path.read_bytes()
    try:
        unverified_product = product or json.loads(raw)["document"]["product"]
        payload = verify_document(raw, {kid: key}, product=str(unverified_product))
    except (InvalidDocument, ValueError, KeyError, TypeError) as exc:
        raise CliError(f"{path}: NOT a genuine evidence report for this key ({exc})") from exc
    if payload.get("kind") != "evidence_report":
        raise CliError(f"{path}: signed by this key, but not an evidence report")
    print(
        f"{path}: genuine evidence report for {payload['subject']['label']} of {payload['product']}, "
        f"issued {payload['issued_at']}, {len(payload['events'])} events"
    )
    return 0


def _purge(args: argparse.Namespace) -> int:
    from licentia.cli import connect
    from licentia.core.clock import SystemClock
    from licentia.server.evidence.retention import purge_facts

    _, engine = connect(args)
    try:
        done = purge_facts(engine, now=SystemClock().now(), product=args.product)
    finally:
        engine.dispose()
    print(f"facts blanked on {done.events} events and {done.devices} devices")
    return 0
