"""The vendor's OpenID Connect connections: added, listed, removed (CLI, developer API and admin UI alike)."""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography.fernet import Fernet
from pydantic import BaseModel, ConfigDict, Field

from licentia.server.audit import AuditAction, record
from licentia.server.auth.roles import valid_role
from licentia.server.errors import ApiError, ErrorCode, existing
from licentia.server.notify.sealing import open_value, seal_value
from licentia.server.organisations.members import organisation_row
from licentia.server.store.tables import sso_connections as table

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class Purpose(enum.StrEnum):
    ADMIN = "admin"  # the admin UI of this installation
    PORTAL = "portal"  # an organisation's people in the customer portal


class ConnectionSpec(BaseModel):
    """A new connection, as the developer API takes it and the CLI and the admin form build it."""

    model_config = ConfigDict(extra="forbid")

    purpose: Purpose
    name: str = Field(min_length=1, max_length=100)
    issuer: str = Field(min_length=1, max_length=500)
    client_id: str = Field(min_length=1, max_length=500)
    client_secret: str = Field(min_length=1, max_length=2000)
    email_domains: list[str] = Field(default_factory=list, max_length=50)
    organisation_id: int | None = Field(default=None, ge=1, le=2**62)
    new_admin_role: str | None = None


@dataclass(frozen=True)
class Connection:
    """A connection as the sign-in uses it (the secret opened only when the code is redeemed)."""

    id: int
    purpose: Purpose
    name: str
    issuer: str
    client_id: str
    email_domains: tuple[str, ...]
    organisation_id: int | None
    new_admin_role: str | None
    client_secret_sealed: str

    def client_secret(self, fernet: Fernet) -> str:
        return open_value(self.client_secret_sealed, fernet, what=f"the client secret of connection {self.id}")

    def answers_for(self, email: str) -> bool:
        """Whether ``email`` is in this connection's domains (no domains: any, which only admin connections allow)."""
        if not self.email_domains:
            return self.purpose is Purpose.ADMIN
        return email.rpartition("@")[2].lower() in self.email_domains

    def public(self) -> dict[str, Any]:
        """What the API and the CLI show: never the secret."""
        return {
            "id": self.id,
            "purpose": self.purpose.value,
            "name": self.name,
            "issuer": self.issuer,
            "client_id": self.client_id,
            "email_domains": list(self.email_domains),
            "organisation_id": self.organisation_id,
            "new_admin_role": self.new_admin_role,
        }


def _connection(row: Any) -> Connection:
    return Connection(
        id=int(row.id),
        purpose=Purpose(row.purpose),
        name=row.name,
        issuer=row.issuer,
        client_id=row.client_id,
        email_domains=tuple(row.email_domains.split()),
        organisation_id=row.organisation_id,
        new_admin_role=row.new_admin_role,
        client_secret_sealed=row.client_secret_sealed,
    )


def _invalid(message: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_SSO_CONNECTION, message)


def _issuer(text: str) -> str:
    # Kept exactly as typed (no trailing slash added or removed): the ID token's ``iss`` must equal it.
    issuer = text.strip()
    try:
        parts = urlsplit(issuer)
        parts.port  # noqa: B018 (reading it checks it: a port out of range raises)
    except ValueError as exc:
        raise _invalid(f"{issuer!r} is not an issuer URL") from exc
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise _invalid("an issuer is an https:// URL (http:// only on this computer, for tests)")
    if not parts.hostname or parts.query or parts.fragment:
        raise _invalid(f"{issuer!r} is not an issuer URL")
    return issuer


def _domains(names: list[str]) -> tuple[str, ...]:
    domains = sorted({name.strip().lower().lstrip("@") for name in names if name.strip()})
    for domain in domains:
        if not _DOMAIN.match(domain):
            raise _invalid(f"{domain!r} is not an email domain")
    return tuple(domains)


def _text(value: str, what: str) -> str:
    # No control characters: these are shown on pages and sent in URLs (and PostgreSQL refuses a NUL).
    if any(ord(c) < 32 or ord(c) == 127 for c in value) or not value.strip():
        raise _invalid(f"the {what} must be printable text")
    return value.strip()


def add_connection(conn: sa.Connection, *, spec: ConnectionSpec, fernet: Fernet, actor: str, now: dt.datetime) -> int:
    name, client_id = _text(spec.name, "name"), _text(spec.client_id, "client id")
    _text(spec.issuer, "issuer")
    if "\x00" in spec.client_secret:
        raise _invalid("the client secret must be text")
    domains = _domains(spec.email_domains)
    if spec.purpose is Purpose.PORTAL and not domains:
        # Without domains any account of that provider would sign in as any address it vouches for.
        raise _invalid("a portal connection needs the email domains it answers for")
    role = None
    if spec.new_admin_role:
        if spec.purpose is not Purpose.ADMIN:
            raise _invalid("only an admin connection creates admins")
        role = valid_role(spec.new_admin_role)
        if not domains:
            # Else every account the provider knows, a contractor's or a test account's, would become an admin.
            raise _invalid("a connection that creates admins needs the email domains they come from")
    if spec.purpose is Purpose.ADMIN and spec.organisation_id is not None:
        raise _invalid("an admin connection belongs to the installation, not to an organisation")
    issuer = _issuer(spec.issuer)
    if spec.organisation_id is not None:
        organisation_row(conn, spec.organisation_id)  # unknown_organisation (404), never a foreign-key error
    new_id = conn.execute(
        table.insert()
        .values(
            purpose=spec.purpose.value,
            organisation_id=spec.organisation_id,
            name=name,
            issuer=issuer,
            client_id=client_id,
            client_secret_sealed=seal_value(spec.client_secret, fernet),
            email_domains=" ".join(domains),
            new_admin_role=role,
            created_at=now,
            created_by=actor,
        )
        .returning(table.c.id)
    ).scalar_one()
    record(
        conn,
        AuditAction.SSO_CONNECTION_ADD,
        new_id,
        actor=actor,
        now=now,
        purpose=spec.purpose.value,
        issuer=spec.issuer.strip(),
        domains=list(domains),
    )
    return int(new_id)


def list_connections(conn: sa.Connection, *, purpose: Purpose | None = None) -> list[Connection]:
    query = sa.select(table).order_by(table.c.id)
    if purpose is not None:
        query = query.where(table.c.purpose == purpose.value)
    return [_connection(row) for row in conn.execute(query)]


def get_connection(conn: sa.Connection, *, connection_id: int) -> Connection:
    row = conn.execute(sa.select(table).where(table.c.id == connection_id)).first()
    return _connection(existing(row, ErrorCode.UNKNOWN_SSO_CONNECTION, f"no single sign-on connection {connection_id}"))


def remove_connection(conn: sa.Connection, *, connection_id: int, actor: str, now: dt.datetime) -> None:
    found = get_connection(conn, connection_id=connection_id)
    conn.execute(table.delete().where(table.c.id == connection_id))
    record(conn, AuditAction.SSO_CONNECTION_REMOVE, connection_id, actor=actor, now=now, issuer=found.issuer)


def portal_connection_for(conn: sa.Connection, *, email: str) -> Connection | None:
    """The portal connection answering for ``email``'s domain (the first added, if several claim it)."""
    domain = email.rpartition("@")[2].lower()
    for found in list_connections(conn, purpose=Purpose.PORTAL):
        if domain in found.email_domains:
            return found
    return None
