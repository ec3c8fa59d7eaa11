"""Evidence reports in three forms: tab-separated rows, signed JSON, and HTML for people.

The full license key never appears: reports carry the key prefix only (the
key itself is never stored; see core.licensekeys).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import jinja2

from licentia.core.clock import to_iso
from licentia.core.facts import FACT_NAMES
from licentia.core.signing import SigningKey
from licentia.core.vocabulary import EventKind
from licentia.server.events.payloads import MAX_INT
from licentia.server.evidence.risk import Risk, assess
from licentia.server.evidence.subjects import Subject

FORMAT_VERSION = 1
REPORT_KIND = "evidence_report"
# The tab-separated rows of the vendor's case notes, after the events: never an event kind.
VENDOR_NOTE = "vendor_note"
# The client facts of docs/design.md section 6 that get a column of their own;
# anything else a client sent (author_*, tracker_*, ...) goes in ``other_client_facts``.
CLIENT_FACT_COLUMNS = FACT_NAMES
SERVER_FACT_COLUMNS = ("external_ip", "reverse_host", "server_tz")
# The documented column order of the tab-separated export (docs/evidence.md). Append only.
CSV_COLUMNS = (
    "event_id",
    "received_at",
    "occurred_at",
    "kind",
    "device_id",
    "license_key_prefix",
    "details",
    *SERVER_FACT_COLUMNS,
    *CLIENT_FACT_COLUMNS,
    "other_client_facts",
)


def _plain(value: Any) -> Any:
    """JSON-safe and signable: canonical JSON refuses floats and integers beyond 64 bits (core.canonical).

    Ingestion refuses such values now, but rows stored before it did (or by
    other code) must never make a device's own evidence unreadable: they are
    carried as their decimal text.
    """
    if isinstance(value, dt.datetime):
        return to_iso(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool) and not -MAX_INT <= value <= MAX_INT:
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _key_prefixes(subject: Subject) -> dict[int, str]:
    return {subject.license.id: subject.license.key_prefix} if subject.license is not None else {}


def event_record(
    event: Any, prefixes: Mapping[int, str], trails: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    record = {
        "id": event.id,
        "received_at": _plain(event.received_at),
        "occurred_at": _plain(event.occurred_at) if event.occurred_at else None,
        "kind": event.kind,
        "device_id": event.device_id,
        "license_key_prefix": prefixes.get(event.license_id) if event.license_id else None,
        "data": _plain(event.data or {}),
        "client_facts": _plain(event.client_facts or {}),
        "server_facts": _plain(event.server_facts or {}),
    }
    trail = (trails or {}).get(event.client_event_id)
    if trail is not None:
        # Also sent as a GET before the POST (Hitek's proxy-log trail): unauthenticated, so shown beside
        # the event it names, never as an event of its own.
        record["trail"] = _plain(trail)
    return record


def _device_record(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        # Installations on one machine share its trial and its seat: the evidence shows which they are.
        "machine": row.machine_id,
        "device_id": row.external_id,
        "status": row.status,
        "status_reason": row.status_reason,
        "os_name": row.os_name,
        "app_version": row.app_version,
        "virtual_machine": row.is_virtual,
        "first_seen": _plain(row.first_seen),
        "last_seen": _plain(row.last_seen),
        "activated_at": _plain(row.activated_at) if row.activated_at else None,
        "checks": row.usage_count,
        "clone_suspected": row.clone_suspected,
        "facts": _plain(row.facts or {}),
        # A reinstall recognised by fingerprint: the installation it replaced, and the one that replaced it.
        "previous_id": row.previous_id,
        "superseded_by": row.superseded_by,
    }


def installations_counted(records: list[dict[str, Any]]) -> int:
    """The installations of a report as a vendor counts them: a chain of reinstalls is one."""
    ids = {record["id"] for record in records}
    return sum(1 for record in records if record.get("superseded_by") not in ids)


def build_document(subject: Subject, *, now: dt.datetime, risk: Risk | None = None) -> dict[str, Any]:
    """The report as one JSON object (what gets signed)."""
    lic, customer = subject.license, subject.customer
    prefixes = _key_prefixes(subject)
    return {
        "v": FORMAT_VERSION,
        "kind": REPORT_KIND,
        "product": subject.product.slug,
        "issued_at": to_iso(now),
        "subject": {"type": subject.kind, "label": subject.label},
        "license": None
        if lic is None
        else {
            "id": lic.id,
            "key_prefix": lic.key_prefix,
            "state": lic.state,
            "created_at": _plain(lic.created_at),
            "expires_at": _plain(lic.expires_at) if lic.expires_at else None,
            "max_devices": (lic.policy_overrides or {}).get("max_devices"),
        },
        "customer": None if customer is None else {"id": customer.id, "name": customer.name, "email": customer.email},
        "risk": (risk or assess(subject)).as_dict(),
        "devices": [_device_record(d) for d in subject.devices],
        "events": [event_record(e, prefixes, subject.trails) for e in subject.events],
        "truncated": subject.truncated,
        # Written by the vendor's staff (admin UI, developer API, CLI), never by an application.
        "vendor_notes": [dict(note) for note in subject.notes],
    }


def signed_json(subject: Subject, *, now: dt.datetime, signer: SigningKey, endorsements: list[dict[str, str]]) -> bytes:
    """Signed like a status document: verify with ``core.signing.verify_document`` and the product's key."""
    return signer.sign(build_document(subject, now=now), endorsements)


