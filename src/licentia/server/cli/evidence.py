"""``licentia evidence``: piracy risk and signed evidence reports, their verification, and the fact purge.

    licentia evidence KEY_OR_PREFIX [--format csv|json|html] [--output FILE]
    licentia evidence --device ID [--format ...]
    licentia evidence risk KEY_OR_PREFIX | --device ID
    licentia evidence verify FILE --public-key KEY_OR_FILE   (a report, a purchase certificate or a status document)
    licentia evidence purge [--product SLUG]
    licentia evidence note KEY_OR_PREFIX | --device ID | --machine ID  --text TEXT   ("-": read it from stdin)
    licentia evidence notes KEY_OR_PREFIX | --device ID | --machine ID

A full license key typed here is matched by its hash and never printed back;
reports show the key prefix only. A case note is the vendor's own words on a
license, a device or a machine (audited; reports carry it). (``licentia product
facts`` switches fact collection: see cli/products.py.)
"""

from __future__ import annotations

import argparse
import sys

from licentia.server.cli.context import CliContext, CliError, RawFormatter

TYPE_CHECKING = False  # typing is not imported: see cli/context.py
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

ACTIONS = ("report", "risk", "verify", "purge", "note", "notes")

# The top-level commands this module registers, with their help lines (see build_parser).
COMMANDS = {
    "evidence": "piracy risk and evidence reports per license key or device; verify; purge old facts",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    # The report is the default action (``licentia evidence KEY``), so the verb is a word, not a subparser.
    p = commands.add_parser(
        "evidence",
        parents=[options],
        help=COMMANDS["evidence"],
        description=__doc__,
        formatter_class=RawFormatter,
    )
    p.add_argument("words", nargs="*", metavar="[risk|verify|purge|note|notes] KEY_OR_PREFIX|FILE")
    p.add_argument("--device", help="report on one device (installation) instead of a license key")
    p.add_argument("--machine", help="note, notes: a machine (a device's machine) instead of a license key")
    p.add_argument("--text", help="note: the case note (up to 2,000 characters; - reads it from standard input)")
    p.add_argument("--format", choices=["csv", "json", "html"], default="json", help="report format (default json)")
    p.add_argument("--output", "-o", help="write the report to this file instead of standard output")
    p.add_argument("--public-key", help="verify: the product's public key (ed25519:...) or a file holding it")
    p.add_argument("--product", help="purge: only this product; verify: the product the report must be for")
    p.set_defaults(run=evidence)


def evidence(args: argparse.Namespace, ctx: CliContext) -> int:
    from pathlib import Path

    words = list(args.words)
    action = words.pop(0) if words and words[0] in ACTIONS else "report"
    if action == "verify":
        if len(words) != 1 or not args.public_key:
            raise CliError("evidence verify needs FILE and --public-key")
        return _verify(Path(words[0]), args.public_key, args.product)
    if action == "purge":
        return _purge(args, ctx)
    if action in ("note", "notes"):
        return _notes(args, ctx, words, add=action == "note")
    if bool(words) == bool(args.device) or len(words) > 1:
        raise CliError(f"evidence {action} needs one license key (or prefix, or id) or --device ID")
    return _risk(args, ctx, words) if action == "risk" else _report(args, ctx, words)


def _subject(conn: Any, args: argparse.Namespace, words: list[str]) -> Any:
    from licentia.server.evidence.subjects import device_subject, license_subject

    return device_subject(conn, args.device) if args.device else license_subject(conn, words[0])


def _risk(args: argparse.Namespace, ctx: CliContext, words: list[str]) -> int:
    import json
    from pathlib import Path

    from licentia.server.evidence.risk import assess
    from licentia.server.store.engine import private_output

    with ctx.engine.connect() as conn:
        subject = _subject(conn, args, words)
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


def _report(args: argparse.Namespace, ctx: CliContext, words: list[str]) -> int:
    from pathlib import Path

    from licentia.server.evidence.report import html, signed_json, tsv
    from licentia.server.evidence.signing import product_signer
    from licentia.server.store.engine import private_output

    now = ctx.clock.now()
    with ctx.engine.connect() as conn:
        subject = _subject(conn, args, words)
        if args.format == "json":
            signer, chain = product_signer(conn, subject.product.id, ctx.settings.fernet())
            body = signed_json(subject, now=now, signer=signer, endorsements=chain)
        else:
            body = (tsv(subject) if args.format == "csv" else html(subject, now=now)).encode("utf-8")
    if args.output:
        with private_output(Path(args.output)) as path:
            path.write_bytes(body)
        print(f"{subject.label}: {len(subject.events)} events written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(body + (b"\n" if args.format == "json" else b""))
        sys.stdout.flush()
    return 0


def _verify(path: Path, public_key: str, product: str | None) -> int:
    """Any signed document of a product's key: an evidence report, a purchase certificate, a status document."""
    from pathlib import Path

    from licentia.core.documents import describe, verify_any
    from licentia.core.signing import InvalidDocument, load_public_key

    key_text = public_key
    if not key_text.startswith("ed25519:") and Path(key_text).is_file():
        key_text = Path(key_text).read_text().strip()
    try:
        kid, key = load_public_key(key_text)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        kind, payload = verify_any(raw, {kid: key}, product=product)
    except InvalidDocument as exc:
        raise CliError(f"{path}: NOT a genuine document of this key ({exc})") from exc
    lines = describe(kind, payload)
    print(f"{path}: {lines[0]}")
    for line in lines[1:]:
        print(f"  {line}")
    return 0


def _purge(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.evidence.retention import purge_facts

    done = purge_facts(ctx.engine, now=ctx.clock.now(), product=args.product)
    print(f"facts blanked on {done.events} events and {done.devices} devices")
    return 0


def _notes(args: argparse.Namespace, ctx: CliContext, words: list[str], *, add: bool) -> int:
    """Add a case note (``--text``; ``-`` reads standard input), or list the notes, of one subject."""
    from licentia.server.evidence.notes import NoteOn, add_note, notes_on
    from licentia.server.evidence.report import escape_field
    from licentia.server.evidence.subjects import find_license

    text = args.text
    named = [bool(words), bool(args.device), bool(args.machine)]
    if sum(named) != 1 or len(words) > 1 or (add and text is None):
        what = "a license key (or prefix, or id), --device ID or --machine ID"
        raise CliError(f"evidence {'note' if add else 'notes'} needs {what}" + (" and --text" if add else ""))
    if text == "-":
        text = sys.stdin.read()
    on = NoteOn.DEVICE if args.device else NoteOn.MACHINE if args.machine else NoteOn.LICENSE
    if add:
        with ctx.engine.begin() as conn:
            subject = args.device or args.machine or find_license(conn, words[0]).id
            note = add_note(conn, on=on, subject=subject, text=text or "", actor=ctx.actor, now=ctx.clock.now())
        print(f"case note #{note['id']} added to {on.value} {subject}")
        return 0
    with ctx.engine.connect() as conn:
        subject = args.device or args.machine or find_license(conn, words[0]).id
        found = notes_on(conn, on=on, subject=subject)
    for note in found:
        # One note a line: its line breaks and tabs escaped as in the tab-separated reports.
        print("\t".join(escape_field(note[k]) for k in ("id", "created_at", "author", "on", "text")))
    return 0
