"""A first contact presenting an installer ticket: verified, then the installation's chain starts from it.

US 6,070,171 step (a): every distributed copy carries its own initial token;
the first check-in of that copy validates it and starts its chain, and another
installation presenting the same initial token is a copy of that copy.

- The ticket must be signed by one of the product's keys (a retired one too:
  an installer downloaded before a rotation still installs), name this product,
  be stored here, and carry the token whose hash is stored: a forged or edited
  ticket is refused (``invalid_installer_ticket``, 422) before anything is
  written. A demanding vendor wants an edited ticket to stop, not to run
  untraced; the application without any ticket still starts as before.
- The computers that started from a ticket are its machines. The same
  computer starting again from it (a reinstall with the escrow, a reinstall
  recognised by fingerprint, another folder) is not a copy; another computer
  is: ``clone_suspected`` (``reason: installer_ticket_copied``) naming the
  ticket, its download and, when known, the customer and license, on the copy
  and on the first installation, under the product's ``on_clone`` rule.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from licentia.core.signing import InvalidDocument, load_public_key, verify_document
from licentia.core.vocabulary import EventKind
from licentia.server.devices.identify import describe
from licentia.server.devices.rows import read_device, sha256
from licentia.server.devices.seats import Refused
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.products.service import public_keys
from licentia.server.store.batch import current_scope
from licentia.server.store.tables import installer_tickets, ticket_starts
from licentia.server.tickets.service import TICKET_KIND

if TYPE_CHECKING:  # for mypy only
    import datetime as dt

    from licentia.server.devices.identify import Note
    from licentia.server.devices.row_types import CheckProductRow, DeviceRow

COPIED = "installer_ticket_copied"
# The ticket file's text, as a client sends it: a signed document of a few hundred bytes.
MAX_TICKET_CHARS = 4096


def _refused(why: str) -> Refused:
    return Refused(ApiError(ErrorCode.INVALID_INSTALLER_TICKET, f"the installer ticket {why}"))


def verified_ticket(conn: sa.Connection, product: CheckProductRow, unverified_ticket: str) -> sa.Row[Any]:
    """The stored ticket the signed file names, or :class:`Refused` (forged, edited, another product's)."""
    keys = dict(load_public_key(text) for text in public_keys(conn, product.id))
    try:
        document = verify_document(unverified_ticket, keys, product=product.slug)
    except InvalidDocument as exc:
        raise _refused("is not signed by this product's key, or was edited") from exc
    token = document.get("token")
    key = token.get("key") if isinstance(token, dict) else None
    if document.get("kind") != TICKET_KIND or not isinstance(key, str) or not isinstance(document.get("ticket"), str):
        raise _refused("is not an installer ticket")
    query = sa.select(installer_tickets).where(
        installer_tickets.c.id == document["ticket"], installer_tickets.c.product_id == product.id
    )
    # Two computers starting from one ticket through two workers: one of them is the copy.
    row = conn.execute(query.with_for_update()).first()
    if row is None or not hmac.compare_digest(sha256(key), row.token_hash):
        raise _refused("is not one this server issued")
    return row


def described(ticket: sa.Row[Any]) -> dict[str, Any]:
    """What evidence names of a ticket: its id, its download's source and release, the customer and license."""
    named = {"release": ticket.version, "customer": ticket.customer_id, "license": ticket.license_id}
    return {"id": ticket.id, "source": ticket.source, **{k: v for k, v in named.items() if v is not None}}


def start_from_ticket(
    conn: sa.Connection, note: Note, device: DeviceRow, ticket: sa.Row[Any], now: dt.datetime
) -> bool:
    """Record that ``device`` (a new installation) started from ``ticket``; True when it is a copy of it."""
    earlier = conn.execute(
        sa.select(ticket_starts.c.device_id, ticket_starts.c.machine_id)
        .where(ticket_starts.c.ticket_id == ticket.id)
        .order_by(ticket_starts.c.id)
    ).all()
    copy = bool(earlier) and all(start.machine_id != device.machine_id for start in earlier)
    conn.execute(
        ticket_starts.insert().values(
            ticket_id=ticket.id, device_id=device.id, machine_id=device.machine_id, started_at=now, copy=copy
        )
    )
    if copy:
        first = read_device(conn, current_scope(conn), earlier[0].device_id)
        data = {"reason": COPIED, "installer_ticket": described(ticket)}
        if first is not None:
            note(
                first.id,
                EventKind.CLONE_SUSPECTED,
                license_id=first.license_id,
                client_event_id=f"ticket-copy-{device.id}",
                data={**data, "copy": device.id, "other_side": describe(conn, device)},
            )
        note(
            device.id,
            EventKind.CLONE_SUSPECTED,
            # On the row: the license the download was for finds the copy in its evidence report.
            license_id=ticket.license_id,
            client_event_id=f"ticket-{ticket.id}",
            data={**data, "copy_of": earlier[0].device_id, **({"other_side": describe(conn, first)} if first else {})},
        )
    return copy
