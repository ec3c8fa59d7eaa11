"""Piracy triage: the licenses and installations worth a look, riskiest first, in a few indexed queries.

Scoring every license and every installation one by one reads the whole event
table a subject at a time (seconds on a few thousand devices). Almost every
point of the score comes from rare events, so the list starts there instead:

1. candidates: the events of the kinds that carry a signal (copies caught,
   activations refused for lack of a seat, never-issued keys, activations,
   hardware changes),
   read through the index on ``events.kind``; an activation is a candidate only
   if it came within :data:`~licentia.server.evidence.risk.FAST_REGISTER_SECONDS`
   of the installation's first contact;
2. their timelines: one query for the events of every candidate installation
   and license, one for the installations, one for the licenses;
3. the score: :func:`~licentia.server.evidence.risk.assess` on each subject,
   built exactly as :mod:`~licentia.server.evidence.subjects` builds it, so the
   list, the device and license pages, the API and the reports agree (an
   installation with its recognised reinstalls, listed once, by the latest).

Nothing is cached: every answer is read from the events as they are now.
A subject whose only signals are many networks or organisations (at most 30
points, "medium") and no event above is not listed; its own page still shows it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.core.vocabulary import EventKind
from licentia.server.evidence.risk import FAST_REGISTER_SECONDS, Risk, assess
from licentia.server.evidence.subjects import Subject, lineage
from licentia.server.store.tables import customers, devices, events, licenses, products

SIGNAL_KINDS = (EventKind.CLONE_SUSPECTED, EventKind.INVALID_KEY, EventKind.REGISTER, EventKind.HARDWARE_CHANGED)
# Rows read per query when a long list of ids is bound (SQLite's variable limit is 32766).
CHUNK = 500


@dataclass(frozen=True)
class Flagged:
    kind: str  # "license" | "device"
    ref: str  # license id or installation id, for the page link
    label: str
    product: str
    risk: Risk
    state: str  # license state or installation status
    # For people: the computer's name or the customer, and the span of its timeline (first and last event).
    who: str | None = None
    since: dt.datetime | None = None
    latest: dt.datetime | None = None


def _span(history: list[Any]) -> tuple[dt.datetime | None, dt.datetime | None]:
    return (history[0].received_at, history[-1].received_at) if history else (None, None)


def _chunks(ids: Iterable[Any]) -> Iterable[list[Any]]:
    items = sorted(set(ids))
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _by_id(conn: sa.Connection, table: sa.Table, ids: Iterable[Any]) -> dict[Any, Any]:
    return {r.id: r for chunk in _chunks(ids) for r in conn.execute(sa.select(table).where(table.c.id.in_(chunk)))}


# The rare events that can score, read through ``ix_events_kind``, with their installation's first contact.
SIGNALS = (
    sa.select(
        events.c.device_id,
        events.c.license_id,
        events.c.kind,
        events.c.received_at,
        events.c.data,
        devices.c.first_seen,
        devices.c.license_id.label("bound_license_id"),
    )
    .outerjoin(devices, devices.c.id == events.c.device_id)
    .where(events.c.kind.in_([str(k) for k in SIGNAL_KINDS]))
)


def _is_signal(row: Any) -> bool:
    if row.kind != EventKind.REGISTER:
        return True
    result = (row.data or {}).get("result")
    if result == "too_many_devices":
        return True
    # The first contact bounds the install time from above: a later first contact can only
    # shorten the gap, so an activation slower than the limit here is slow in the score too.
    return (
        result == "activated"
        and row.first_seen is not None
        and (row.received_at - row.first_seen).total_seconds() < FAST_REGISTER_SECONDS
    )


def candidates(conn: sa.Connection) -> tuple[set[str], set[int]]:
    """Installations and licenses that carry at least one signal event."""
    device_ids: set[str] = set()
    license_ids: set[int] = set()
    for row in conn.execute(SIGNALS).all():
        if not _is_signal(row):
            continue
        if row.device_id:
            device_ids.add(row.device_id)
        for lic in (row.license_id, row.bound_license_id):
            if lic is not None:
                license_ids.add(lic)
    return device_ids, license_ids


def flagged(conn: sa.Connection, *, limit: int = 100) -> list[Flagged]:
    """Every candidate scored from its full timeline, riskiest first; subjects scoring 0 are left out."""
    device_ids, license_ids = candidates(conn)
    # A license's subject spans every installation bound to it or named by its events.
    members: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(license_ids):
        for device_id, lic in conn.execute(
            sa.select(devices.c.id, devices.c.license_id).where(devices.c.license_id.in_(chunk))
        ).all():
            members[lic].add(device_id)
        for device_id, lic in conn.execute(
            sa.select(events.c.device_id, events.c.license_id)
            .where(events.c.license_id.in_(chunk), events.c.device_id.is_not(None))
            .distinct()
        ).all():
            members[lic].add(device_id)
    every_device = device_ids.union(*members.values()) if members else set(device_ids)

    timeline: dict[str, list[Any]] = defaultdict(list)
    by_license: dict[int, list[Any]] = defaultdict(list)
    seen: set[int] = set()
    for chunk in _chunks(every_device):
        for row in conn.execute(sa.select(events).where(events.c.device_id.in_(chunk))).all():
            timeline[row.device_id].append(row)
            if row.license_id is not None:
                by_license[row.license_id].append(row)
            seen.add(row.id)
    for chunk in _chunks(license_ids):
        for row in conn.execute(sa.select(events).where(events.c.license_id.in_(chunk))).all():
            if row.id not in seen:  # an event of no installation (rare) still counts for its license
                by_license[row.license_id].append(row)
    rows = {
        r.id: r
        for chunk in _chunks(every_device)
        for r in conn.execute(sa.select(devices).where(devices.c.id.in_(chunk)))
    }
    # An installation counts with its recognised reinstalls (few: most have none to read).
    chains: dict[str, list[Any]] = {}
    for device_id in sorted(device_ids & rows.keys()):
        row = rows[device_id]
        if row.previous_id is None and row.superseded_by is None:
            continue
        chain = lineage(conn, row, rows)
        head = max(chain, key=lambda r: (r.superseded_by is None, r.first_seen, r.id))
        chains[device_id] = [head, *(m for m in chain if m.id != head.id)]
        for member in chain:
            if member.id not in rows:
                rows[member.id] = member
                timeline[member.id] = list(conn.execute(sa.select(events).where(events.c.device_id == member.id)))
    lic_rows = {
        r.id: r
        for chunk in _chunks(license_ids)
        for r in conn.execute(sa.select(licenses).where(licenses.c.id.in_(chunk)))
    }
    product_rows = {r.id: r for r in conn.execute(sa.select(products))}
    customer_ids = {r.customer_id for r in lic_rows.values() if r.customer_id is not None}
    customer_rows = {
        r.id: r
        for chunk in _chunks(customer_ids)
        for r in conn.execute(sa.select(customers).where(customers.c.id.in_(chunk)))
    }

    def ordered(found: Iterable[Any]) -> list[Any]:
        return sorted(found, key=lambda e: (e.received_at, e.id))

    found: list[Flagged] = []
    listed: set[str] = set()
    for device_id in device_ids:
        if device_id not in rows:
            continue
        chain = chains.get(device_id, [rows[device_id]])
        row = chain[0]
        if row.id in listed:
            continue
        listed.add(row.id)
        lic = lic_rows.get(row.license_id) if row.license_id is not None else None
        customer = customer_rows.get(lic.customer_id) if lic is not None and lic.customer_id else None
        history = ordered(e for m in chain for e in timeline[m.id])
        subject = Subject("device", product_rows[row.product_id], lic, customer, chain, history)
        who = (row.facts or {}).get("computer_name") or (customer.email if customer else None)
        found.append(
            Flagged("device", row.id, row.id, subject.product.slug, assess(subject), row.status, who, *_span(history))
        )
    for license_id in license_ids:
        lic = lic_rows.get(license_id)
        if lic is None:
            continue
        ids = members.get(license_id, set())
        merged = {e.id: e for d in ids for e in timeline[d]}
        merged.update({e.id: e for e in by_license[license_id]})
        installs = sorted((rows[d] for d in ids if d in rows), key=lambda r: r.first_seen)
        customer = customer_rows.get(lic.customer_id) if lic.customer_id else None
        history = ordered(merged.values())
        subject = Subject("license", product_rows[lic.product_id], lic, customer, installs, history)
        who = (customer.name or customer.email) if customer else None
        risk, slug = assess(subject), subject.product.slug
        found.append(Flagged("license", str(lic.id), lic.key_prefix, slug, risk, lic.state, who, *_span(history)))
    found = [f for f in found if f.risk.score > 0]
    found.sort(key=lambda f: (-f.risk.score, f.kind, f.label))
    return found[:limit]
