"""The rows a checkout and a heartbeat read, as types (see ``devices.row_types``: for mypy only).

Names follow the statements of ``leases.rows``: ``LeaseRow`` is a row of
``leases`` (``store.models.Lease``; a SQLAlchemy row of the vendor's pages
will do), ``LeaseRecord`` one read by a ``Statement`` (a dict, spread into a
new one when a lease moves), ``LicenseRecord`` is
:data:`~licentia.server.leases.rows.LICENSE_BY_KEY`'s, ``BeatingLeaseRow`` is
:data:`~licentia.server.leases.rows.BEATING_LEASE`'s (the lease with what a
heartbeat needs of its license, as ``l_*``), ``SeatsTakenRow`` is
:data:`~licentia.server.leases.rows.SEATS_TAKEN`'s. Imported under
``TYPE_CHECKING`` only: it costs the server nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from licentia.server.devices.row_types import Columns, LicenseRow


class LeaseRow(Protocol):
    """A floating seat's lease."""

    @property
    def id(self) -> str: ...
    @property
    def product_id(self) -> int: ...
    @property
    def license_id(self) -> int: ...
    @property
    def machine_id(self) -> str: ...
    @property
    def device_id(self) -> str: ...
    @property
    def created_at(self) -> dt.datetime: ...
    @property
    def heartbeat_at(self) -> dt.datetime: ...
    @property
    def expires_at(self) -> dt.datetime: ...
    @property
    def borrowed_until(self) -> dt.datetime | None: ...
    @property
    def ended_at(self) -> dt.datetime | None: ...
    @property
    def end_reason(self) -> str | None: ...


class LeaseRecord(LeaseRow, Columns, Protocol):
    """A lease as a ``Statement`` reads it: its columns are also its items."""


class LicenseRecord(LicenseRow, Columns, Protocol):
    """A license as a ``Statement`` reads it (without its customer's name)."""


class BeatingLeaseRow(LeaseRecord, Protocol):
    """A lease read for its heartbeat, with its license's columns (``rows.license_of`` makes them a license)."""

    @property
    def l_state(self) -> str: ...
    @property
    def l_expires_at(self) -> dt.datetime | None: ...
    @property
    def l_policy_id(self) -> int: ...
    @property
    def l_policy_overrides(self) -> dict[str, Any]: ...
    @property
    def l_features(self) -> list[Any]: ...
    @property
    def l_key_prefix(self) -> str: ...


class SeatsTakenRow(Protocol):
    """How many machines hold a live lease of a license, when the first of them frees, whether one is ``mine``."""

    @property
    def machines(self) -> int: ...
    @property
    def first_end(self) -> dt.datetime | None: ...
    @property
    def mine(self) -> int: ...
