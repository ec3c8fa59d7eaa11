"""The data model of docs/design.md (section 2), as SQLAlchemy tables.

Names are the contract: admin pages, the developer API and the migrations all
speak of these tables. Timestamps are stored as UTC and always come back
timezone-aware (:class:`UTCDateTime`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

UTC = dt.UTC


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every database (SQLite keeps no zone of its own)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime]
    # Privacy: client facts (computer name, user name, ...) are dropped unless enabled.
    collect_facts: Mapped[bool] = mapped_column(default=False)
    facts_retention_days: Mapped[int] = mapped_column(default=365)
    # {"emails": ["ops@vendor"], "on": {"install": true, "uninstall": true, ...}}
    notify: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Test mode (docs/evidence.md): the product's posts go to test_posts, echoed and emailed to test_email,
    # never to devices, events or any count.
    # The database's default only: the service's insert then names no column older revisions lack.
    test_mode: Mapped[bool] = mapped_column(server_default=sa.false())
    test_email: Mapped[str | None] = mapped_column(sa.String(320))
    # Hitek's proxy-log trail (docs/privacy.md): the product's applications also send their install,
    # register and usage posts as plain GETs (GET /v1/trail). ``usage_report_once``: one usage post only,
    # usage_report_days after registration. Both in the signed status document when on; database defaults
    # only, as test_mode.
    proxy_trail: Mapped[bool] = mapped_column(server_default=sa.false())
    usage_report_once: Mapped[bool] = mapped_column(server_default=sa.false())


class Policy(Base):
    """A license type: every knob of how one kind of license behaves (docs/licensing-models.md).

    A product has several named policies ("Trial", "Pro yearly", "Site
    floating"); a license references one and may override single knobs
    (``licenses.policy_overrides``). The product's default policy
    (``is_default``) rules the machines that hold no license. A change to a
    policy reaches every license of it at its next check; what a sale fixed
    (expiry, maintenance end) is copied onto the license when it is issued.
    """

    __tablename__ = "policies"
    __table_args__ = (sa.UniqueConstraint("product_id", "name", name="uq_policies_product_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    is_default: Mapped[bool] = mapped_column(default=False)
    # "node_locked" (a seat is a machine) or "floating" (seats are leases; see floating_*).
    kind: Mapped[str] = mapped_column(sa.String(16), default="node_locked")
    trial_days: Mapped[int] = mapped_column(default=30)
    # Machines a license may be activated on (node-locked) or leases at once (floating).
    max_devices: Mapped[int] = mapped_column(default=5)
    # A machine unseen this long frees its seat; 0: never.
    seat_release_days: Mapped[int] = mapped_column(default=180)
    lease_days: Mapped[int] = mapped_column(default=7)
    grace_days: Mapped[int] = mapped_column(default=7)
    # None means trial_days + 1, as docs/design.md says.
    usage_report_days: Mapped[int | None] = mapped_column(default=None)
    fingerprint_min_match: Mapped[int] = mapped_column(default=2)
    on_clone: Mapped[str] = mapped_column(sa.String(16), default="flag")
    allow_virtual_machines: Mapped[bool] = mapped_column(default=True)
    floating_lease_seconds: Mapped[int] = mapped_column(default=900)
    borrow_days: Mapped[int] = mapped_column(default=0)
    # "perpetual" | "fixed_date" (expiry_date) | "from_issue" | "from_activation" (expiry_days).
    expiry_mode: Mapped[str] = mapped_column(sa.String(16), default="perpetual")
    expiry_date: Mapped[dt.datetime | None]
    expiry_days: Mapped[int | None]
    # Updates: releases dated within this many days of issue; None: every release.
    maintenance_days: Mapped[int | None]
    # {"max_projects": {"value": 10, "expires_at": null}, ...}
    entitlements: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Definitions only: {"renders": {"limit": 1000, "period": "month"}}.
    meters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Self-service machine transfers allowed per period; None: no limit.
    transfer_limit: Mapped[int | None]
    transfer_period_days: Mapped[int] = mapped_column(default=365)
    # What a seat is: "machine" (max_devices machines) or "user" (max_devices named users, each on at most
    # machines_per_user machines; store/user_models.py).
    # Defaults on the server only: an insert that leaves them out names no column an older revision lacks.
    seat_unit: Mapped[str] = mapped_column(sa.String(16), server_default="machine")
    machines_per_user: Mapped[int] = mapped_column(server_default="3")
    updated_at: Mapped[dt.datetime | None]


class SigningKeyRow(Base):
    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    kid: Mapped[str] = mapped_column(sa.String(32), unique=True)
    public_key: Mapped[str] = mapped_column(sa.String(128))
    # Fernet-encrypted raw private key: a copied database alone cannot sign.
    private_key_enc: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # Signature of this key by the key it replaced (see core.signing endorsements).
    endorsement: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    created_at: Mapped[dt.datetime]
    retired_at: Mapped[dt.datetime | None]


class Release(Base):
    __tablename__ = "releases"
    __table_args__ = (sa.UniqueConstraint("product_id", "channel", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(sa.String(64))
    channel: Mapped[str] = mapped_column(sa.String(32), default="stable")
    released_at: Mapped[dt.datetime]
    download_url: Mapped[str | None] = mapped_column(sa.String(2000))
    notes: Mapped[str | None] = mapped_column(sa.Text)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    created_at: Mapped[dt.datetime]


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (sa.UniqueConstraint("source", "order_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    order_ref: Mapped[str] = mapped_column(sa.String(200))
    source: Mapped[str] = mapped_column(sa.String(64), default="manual")
    purchased_at: Mapped[dt.datetime]


class Organisation(Base):
    """A customer that is a team: members by email address (``organisation_members``) and the licenses it
    holds (``licenses.organisation_id``), managed by its owners and admins in the portal."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(sa.String(200))
    updated_at: Mapped[dt.datetime]


class OrganisationMember(Base):
    """One address in one organisation: ``owner``, ``admin`` or ``member``; invited until ``joined_at``.

    The invitation's token is stored only as SHA-256, works once and expires (threat: a copied table or
    a forwarded email joining somebody else to the organisation).
    """

    __tablename__ = "organisation_members"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "email", name="uq_organisation_members_org_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    invited_at: Mapped[dt.datetime]
    invited_by: Mapped[str] = mapped_column(sa.String(200))
    joined_at: Mapped[dt.datetime | None]
    # The pending invitation: SHA-256 of its token and when it stops working; both cleared once accepted.
    invitation_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    invitation_expires_at: Mapped[dt.datetime | None]


class License(Base):
    __tablename__ = "licenses"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    purchase_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchases.id"))
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    key_prefix: Mapped[str] = mapped_column(sa.String(8), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The key sealed with the server's key (notify.sealing), only so staff can email it again;
    # lookups use key_hash. None: issued before keys were kept (migration 0012).
    key_sealed: Mapped[str | None] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(16), default="active")
    expires_at: Mapped[dt.datetime | None]
    features: Mapped[list[Any]] = mapped_column(default=list)
    # The license type; a deleted policy must not orphan licenses (RESTRICT).
    policy_id: Mapped[int] = mapped_column(sa.ForeignKey("policies.id"), index=True)
    # Single knobs of the policy overridden for this license, e.g. {"max_devices": 20}.
    policy_overrides: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The organisation holding the license (its owners and admins manage it in the portal); None: a person's.
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    # The sale's terms, fixed at issue: updates released after this are not offered.
    maintenance_until: Mapped[dt.datetime | None]
    # The first activation (expiry mode "from_activation" counts from it).
    first_activated_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


# The dashboard's expiring-licenses queue: a product's licenses ending soonest (migration 0024).
sa.Index("ix_licenses_product_expires", License.product_id, License.expires_at)


def _day_of_last_seen(context: Any) -> dt.date:
    last_seen: dt.datetime = context.get_current_parameters()["last_seen"]
    return (last_seen.astimezone(dt.UTC) if last_seen.tzinfo is not None else last_seen).date()


class Machine(Base):
    """One computer as one product sees it: hashed hardware components matched K of N.

    The trial and the vendor's block belong here, so that every installation on
    the computer (another data path, another OS user, a reinstall) shares them.
    A license's seats count machines. A virtual machine is a machine of its own.
    """

    __tablename__ = "machines"
    __table_args__ = (
        sa.Index("ix_machines_product_machine", "product_id", "fp_machine"),
        sa.Index("ix_machines_product_disk", "product_id", "fp_disk"),
        sa.Index("ix_machines_product_mac", "product_id", "fp_mac"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    fp_machine: Mapped[str | None] = mapped_column(sa.String(64))
    fp_disk: Mapped[str | None] = mapped_column(sa.String(64))
    fp_cpu: Mapped[str | None] = mapped_column(sa.String(64))
    fp_mac: Mapped[str | None] = mapped_column(sa.String(64))
    trial_end: Mapped[dt.datetime | None]
    # The vendor's restriction of the whole computer: None, "blocked" or "suspended".
    restriction: Mapped[str | None] = mapped_column(sa.String(16))
    restriction_reason: Mapped[str | None] = mapped_column(sa.String(200))
    first_seen: Mapped[dt.datetime]
    hardware_changed_at: Mapped[dt.datetime | None]
    # The customer's own name for the computer, given in the portal (``fields.MachineLabel``).
    label: Mapped[str | None] = mapped_column(sa.String(64))


class Device(Base):
    """One installation: an application data path on a machine (the public API's "device")."""

    __tablename__ = "devices"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "external_id"),
        sa.Index("ix_devices_product_seen_day", "product_id", "seen_day"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    machine_id: Mapped[str] = mapped_column(sa.ForeignKey("machines.id", ondelete="CASCADE"), index=True)
    # The installation this one replaced at the same data path of the same machine
    # (recognised by fingerprint after its state was lost), and the reverse link.
    previous_id: Mapped[str | None] = mapped_column(sa.String(32))
    superseded_by: Mapped[str | None] = mapped_column(sa.String(32))
    # A caller-chosen id (web-API integrations); None for SDK devices.
    external_id: Mapped[str | None] = mapped_column(sa.String(200))
    data_path_hash: Mapped[str | None] = mapped_column(sa.String(64))
    is_virtual: Mapped[bool] = mapped_column(default=False)
    os_name: Mapped[str | None] = mapped_column(sa.String(200))
    app_version: Mapped[str | None] = mapped_column(sa.String(64))
    first_seen: Mapped[dt.datetime]
    last_seen: Mapped[dt.datetime]
    # The day of ``last_seen``, the column that is indexed instead: every status
    # check moves ``last_seen``, but this only once a day, so PostgreSQL updates
    # the row in place (HOT) without touching any index on other checks.
    seen_day: Mapped[dt.date] = mapped_column(default=_day_of_last_seen)
    # The status last decided for this installation (lists and dashboards read
    # it); every check decides it again from the machine, the license and the policy.
    status: Mapped[str] = mapped_column(sa.String(16), default="trial", index=True)
    status_reason: Mapped[str | None] = mapped_column(sa.String(200))
    license_id: Mapped[int | None] = mapped_column(sa.ForeignKey("licenses.id", ondelete="SET NULL"), index=True)
    activated_at: Mapped[dt.datetime | None]
    # SHA-256 of the 256-bit device secret and of the rotating tokens.
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    token_hash: Mapped[str | None] = mapped_column(sa.String(64))
    prev_token_hash: Mapped[str | None] = mapped_column(sa.String(64))
    usage_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    clone_suspected: Mapped[bool] = mapped_column(default=False)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # On a license whose seats are users: the person signed in here (``license_users.email``).
    user_email: Mapped[str | None] = mapped_column(sa.String(320))


# The rollups count each day's new installations and activations (rollups.service);
# without these a count scans every installation of the product. Neither column
# moves on a routine check, so status checks keep their in-place (HOT) updates.
sa.Index("ix_devices_product_first_seen", Device.product_id, Device.first_seen)
sa.Index("ix_devices_product_activated", Device.product_id, Device.activated_at)
# The admin lists' orders across products (migration 0013): none moves on a routine check.
sa.Index("ix_devices_seen_day", Device.seen_day)
sa.Index("ix_devices_first_seen", Device.first_seen)
sa.Index("ix_machines_product_trial_end", Machine.product_id, Machine.trial_end)
# The dashboard's expired-trial leads: a product's installations of one status, newest day first
# (migration 0024). ``status`` moves once in a trial's life and ``seen_day`` once a day, not at every check.
sa.Index("ix_devices_product_status_seen_day", Device.product_id, Device.status, Device.seen_day)
# The installations replaced by a recognised reinstall (migration 0015): few, and every count a
# vendor reads leaves them out (a lineage is one installation). Partial, so it holds only those;
# a routine check never writes ``superseded_by``.
sa.Index(
    "ix_devices_product_superseded",
    Device.product_id,
    postgresql_where=Device.superseded_by.is_not(None),
    sqlite_where=Device.superseded_by.is_not(None),
)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("device_id", "client_event_id"),
        sa.Index("ix_events_product_received", "product_id", "received_at"),
        sa.Index("ix_events_license_received", "license_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    device_id: Mapped[str | None] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    license_id: Mapped[int | None] = mapped_column(sa.ForeignKey("licenses.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    client_event_id: Mapped[str] = mapped_column(sa.String(64))
    occurred_at: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    client_facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    server_facts: Mapped[dict[str, Any]] = mapped_column(default=dict)


# On PostgreSQL the events table is partitioned by month (migration 0010), and a
# unique constraint of a partitioned table must include the partition key: there
# ``(device_id, client_event_id)`` is an ordinary index (``ix_events_device_client``,
# which also serves lookups by device) and the writer keeps events idempotent
# (events.service); the key is the unique index ``pk_events (id, received_at)``.
# The models describe SQLite's plain table; schema comparisons leave out these
# differences (:func:`compared_with_database`).
EVENTS_POSTGRESQL_DIFFERENCES = frozenset(
    {"uq_events_device_id", "ix_events_device_id", "ix_events_device_client", "pk_events"}
)


def compared_with_database(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's ``include_object``: False for the one-sided differences of a partitioned events table."""
    return not (name in EVENTS_POSTGRESQL_DIFFERENCES and compare_to is None)


class Value(Base):
    """Small key/value data an application saves per device or per license."""

    __tablename__ = "values_store"

    scope: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    owner_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
    updated_at: Mapped[dt.datetime]


class AdminUser(Base):
    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    # owner (everything, manages admins) | staff (writes) | viewer (reads only).
    role: Mapped[str] = mapped_column(sa.String(16), default="owner", server_default="owner")
    # The TOTP seed sealed with the server's key (never in clear); set once enrolment is confirmed.
    totp_sealed: Mapped[str | None] = mapped_column(sa.Text)
    totp_enabled_at: Mapped[dt.datetime | None]
    # The last accepted time step: a code is good once (a shoulder-surfed code cannot be replayed).
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # argon2id hashes of the unused recovery codes.
    recovery_hashes: Mapped[list[Any]] = mapped_column(JSONType, default=list)


class AdminSession(Base):
    """Sessions live in the database so any worker can serve any request."""

    __tablename__ = "admin_sessions"

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("admin_users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    # The password was right but the second factor is still due: this session opens nothing yet.
    awaiting_code: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # The public part of the token, used to find the row before the hash check.
    lookup: Mapped[str] = mapped_column(sa.String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(200))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str | None] = mapped_column(sa.String(320))
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    # A device's and a license's page read the staff actions on that object (their one history).
    __table_args__ = (sa.Index("ix_audit_entries_target", "target_type", "target_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(sa.String(320))
    action: Mapped[str] = mapped_column(sa.String(64))
    target_type: Mapped[str] = mapped_column(sa.String(32))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxMessage(Base):
    """Email and webhook deliveries, written in the same transaction as their cause."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(16))  # "email" | "webhook"
    topic: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = mapped_column()
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[dt.datetime]
    next_attempt_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[dt.datetime | None]
    claimed_until: Mapped[dt.datetime | None]
    # Webhook deliveries: the endpoint (its delivery log) and the receiver's last HTTP status.
    webhook_id: Mapped[int | None] = mapped_column(index=True)
    response_code: Mapped[int | None]


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(sa.String(2000))
    # The signing secret sealed with the server's key (``notify.sealing``); never stored in clear.
    secret: Mapped[str] = mapped_column(sa.Text)
    # The events it receives (``notify.catalog.WebhookEvent``); empty means every event.
    topics: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]
    description: Mapped[str | None] = mapped_column(sa.String(200))
    updated_at: Mapped[dt.datetime | None]


class RateLimit(Base):
    """Fixed-window counters shared by every worker (never process memory alone)."""

    __tablename__ = "rate_limits"

    bucket: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class DailyRollup(Base):
    """Per-day summaries the dashboards read instead of raw events."""

    __tablename__ = "daily_rollups"

    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(200), primary_key=True, default="")
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class Lease(Base):
    """A floating seat checked out by one installation for its machine (docs/licensing-models.md).

    A license's live leases (``ended_at`` null and ``expires_at`` ahead) count
    distinct machines: never more than the license's ``max_devices``. A row
    stays after it ends (``end_reason``: released, expired, force_released) so
    the vendor sees the history; a borrowed lease has ``borrowed_until``.
    """

    __tablename__ = "leases"
    __table_args__ = (sa.Index("ix_leases_license_live", "license_id", "ended_at", "expires_at"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    license_id: Mapped[int] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"))
    machine_id: Mapped[str] = mapped_column(sa.ForeignKey("machines.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime]
    heartbeat_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    borrowed_until: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    end_reason: Mapped[str | None] = mapped_column(sa.String(32))


class RollupWatermark(Base):
    """How far the daily rollups are done, so each run recomputes only new or changed days.

    ``last_event_id``: every event up to it is in the rollups (a later event
    with an older ``received_at``, such as an import, marks its day changed).
    ``closed_through``: the last day recomputed after it ended.
    """

    __tablename__ = "rollup_watermarks"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    closed_through: Mapped[dt.date | None] = mapped_column(sa.Date)
    updated_at: Mapped[dt.datetime]


def table_of(model: type[Base]) -> sa.Table:
    """The Core table of a model, typed for Core statements (insert/update/delete)."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


class OfflineActivation(Base):
    """An air-gapped activation: the request's nonce (single use), and the key that may free its seat.

    ``request_nonce`` is unique, so a request file turned into a response once
    is refused the second time, whichever worker sees it. ``proof_key`` is the
    Ed25519 public key the requesting machine put in its request: a
    deactivation proof must be signed with its private half, which never left
    that machine (docs/licensing-models.md, air-gapped activation).
    """

    __tablename__ = "offline_activations"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    license_id: Mapped[int] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    request_nonce: Mapped[str] = mapped_column(sa.String(64), unique=True)
    proof_key: Mapped[str] = mapped_column(sa.String(64))
    lease_until: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(sa.String(200))
    deactivated_at: Mapped[dt.datetime | None]
    deactivated_by: Mapped[str | None] = mapped_column(sa.String(200))


class FreedSeat(Base):
    """A seat the customer or the application gave back, and what took it (docs/licensing-models.md, "Transfers").

    Written when a deactivation (``/v1/deactivate``, the portal, an air-gapped
    proof) leaves a machine without the license; never by the vendor's staff or
    the scheduled release of an unseen seat. An activation that takes the seat
    fills ``taken_at``/``taken_by`` and says what it was (``outcome``): the same
    machine back, a transfer counted against the license type's limit, one paid
    by a grant of the vendor's, or one the vendor forgave. Pending: ``taken_at`` NULL.
    """

    __tablename__ = "freed_seats"

    id: Mapped[int] = mapped_column(primary_key=True)
    license_id: Mapped[int] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"), index=True)
    machine_id: Mapped[str] = mapped_column(sa.String(32))
    freed_at: Mapped[dt.datetime]
    # How: "deactivate", "portal", "offline" or "switched" (the installation activated another license).
    freed_by: Mapped[str] = mapped_column(sa.String(16))
    taken_at: Mapped[dt.datetime | None]
    taken_by: Mapped[str | None] = mapped_column(sa.String(32))
    # "returned", "transfer", "extra" or "forgiven" (devices.transfers.Outcome); NULL while pending.
    outcome: Mapped[str | None] = mapped_column(sa.String(16))


class TransferGrant(Base):
    """Transfers the vendor's staff granted one license beyond its type's limit; each is used once."""

    __tablename__ = "transfer_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    license_id: Mapped[int] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"), index=True)
    transfers: Mapped[int]
    granted_at: Mapped[dt.datetime]
    granted_by: Mapped[str] = mapped_column(sa.String(320))
    reason: Mapped[str | None] = mapped_column(sa.String(200))


class MeterUsage(Base):
    """What a license consumed of one meter in one period (docs/licensing-models.md, "Meters").

    One row per (license, meter, period start): a consumption is one conditional
    ``UPDATE ... SET used = used + n WHERE used + n <= limit`` on it, so
    consumers on many machines and workers never pass the limit together.
    """

    __tablename__ = "meter_usage"

    license_id: Mapped[int] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"), primary_key=True)
    meter: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    # The start of the period (UTC calendar: day, ISO week, month, year; 1970-01-01 for "lifetime").
    period_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    used: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    updated_at: Mapped[dt.datetime]


class MeterConsumption(Base):
    """A counted consumption by its idempotency key: a retried consume is answered, never counted twice."""

    __tablename__ = "meter_consumptions"
    __table_args__ = (sa.Index("ix_meter_consumptions_consumed_at", "consumed_at"),)

    license_id: Mapped[int] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    meter: Mapped[str] = mapped_column(sa.String(64))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    period_start: Mapped[dt.datetime]
    device_id: Mapped[str] = mapped_column(sa.String(32))
    consumed_at: Mapped[dt.datetime]


class CaseNote(Base):
    """A note the vendor's staff attached to a license, an installation or a machine (docs/evidence.md).

    Written only through the admin UI, the developer API and the CLI, never by an
    application: evidence reports carry these as the vendor's own notes. Exactly one
    subject is set. A note is never edited; a correction is another note.
    """

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    license_id: Mapped[int | None] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str | None] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    machine_id: Mapped[str | None] = mapped_column(sa.ForeignKey("machines.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[dt.datetime]
    text: Mapped[str] = mapped_column(sa.String(2000))


class PostInTestMode(Base):
    """One post from an application of a product in test mode, kept apart from every production table.

    Nothing reads these rows but the product's page and the CLI: no device, event, seat or count is made
    from them. ``body`` is the post as received (a license key in it masked; the emailed copy carries it
    sealed until sent); ``server_facts`` what the server saw (time, external IP, time zone).
    """

    __tablename__ = "test_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    received_at: Mapped[dt.datetime]
    action: Mapped[str] = mapped_column(sa.String(16))
    body: Mapped[dict[str, Any]]
    server_facts: Mapped[dict[str, Any]]
