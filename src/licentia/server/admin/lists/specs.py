"""The admin UI's lists (devices, licenses, customers, releases): their filters, columns and exports.

Each ``*_spec`` returns a :class:`~licentia.server.admin.lists.listing.ListSpec`: the
filtered query plus its sortable columns. The page draws one page of it; the
CSV export streams all of it with the same filter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.core.vocabulary import EventKind
from licentia.server.admin.lists.listing import Column, ListSpec
from licentia.server.licenses.seats import seat_limit, seats_used
from licentia.server.store.tables import (
    customers,
    devices,
    events,
    licenses,
    machines,
    policies,
    products,
    purchases,
    releases,
)

# The client fact holding the computer name (facts are optional, per product).
COMPUTER_NAME_FACT = "computer_name"
# Device list flags: the piracy evidence a vendor filters on.
FLAGS = {"copies": "suspected copies", "invalid_keys": "invalid keys"}
WITHIN_DAYS = (1, 7, 30, 90)


@dataclass(frozen=True)
class DeviceFilter:
    q: str = ""
    status: str = ""
    flag: str = ""
    product: int | None = None
    seen_days: int | None = None  # seen in the last N days
    trial_ends_days: int | None = None  # the machine's trial ends in the next N days

    def params(self) -> dict[str, str]:
        return {
            "q": self.q,
            "status": self.status,
            "flag": self.flag,
            "product": str(self.product or ""),
            "seen": str(self.seen_days or ""),
            "trial_ends": str(self.trial_ends_days or ""),
        }


def within(text: str | int | None) -> int | None:
    """A "within N days" filter value: one of :data:`WITHIN_DAYS`, else no filter."""
    try:
        days = int(text or 0)
    except (TypeError, ValueError):
        return None
    return days if days in WITHIN_DAYS else None


def machines_in_use() -> sa.Subquery:
    """Seats in use per license, in one grouped pass over the licensed installations.

    A filter on every license ("at their seat limit") joins this instead of
    counting once per license, which at a million installations is the
    difference between one index scan and a thousand.
    """
    return (
        sa.select(devices.c.license_id, sa.func.count(sa.distinct(devices.c.machine_id)).label("used"))
        .where(devices.c.license_id.is_not(None))
        .group_by(devices.c.license_id)
        .subquery("in_use")
    )


def device_spec(f: DeviceFilter, *, now: dt.datetime) -> ListSpec:
    query = (
        sa.select(
            devices,
            licenses.c.key_prefix,
            products.c.slug.label("product_slug"),
            machines.c.trial_end,
        )
        .join(products, products.c.id == devices.c.product_id)
        .join(machines, machines.c.id == devices.c.machine_id)
        .outerjoin(licenses, licenses.c.id == devices.c.license_id)
    )
    text = f.q.strip()
    # A lineage is one row: the installations replaced by a recognised reinstall are folded under
    # their successor (which says "replaces ..."), and shown only when their own id is searched.
    query = query.where(
        sa.or_(devices.c.superseded_by.is_(None), devices.c.id.startswith(text) if text else sa.false())
    )
    if text:
        key_text = text.replace("-", "").upper()
        # An IP is looked up in the events' server facts: the device row keeps no address.
        seen_from = (
            sa.select(events.c.device_id)
            .where(events.c.server_facts["external_ip"].as_string() == text)
            .distinct()
            .scalar_subquery()
        )
        query = query.where(
            sa.or_(
                devices.c.id.startswith(text),
                devices.c.external_id == text,
                licenses.c.key_prefix.startswith(key_text[:8]) if len(key_text) >= 4 else sa.false(),
                sa.func.lower(devices.c.facts[COMPUTER_NAME_FACT].as_string()).contains(text.lower(), autoescape=True),
                devices.c.id.in_(seen_from),
            )
        )
    if f.status:
        query = query.where(devices.c.status == f.status)
    if f.product is not None:
        query = query.where(devices.c.product_id == f.product)
    if f.flag == "copies":
        query = query.where(devices.c.clone_suspected.is_(True))
    elif f.flag == "invalid_keys":
        tried = sa.select(events.c.id).where(
            events.c.device_id == devices.c.id, events.c.kind == EventKind.INVALID_KEY.value
        )
        query = query.where(tried.exists())
    if f.seen_days:
        since = now - dt.timedelta(days=f.seen_days)
        # seen_day narrows the scan to the indexed days; last_seen decides.
        query = query.where(devices.c.seen_day >= since.date(), devices.c.last_seen >= since)
    if f.trial_ends_days:
        query = query.where(
            devices.c.license_id.is_(None),
            machines.c.restriction.is_(None),
            machines.c.trial_end >= now,
            machines.c.trial_end < now + dt.timedelta(days=f.trial_ends_days),
        )
    columns = (
        Column("id", "Device", devices.c.id),
        Column("status", "Status", devices.c.status),
        Column("license", "License", licenses.c.key_prefix),
        Column("version", "Version", devices.c.app_version),
        Column("os", "OS", devices.c.os_name),
        Column("computer", "Computer"),
        Column("trial_end", "Trial ends", machines.c.trial_end),
        Column("first_seen", "First seen", devices.c.first_seen),
        # seen_day first: it is indexed (last_seen moves on every check and is not), so the
        # database reads the newest days in order and sorts only within a day.
        Column("last_seen", "Last seen", (devices.c.seen_day, devices.c.last_seen)),
    )
    return ListSpec(query, columns, devices.c.id, "last_seen")


DEVICE_CSV = (
    "device_id",
    "product",
    "status",
    "license_key_prefix",
    "app_version",
    "os",
    "computer_name",
    "trial_end",
    "first_seen",
    "last_seen",
    "clone_suspected",
    "replaces",  # the installation this one replaced (a reinstall recognised without its credential)
    "replaced_by",
)


def device_csv_row(row: Any, _context: Any = None) -> tuple[Any, ...]:
    return (
        row.id,
        row.product_slug,
        row.status,
        row.key_prefix,
        row.app_version,
        row.os_name,
        (row.facts or {}).get(COMPUTER_NAME_FACT),
        row.trial_end,
        row.first_seen,
        row.last_seen,
        row.clone_suspected,
        row.previous_id,
        row.superseded_by,
    )


@dataclass(frozen=True)
class LicenseFilter:
    q: str = ""
    state: str = ""
    product: int | None = None
    expires_days: int | None = None  # expires in the next N days
    full: bool = False  # every seat taken
    customer: int | None = None

    def params(self) -> dict[str, str]:
        return {
            "q": self.q,
            "state": self.state,
            "product": str(self.product or ""),
            "expires": str(self.expires_days or ""),
            "full": "1" if self.full else "",
            "customer": str(self.customer or ""),
        }


def license_spec(f: LicenseFilter, *, now: dt.datetime) -> ListSpec:
    used = seats_used()
    limit = seat_limit()
    query = (
        sa.select(
            licenses,
            customers.c.email,
            customers.c.name,
            products.c.slug.label("product_slug"),
            policies.c.name.label("policy_name"),
            used.label("devices_used"),
            limit.label("seat_limit"),
        )
        .join(products, products.c.id == licenses.c.product_id)
        .join(policies, policies.c.id == licenses.c.policy_id)
        .outerjoin(customers, customers.c.id == licenses.c.customer_id)
    )
    text = f.q.strip()
    if text:
        key_text = text.replace("-", "").upper()
        query = query.where(
            sa.or_(
                licenses.c.key_prefix.startswith(key_text[:8]) if len(key_text) >= 3 else sa.false(),
                sa.func.lower(customers.c.email).contains(text.lower(), autoescape=True),
                sa.func.lower(customers.c.name).contains(text.lower(), autoescape=True),
            )
        )
    if f.state:
        query = query.where(licenses.c.state == f.state)
    if f.product is not None:
        query = query.where(licenses.c.product_id == f.product)
    if f.customer is not None:
        query = query.where(licenses.c.customer_id == f.customer)
    if f.expires_days:
        query = query.where(
            licenses.c.state == "active",
            licenses.c.expires_at >= now,
            licenses.c.expires_at < now + dt.timedelta(days=f.expires_days),
        )
    if f.full:
        in_use = machines_in_use()
        query = query.join(in_use, in_use.c.license_id == licenses.c.id).where(
            licenses.c.state == "active", in_use.c.used >= limit
        )
    columns = (
        Column("key", "Key", licenses.c.key_prefix),
        Column("state", "State", licenses.c.state),
        Column("customer", "Customer", customers.c.email),
        Column("product", "Product", products.c.slug),
        Column("seats", "Seats (machines)", used, numeric=True),
        Column("expires", "Expires", licenses.c.expires_at),
        Column("issued", "Issued", licenses.c.created_at),
    )
    return ListSpec(query, columns, licenses.c.id, "issued")


LICENSE_CSV = (
    "license_id",
    "key_prefix",
    "product",
    "type",
    "state",
    "customer_email",
    "customer_name",
    "seats_used",
    "seat_limit",
    "expires_at",
    "issued_at",
)


def license_csv_row(row: Any, _context: Any = None) -> tuple[Any, ...]:
    return (
        row.id,
        row.key_prefix,
        row.product_slug,
        row.policy_name,
        row.state,
        row.email,
        row.name,
        row.devices_used,
        row.seat_limit,
        row.expires_at,
        row.created_at,
    )


def customer_spec(q: str) -> ListSpec:
    count = (
        sa.select(sa.func.count())
        .select_from(licenses)
        .where(licenses.c.customer_id == customers.c.id)
        .scalar_subquery()
    )
    orders = (
        sa.select(sa.func.count())
        .select_from(purchases)
        .where(purchases.c.customer_id == customers.c.id)
        .scalar_subquery()
    )
    query = sa.select(customers, count.label("licenses"), orders.label("orders"))
    text = q.strip().lower()
    if text:
        query = query.where(
            sa.or_(
                sa.func.lower(customers.c.email).contains(text, autoescape=True),
                sa.func.lower(customers.c.name).contains(text, autoescape=True),
            )
        )
    columns = (
        Column("name", "Name", customers.c.name),
        Column("email", "Email", customers.c.email),
        Column("licenses", "Licenses", count, numeric=True),
        Column("orders", "Orders", orders, numeric=True),
        Column("since", "Customer since", customers.c.created_at),
    )
    return ListSpec(query, columns, customers.c.id, "since")


CUSTOMER_CSV = ("customer_id", "name", "email", "licenses", "orders", "created_at")


def customer_csv_row(row: Any, _context: Any = None) -> tuple[Any, ...]:
    return (row.id, row.name, row.email, row.licenses, row.orders, row.created_at)


def release_spec(product: int | None, channel: str) -> ListSpec:
    query = sa.select(releases, products.c.slug.label("product_slug")).join(
        products, products.c.id == releases.c.product_id
    )
    if product is not None:
        query = query.where(releases.c.product_id == product)
    if channel.strip():
        query = query.where(releases.c.channel == channel.strip())
    columns = (
        Column("product", "Product", products.c.slug),
        Column("version", "Version", releases.c.version),
        Column("channel", "Channel", releases.c.channel),
        Column("released", "Released", releases.c.released_at),
        Column("download", "Download"),
        Column("notes", "Notes"),
    )
    return ListSpec(query, columns, releases.c.id, "released")


RELEASE_CSV = ("release_id", "product", "version", "channel", "released_at", "download_url", "notes")


def release_csv_row(row: Any, _context: Any = None) -> tuple[Any, ...]:
    return (row.id, row.product_slug, row.version, row.channel, row.released_at, row.download_url, row.notes)
