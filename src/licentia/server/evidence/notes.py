"""Case notes: what the vendor's staff wrote about a license, an installation or a machine.

Staff attach notes from the admin UI, the developer API and the CLI, each one
audited. Nothing an application sends ever becomes a note: evidence reports
carry the notes on what they cover as the vendor's own (``vendor_notes``), so a
reader tells the vendor's words from what the software recorded. A note is
never edited; a correction is another note.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from licentia.core.clock import to_iso
from licentia.server.audit import AuditAction, record
from licentia.server.errors import ApiError, ErrorCode, existing
from licentia.server.fields import MAX_ROW_ID
from licentia.server.store.tables import case_notes, devices, licenses, machines

MAX_NOTE = 2000  # characters: a paragraph or two, and what the column holds
# Ids bound per query (SQLite's variable limit is 32766).
_CHUNK = 500
# Line breaks and tabs are kept; other control characters would garble a page, a report or a terminal.
_KEPT_CONTROLS = "\n\t"


class NoteOn(enum.StrEnum):
    """What a note is about: the column of ``case_notes`` that names it."""

    LICENSE = "license"
    DEVICE = "device"
    MACHINE = "machine"

    @property
    def column(self) -> str:
        return f"{self.value}_id"


def note_text(unverified: str) -> str:
    """The note as it is kept: line breaks unified, other control characters dropped, 1 to MAX_NOTE characters."""
    text = unverified.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in _KEPT_CONTROLS or (ch >= " " and not "\x7f" <= ch <= "\x9f")).strip()
    if not text:
        raise ApiError(ErrorCode.INVALID_NOTE, "Write the note first: it is empty.")
    if len(text) > MAX_NOTE:
        raise ApiError(
            ErrorCode.INVALID_NOTE, f"A case note is at most {MAX_NOTE:,} characters; this one has {len(text):,}."
        )
    return text


def _subject(conn: sa.Connection, on: NoteOn, subject: str | int) -> tuple[Any, int]:
    """The subject's id as stored and its product, or the refusal for an unknown one."""
    ident = str(subject).strip()
    if on is NoteOn.LICENSE:
        # ASCII digits within a row id's 64 bits: anything else names no license and is never bound as an id.
        row = None
        if ident.isascii() and ident.isdigit() and int(ident) <= MAX_ROW_ID:
            query = sa.select(licenses.c.id, licenses.c.product_id).where(licenses.c.id == int(ident))
            row = conn.execute(query).first()
        if row is None:
            raise ApiError(ErrorCode.UNKNOWN_LICENSE, f"no license with id {ident!r}")
        return row.id, row.product_id
    if on is NoteOn.DEVICE:
        row = conn.execute(sa.select(devices.c.id, devices.c.product_id).where(devices.c.id == ident)).first()
        row = existing(row, ErrorCode.UNKNOWN_DEVICE, f"no device {ident!r}")
    else:
        row = conn.execute(sa.select(machines.c.id, machines.c.product_id).where(machines.c.id == ident)).first()
        row = existing(row, ErrorCode.UNKNOWN_MACHINE, f"no machine {ident!r}")
    return row.id, row.product_id


def add_note(
    conn: sa.Connection, *, on: NoteOn | str, subject: str | int, text: str, actor: str, now: dt.datetime
) -> dict[str, Any]:
    """Attach a note by ``actor`` to a license (by id), a device or a machine; audited. Returns the note."""
    try:
        kind = NoteOn(on)
    except ValueError as exc:
        raise ApiError(ErrorCode.INVALID_NOTE, "a case note is on a license, a device or a machine") from exc
    kept = note_text(text)
    ident, product_id = _subject(conn, kind, subject)
    values = {"product_id": product_id, kind.column: ident, "author": actor, "created_at": now, "text": kept}
    note_id = conn.execute(case_notes.insert().values(**values).returning(case_notes.c.id)).scalar_one()
    named = {"license_id": ident} if kind is NoteOn.LICENSE else {kind.value: ident}
    record(conn, AuditAction.CASE_NOTE_ADD, note_id, actor=actor, now=now, on=kind.value, **named, text=kept)
    row = conn.execute(sa.select(case_notes).where(case_notes.c.id == note_id)).one()
    return note_record(row)


def note_record(row: Any) -> dict[str, Any]:
    """One note as the developer API, the CLI and the evidence reports give it."""
    on = NoteOn.LICENSE if row.license_id is not None else NoteOn.DEVICE if row.device_id else NoteOn.MACHINE
    return {
        "id": row.id,
        "on": on.value,
        "license_id": row.license_id,
        "device_id": row.device_id,
        "machine_id": row.machine_id,
        "author": row.author,
        "created_at": to_iso(row.created_at),
        "text": row.text,
    }


def notes_about(
    conn: sa.Connection,
    *,
    license_ids: Iterable[int] = (),
    device_ids: Iterable[str] = (),
    machine_ids: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """The notes on any of these licenses, devices and machines, oldest first."""
    found: dict[int, Any] = {}
    for column, ids in (
        (case_notes.c.license_id, license_ids),
        (case_notes.c.device_id, device_ids),
        (case_notes.c.machine_id, machine_ids),
    ):
        wanted = sorted({i for i in ids if i is not None})
        for first in range(0, len(wanted), _CHUNK):
            rows = conn.execute(sa.select(case_notes).where(column.in_(wanted[first : first + _CHUNK])))
            found.update((row.id, row) for row in rows)
    return [note_record(row) for row in sorted(found.values(), key=lambda r: (r.created_at, r.id))]


def notes_on(conn: sa.Connection, *, on: NoteOn | str, subject: str | int) -> list[dict[str, Any]]:
    """The notes on one license, device or machine (an unknown one is refused, as adding to it would be)."""
    kind = NoteOn(on)
    ident, _ = _subject(conn, kind, subject)
    return notes_about(conn, **{f"{kind.column}s": [ident]})


def note_from_device(
    conn: sa.Connection, *, device_id: str, on: NoteOn | str, text: str, actor: str, now: dt.datetime
) -> dict[str, Any]:
    """A note written on a device's page: on the installation itself, or on its machine."""
    if on not in (NoteOn.DEVICE, NoteOn.MACHINE):
        raise ApiError(
            ErrorCode.INVALID_NOTE, "a note written on a device's page is on the installation or its machine"
        )
    subject: str = device_id
    if on == NoteOn.MACHINE:
        machine = conn.execute(sa.select(devices.c.machine_id).where(devices.c.id == device_id)).scalar()
        if machine is None:
            raise ApiError(ErrorCode.UNKNOWN_DEVICE, f"no device {device_id!r}")
        subject = machine
    return add_note(conn, on=on, subject=subject, text=text, actor=actor, now=now)
