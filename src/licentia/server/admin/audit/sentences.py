"""The audit log as sentences: "Revoked license ABCD2345… of Bob (freed 2 machines)".

Each action's sentence is written beside the action (``server/audit.py``);
this module gives it the page's words: a license named by its key prefix and
its customer, a machine by the installation the change was made from, a
product by its slug, an admin by email, each linked. Every value interpolated
into a sentence is escaped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape

from licentia.core.clock import UTC
from licentia.server.admin.lists.listing import Column, ListSpec
from licentia.server.audit import AuditAction, AuditTarget, shown
from licentia.server.store.tables import admin_users as users
from licentia.server.store.tables import audit_entries, customers, devices, licenses, products

# The actions this version can say; an older or newer row may hold another.
KNOWN = {action.value: action for action in AuditAction}


@dataclass(frozen=True)
class AuditFilter:
    q: str = ""
    action: str = ""
    actor: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    def params(self) -> dict[str, str]:
        return {
            "q": self.q,
            "action": self.action,
            "actor": self.actor,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }


def day_or_none(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def audit_spec(f: AuditFilter) -> ListSpec:
    query = sa.select(audit_entries)
    if f.action:
        query = query.where(audit_entries.c.action == f.action)
    if f.actor:
        query = query.where(audit_entries.c.actor == f.actor)
    if f.since:
        query = query.where(audit_entries.c.at >= dt.datetime.combine(f.since, dt.time(), tzinfo=UTC))
    if f.until:
        end = dt.datetime.combine(f.until + dt.timedelta(days=1), dt.time(), tzinfo=UTC)
        query = query.where(audit_entries.c.at < end)
    if f.q.strip():
        text = f.q.strip().lower()
        query = query.where(
            sa.or_(
                sa.func.lower(audit_entries.c.actor).contains(text, autoescape=True),
                sa.func.lower(audit_entries.c.action).contains(text, autoescape=True),
                audit_entries.c.target_id == f.q.strip(),
                # A device id finds what was done to it and to its machine (the machine is the target).
                audit_entries.c.details["device"].as_string() == f.q.strip(),
                audit_entries.c.target_id.in_(sa.select(devices.c.machine_id).where(devices.c.id == f.q.strip())),
            )
        )
    columns = (
        Column("at", "When", audit_entries.c.id),  # ids grow with time: the indexed order
        Column("who", "Who", audit_entries.c.actor),
        Column("what", "What happened"),
    )
    return ListSpec(query, columns, audit_entries.c.id, "at")


def choices(conn: sa.Connection) -> dict[str, list[str]]:
    """The actions and people seen in the log, for the filters' menus."""

    def distinct(column: Any) -> list[str]:
        return [v for v in conn.execute(sa.select(column).distinct().order_by(column).limit(500)).scalars() if v]

    return {"actions": distinct(audit_entries.c.action), "actors": distinct(audit_entries.c.actor)}


@dataclass(frozen=True)
class Names:
    """What the sentences call their targets: licenses by key prefix and customer, products by slug."""

    licenses: Mapping[str, tuple[str, str | None]]
    products: Mapping[str, str]
    admins: Mapping[str, str] = field(default_factory=dict)


def _ids(entries: list[Any], target: AuditTarget) -> set[int]:
    return {int(e.target_id) for e in entries if e.target_type == target and (e.target_id or "").isdigit()}


def names_for(conn: sa.Connection, entries: list[Any]) -> Names:
    license_ids = _ids(entries, AuditTarget.LICENSE)
    license_ids |= {
        int(v) for e in entries if isinstance(v := (e.details or {}).get("license_id"), int | str) and str(v).isdigit()
    }
    product_ids = _ids(entries, AuditTarget.PRODUCT)
    admin_ids = _ids(entries, AuditTarget.ADMIN)
    found_licenses: dict[str, tuple[str, str | None]] = {}
    if license_ids:
        rows = conn.execute(
            sa.select(licenses.c.id, licenses.c.key_prefix, sa.func.coalesce(customers.c.name, customers.c.email))
            .outerjoin(customers, customers.c.id == licenses.c.customer_id)
            .where(licenses.c.id.in_(license_ids))
        )
        found_licenses = {str(i): (prefix, who) for i, prefix, who in rows}
    found_products: dict[str, str] = {}
    if product_ids:
        slugs = conn.execute(sa.select(products.c.id, products.c.slug).where(products.c.id.in_(product_ids)))
        found_products = {str(i): slug for i, slug in slugs}
    found_admins: dict[str, str] = {}
    if admin_ids:
        emails = conn.execute(sa.select(users.c.id, users.c.email).where(users.c.id.in_(admin_ids)))
        found_admins = {str(i): email for i, email in emails}
    return Names(found_licenses, found_products, found_admins)


@dataclass(frozen=True)
class Linked:
    """The audit page's :class:`~licentia.server.audit.Words`: every value escaped, targets linked."""

    names: Names

    def say(self, template: str, /, *values: object) -> Markup:
        return Markup(template).format(*values)  # noqa: S704 - the templates are ours; values are escaped

    def license(self, license_id: object, *, owner: bool = True) -> Markup:
        found = self.names.licenses.get(str(license_id))
        if found is None:
            return Markup("license #{}").format(license_id)
        prefix, who = found
        link = Markup('<a href="/admin/licenses/{}">license <code>{}…</code></a>').format(license_id, prefix)
        return link + (Markup(" of {}").format(who) if who and owner else Markup(""))

    def product(self, product: object) -> Markup:
        if not str(product).isdigit():  # named by its slug (the CLI's entries, a release, a webhook)
            return Markup("product {}").format(product)
        slug = self.names.products.get(str(product))
        return Markup('product <a href="/admin/products/{}">{}</a>').format(product, slug or f"#{product}")

    def machine(self, device: object) -> Markup:
        if not isinstance(device, str) or not device:
            return Markup("a machine")
        return Markup('the machine of <a href="/admin/devices/{0}">device <code>{1}</code></a>').format(
            device, device[:12]
        )

    def admin(self, admin_id: object, email: object = None) -> Markup:
        known = email or self.names.admins.get(str(admin_id))
        return Markup("admin {}").format(known) if known else Markup("admin #{}").format(admin_id)

    def webhook(self, webhook_id: object) -> Markup:
        return Markup('<a href="/admin/webhooks/{0}">webhook #{0}</a>').format(webhook_id)


def sentence(entry: Any, names: Names) -> Markup:
    """What the entry says happened (without who and when, which have their own columns)."""
    details = entry.details or {}
    words = Linked(names)
    if (action := KNOWN.get(entry.action)) is not None:
        try:
            said = action.sentence(entry.target_id, details, words)
            return said if isinstance(said, Markup) else escape(said)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # an entry written by an older version, its details shaped otherwise: said plainly below
    # An action this version does not know (retired, or written by a newer version): its words as stored.
    target = entry.target_type
    if target == AuditTarget.LICENSE:
        named = words.license(entry.target_id)
    elif target == AuditTarget.PRODUCT:
        named = words.product(entry.target_id)
    else:
        named = Markup("{} {}").format(str(target).replace("_", " "), entry.target_id or "")
    verb = str(entry.action).split(".", 1)[-1].replace("_", " ")
    listed = [(k, v) for k, v in details.items() if v is not None and k not in ("device",)]
    said_details = Markup("; ").join(Markup("{} {}").format(k.replace("_", " "), shown(v)) for k, v in listed)
    return Markup("{}: {}{}").format(verb, named, Markup(" ({})").format(said_details) if listed else "")


def plain(markup: Markup) -> str:
    """The sentence as text, for the CSV export."""
    return markup.striptags()
