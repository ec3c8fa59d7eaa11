"""An installation's life beyond one data folder: reinstalled, moved, or replaced by a successor.

docs/design.md, section 5. The credential kept outside the data folder brings
a reinstalled installation back as itself (``reinstall``); ``POST /v1/move``
takes it to another folder of its machine (``moved``); without the credential
a reinstall is recognised by fingerprint and becomes a new installation linked
to the one it replaces (``previous_id`` / ``superseded_by``): a *lineage*,
which every count and list a vendor reads treats as one installation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from licentia.core.vocabulary import EventKind
from licentia.server.store.tables import devices

# Recognised reinstalls followed along one chain, at most (a longer chain is read no further).
MAX_CHAIN = 50


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """The installation came back (``reinstall``) or moved (``move``): what its event records."""

    via: str  # "reinstall" | "move"
    version: str | None  # the version it ran before
    data: dict[str, Any] = field(default_factory=dict)

    def event(self, version: str | None) -> tuple[EventKind, dict[str, Any]]:
        """``reinstall`` or ``moved``; ``upgrade`` (with ``via``) when the version changed with it."""
        if self.version and version and version != self.version:
            return EventKind.UPGRADE, {"from": self.version, "to": version, "via": self.via, **self.data}
        kind = EventKind.REINSTALL if self.via == "reinstall" else EventKind.MOVED
        return kind, {**self.data, "app_version": version or self.version}


# -- counting a lineage once ----------------------------------------------------------------
# The replaced installations are the rows with ``superseded_by`` set (few, and indexed where it
# is: ``ix_devices_product_superseded``): counts leave them out, lists fold them under their
# successor. Whether a lineage converted is read along its links, for the few rows that have one.


# Ids bound per query (SQLite's variable limit is 32766).
_CHUNK = 500
_LINKS = sa.select(devices.c.id, devices.c.previous_id, devices.c.superseded_by, devices.c.activated_at)


def _reached(conn: sa.Connection, starts: dict[Any, str | None], link: str) -> dict[Any, list[Any]]:
    """For each key, the installations reached from its start along ``link``.

    ``previous_id`` leads to older installations, ``superseded_by`` to newer
    ones. One query per step for every chain at once (chains are short).
    """
    reached: dict[Any, list[Any]] = {key: [] for key in starts}
    frontier = {key: device_id for key, device_id in starts.items() if device_id}
    for _ in range(MAX_CHAIN):
        if not frontier:
            break
        wanted = sorted(set(frontier.values()))
        rows: dict[str, Any] = {}
        for first in range(0, len(wanted), _CHUNK):
            chunk = wanted[first : first + _CHUNK]
            rows.update((row.id, row) for row in conn.execute(_LINKS.where(devices.c.id.in_(chunk))))
        following: dict[Any, str] = {}
        for key, device_id in frontier.items():
            row = rows.get(device_id)
            if row is None:
                continue
            reached[key].append(row)
            after = getattr(row, link)
            if after and all(after != seen.id for seen in reached[key]):
                following[key] = after
        frontier = following
    return reached


def reactivated(conn: sa.Connection, activated: Iterable[Any]) -> int:
    """Of these activated successors (``previous_id``, ``activated_at``), those whose lineage was licensed before.

    A reinstall recognised without its credential presents its key again: the
    lineage converted once, when it was first activated.
    """
    rows = list(activated)
    older = _reached(conn, {n: row.previous_id for n, row in enumerate(rows)}, "previous_id")
    return sum(
        1
        for n, row in enumerate(rows)
        if any(before.activated_at is not None and before.activated_at <= row.activated_at for before in older[n])
    )


def converted_later(conn: sa.Connection, replaced: Iterable[Any]) -> int:
    """Of these never-activated, replaced installations (``superseded_by``), those whose reinstall was activated."""
    newer = _reached(conn, dict(enumerate(row.superseded_by for row in replaced)), "superseded_by")
    return sum(1 for found in newer.values() if any(after.activated_at is not None for after in found))


def heads(conn: sa.Connection, *where: Any) -> int:
    """How many installations match ``where``, a lineage counted once (its replaced ones left out).

    Counted as all of them less the replaced ones: the first count keeps its
    index (often index-only), the second reads the few replaced rows.
    """
    total = conn.execute(sa.select(sa.func.count()).select_from(devices).where(*where)).scalar_one()
    replaced = conn.execute(
        sa.select(sa.func.count()).select_from(devices).where(devices.c.superseded_by.is_not(None), *where)
    ).scalar_one()
    return int(total) - int(replaced)
