"""Installer tickets: the signed token in every distributed copy (docs/evidence.md, "installer tickets").

A ticket is minted per download (by the vendor, or by the portal when a
customer downloads a release) and travels beside the installer. The first
installation that presents it starts its chain from it; another computer
presenting the same ticket is a copy of that download. Only the SHA-256 of the
ticket's token is kept, as for every token: a copied table mints no ticket.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from licentia.server.store.models import Base


class InstallerTicket(Base):
    __tablename__ = "installer_tickets"
    __table_args__ = (sa.Index("ix_installer_tickets_product_issued", "product_id", "issued_at"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    # What the download was, as far as it is known: the release, the customer and license it was for.
    release_id: Mapped[int | None] = mapped_column(sa.ForeignKey("releases.id", ondelete="SET NULL"))
    version: Mapped[str | None] = mapped_column(sa.String(64))
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    license_id: Mapped[int | None] = mapped_column(sa.ForeignKey("licenses.id", ondelete="SET NULL"), index=True)
    source: Mapped[str] = mapped_column(sa.String(16))  # "vendor" (UI, CLI, API) or "portal" (a customer's download)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    issued_at: Mapped[dt.datetime]
    issued_by: Mapped[str] = mapped_column(sa.String(200))


class InstallerTicketStart(Base):
    """An installation that started from a ticket: the first one, its reinstalls, and the copies."""

    __tablename__ = "installer_ticket_starts"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime]
    ticket_id: Mapped[str] = mapped_column(sa.ForeignKey("installer_tickets.id", ondelete="CASCADE"), index=True)
    # Another computer than the ones that started from this ticket before: a copy of the download.
    copy: Mapped[bool] = mapped_column(default=False)
    device_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    machine_id: Mapped[str] = mapped_column(sa.String(32))