# -- tab-separated ---------------------------------------------------------------


def escape_field(value: Any) -> str:
    """One value as one field: backslash, tab, newline and carriage return escaped (``\\\\ \\t \\n \\r``)."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        text = json.dumps(_plain(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(_plain(value))
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _csv_row(record: Mapping[str, Any]) -> list[Any]:
    client = dict(record["client_facts"])
    server = record["server_facts"]
    known = [client.pop(name, None) for name in CLIENT_FACT_COLUMNS]
    return [
        record["id"],
        record["received_at"],
        record["occurred_at"],
        record["kind"],
        record["device_id"],
        record["license_key_prefix"],
        record["data"] or None,
        *(server.get(name) for name in SERVER_FACT_COLUMNS),
        *known,
        client or None,
    ]


def _note_row(note: Mapping[str, Any], prefixes: Mapping[int, str]) -> list[Any]:
    """A vendor's note after the events: no event number, kind ``vendor_note``, the note in ``details``."""
    details = {k: note[k] for k in ("id", "on", "author", "machine_id", "text") if note.get(k) is not None}
    blank = [None] * (len(CSV_COLUMNS) - 7)
    prefix = prefixes.get(note["license_id"]) if note.get("license_id") else None
    return [None, note["created_at"], None, VENDOR_NOTE, note.get("device_id"), prefix, details, *blank]


def tsv_lines(subject: Subject) -> Iterable[str]:
    yield "\t".join(CSV_COLUMNS) + "\n"
    prefixes = _key_prefixes(subject)
    for event in subject.events:
        yield "\t".join(escape_field(v) for v in _csv_row(event_record(event, prefixes))) + "\n"
    for note in subject.notes:
        yield "\t".join(escape_field(v) for v in _note_row(note, prefixes)) + "\n"


def tsv(subject: Subject) -> str:
    return "".join(tsv_lines(subject))


# -- HTML -------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("licentia.server.evidence", "templates"),
        # Every fact is attacker-controlled text (a pirate names his computer
        # "<script>..."): autoescape, always.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def html(subject: Subject, *, now: dt.datetime, body_only: bool = False, device_href: str | None = None) -> str:
    """The report as a page of its own, or (``body_only``) as the content the admin UI puts in its own page.

    ``device_href`` (the admin UI's) makes every installation a link to its page.
    """
    document = build_document(subject, now=now)
    return (
        _environment()
        .get_template("report_body.html" if body_only else "report.html")
        .render(
            report=document,
            installations=installations_counted(document["devices"]),
            client_fact_columns=CLIENT_FACT_COLUMNS,
            kinds=kind_names(),
            device_href=device_href,
        )
    )


def kind_names() -> dict[str, str]:
    return {
        EventKind.INSTALL: "Installed",
        EventKind.REGISTER: "Activation",
        EventKind.USAGE: "Usage report",
        EventKind.UNINSTALL: "Uninstalled",
        EventKind.FEEDBACK: "Feedback",
        EventKind.CHECK: "Status check",
        EventKind.REINSTALL: "Reinstalled",
        EventKind.MOVED: "Moved to another folder",
        EventKind.HARDWARE_CHANGED: "Hardware changed",
        EventKind.CLONE_SUSPECTED: "Copy detected",
        EventKind.INVALID_KEY: "Invalid license key",
        EventKind.UPGRADE: "Upgraded",
        EventKind.DEACTIVATE: "Deactivated",
        EventKind.QUOTA_REACHED: "Meter limit reached",
    }
