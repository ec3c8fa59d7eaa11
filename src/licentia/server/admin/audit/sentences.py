"""The audit log as sentences: "ann@vendor.example revoked license ABCD2345… of Bob (freed 2 machines)".

Targets are named the way a vendor knows them: a license by its key prefix and
its customer, a machine by the installation the change was made from, a
product by its slug. Every value interpolated into a sentence is escaped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup

from licentia.core.clock import UTC
from licentia.server.admin.lists.listing import Column, ListSpec
from licentia.server.store.tables import audit_entries, customers, licenses, products


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


def names_for(conn: sa.Connection, entries: list[Any]) -> Names:
    license_ids = {int(e.target_id) for e in entries if e.target_type == "license" and (e.target_id or "").isdigit()}
    license_ids |= {
        int(v) for e in entries if isinstance(v := (e.details or {}).get("license_id"), int | str) and str(v).isdigit()
    }
    product_ids = {int(e.target_id) for e in entries if e.target_type == "product" and (e.target_id or "").isdigit()}
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
    return Names(found_licenses, found_products)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        try:  # an ISO timestamp: shown as a date and time, in UTC
            return dt.datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            return value
    if isinstance(value, dict):
        return ", ".join(f"{k} {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _license(names: Names, license_id: Any, *, owner: bool = True) -> Markup:
    found = names.licenses.get(str(license_id))
    if found is None:
        return Markup("license #{}").format(license_id)
    prefix, who = found
    link = Markup('<a href="/admin/licenses/{}">license <code>{}…</code></a>').format(license_id, prefix)
    return link + (Markup(" of {}").format(who) if who and owner else Markup(""))


def _product(names: Names, product_id: Any) -> Markup:
    slug = names.products.get(str(product_id))
    return Markup('product <a href="/admin/products/{}">{}</a>').format(product_id, slug or f"#{product_id}")


def _machine(details: Mapping[str, Any]) -> Markup:
    device = details.get("device")
    if not device:
        return Markup("a machine")
    return Markup('the machine of <a href="/admin/devices/{0}">device <code>{1}</code></a>').format(device, device[:12])


Phrase = Callable[[Any, Mapping[str, Any], Names], Markup]

PHRASES: dict[str, Phrase] = {
    "license.issue": lambda e, d, n: Markup("issued {} to {}{}").format(
        _license(n, e.target_id, owner=False),
        d.get("email", "?"),
        Markup(" (order {})").format(d["order_ref"]) if d.get("order_ref") else "",
    ),
    "license.suspend": lambda e, d, n: Markup("suspended {}").format(_license(n, e.target_id)),
    "license.reinstate": lambda e, d, n: Markup("reinstated {}").format(_license(n, e.target_id)),
    "license.revoke": lambda e, d, n: Markup("revoked {}{}").format(
        _license(n, e.target_id),
        Markup(" (freed {} machines)").format(_value(d["devices_freed"])) if d.get("devices_freed") else "",
    ),
    "license.renew": lambda e, d, n: Markup("renewed {} until {}").format(
        _license(n, e.target_id), _value(d.get("expires_at")) if d.get("expires_at") else "it never expires"
    ),
    "license.max_devices": lambda e, d, n: Markup("set the machine limit of {} to {}").format(
        _license(n, e.target_id), _value(d.get("max_devices"))
    ),
    "license.resend_key": lambda e, d, n: Markup("sent the key of {} again{}").format(
        _license(n, e.target_id), Markup(" to {}").format(d["to"]) if d.get("to") else ""
    ),
    "device.extend_trial": lambda e, d, n: Markup("extended the trial of {} by {} days, to {}").format(
        _machine(d), _value(d.get("days")), _value(d.get("trial_end"))
    ),
    "device.set_status": lambda e, d, n: Markup("set {} to {} (was {}){}").format(
        _machine(d),
        str(d.get("status", "?")).replace("_", " "),
        str(d.get("previous", "?")).replace("_", " "),
        Markup(": “{}”").format(d["reason"]) if d.get("reason") else "",
    ),
    "device.free_seat": lambda e, d, n: Markup("freed the seat {} held on {}").format(
        _machine(d), _license(n, d.get("license_id"))
    ),
    "admin.sign_in": lambda e, d, n: Markup("signed in"),
    "admin.sign_out": lambda e, d, n: Markup("signed out"),
    "admin.create": lambda e, d, n: Markup("created the admin account {}").format(d.get("email", e.target_id)),
    "admin.password": lambda e, d, n: Markup("changed the password of admin account #{}").format(e.target_id),
    "admin.locked": lambda e, d, n: Markup("admin account #{} locked after repeated wrong passwords").format(
        e.target_id
    ),
    "token.create": lambda e, d, n: Markup("created the API token “{}” ({})").format(
        d.get("name", e.target_id), _value(d.get("scopes", []))
    ),
    "token.revoke": lambda e, d, n: Markup("revoked API token #{}").format(e.target_id),
    "product.create": lambda e, d, n: Markup("created {}").format(_product(n, e.target_id)),
    "product.notify": lambda e, d, n: Markup("changed the notifications of {}").format(_product(n, e.target_id)),
    "product.privacy": lambda e, d, n: Markup("set {} to {} client facts, kept {} days").format(
        _product(n, e.target_id),
        "collect" if d.get("collect_facts") else "not collect",
        _value(d.get("facts_retention_days")),
    ),
    "policy.create": lambda e, d, n: Markup("created the license type “{}” of {}").format(
        d.get("policy", "?"), _product(n, e.target_id)
    ),
    "policy.update": lambda e, d, n: Markup("changed the license type “{}” of {}").format(
        d.get("policy", "default"), _product(n, e.target_id)
    ),
    "demo.fill": lambda e, d, n: Markup("filled {} with demo data ({} devices, {} licenses)").format(
        e.target_id, _value(d.get("devices")), _value(d.get("licenses"))
    ),
    "release.publish": lambda e, d, n: Markup("published version {} of {} on {}").format(
        d.get("version", "?"), d.get("product", "?"), d.get("channel", "stable")
    ),
}


def sentence(entry: Any, names: Names) -> Markup:
    """What the entry says happened (without who and when, which have their own columns)."""
    details = entry.details or {}
    phrase = PHRASES.get(entry.action)
    if phrase is not None:
        try:
            return phrase(entry, details, names)
        except (KeyError, TypeError, ValueError):
            pass  # an entry written by an older version: said plainly below
    target = entry.target_type
    if target == "license":
        named: Markup = _license(names, entry.target_id)
    elif target == "product":
        named = _product(names, entry.target_id)
    else:
        named = Markup("{} {}").format(target.replace("_", " "), entry.target_id or "")
    verb = entry.action.split(".", 1)[-1].replace("_", " ")
    shown = [(k, v) for k, v in details.items() if v is not None and k not in ("device",)]
    said = Markup("; ").join(Markup("{} {}").format(k.replace("_", " "), _value(v)) for k, v in shown)
    return Markup("{}: {}{}").format(verb, named, Markup(" ({})").format(said) if shown else "")


def plain(markup: Markup) -> str:
    """The sentence as text, for the CSV export."""
    return markup.striptags()
