"""Bodies and answers of the developer API (``/v1/admin``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from licentia.server.fields import Reason, Strict
from licentia.server.licenses.schemas import LicenseOrder, Source
from licentia.server.stored_time import StoredTime


# The developer API's license order (its schema name is what clients know): only its ``source`` differs.
class LicenseCreate(LicenseOrder):
    source: Source = "api"


class Customer(BaseModel):
    id: int
    name: str | None
    email: str


class TransfersOut(BaseModel):
    """The license's moves to another machine (docs/licensing-models.md, "Transfers")."""

    limit: int | None = Field(description="The license type's `transfer_limit` (null: no limit).")
    period_days: int = Field(description="The rolling window transfers are counted over (`transfer_period_days`).")
    used: int = Field(description="Transfers counted over the last `period_days`.")
    extra: int = Field(description="Transfers the vendor granted beyond the limit and not used yet.")
    left: int | None = Field(description="Transfers allowed now (null: no limit).")
    next_transfer_at: dt.datetime | None = Field(
        description="When the next transfer is allowed, if none is now (null: one is, or only a grant allows one)."
    )


class LicenseOut(BaseModel):
    id: int
    product: str
    key_prefix: str
    state: str
    expires_at: dt.datetime | None
    features: list[str]
    max_devices: int  # machines allowed
    devices_used: int  # seats taken: machines holding the license (however many installations each has)
    policy: str | None = None
    kind: str | None = None
    seat_unit: str | None = Field(
        default=None, description="`machine`, or `user`: seats are named people (GET /v1/admin/licenses/{id}/users)."
    )
    entitlements: dict[str, Any] = Field(default_factory=dict)
    policy_overrides: dict[str, Any] = Field(default_factory=dict)
    maintenance_until: dt.datetime | None = None
    seat_release_days: int | None = None
    transfers: TransfersOut | None = None
    customer: Customer | None
    organisation_id: int | None = Field(default=None, description="The organisation holding it, if any")
    created_at: dt.datetime
    updated_at: dt.datetime


class IssuedLicenseOut(LicenseOut):
    key: str = Field(description="The clear license key: returned once; stored hashed and sealed, never in clear.")


class Renewal(Strict):
    expires_at: StoredTime | None = Field(default=None, description="The new expiry (UTC).")
    days: int | None = Field(default=None, ge=1, le=36500, description="Or: push the expiry this many days.")


class LicensePatch(Strict):
    max_devices: int = Field(ge=1, le=36500)


class DeviceOut(BaseModel):
    """An installation; ``trial_end`` and ``restriction`` are its machine's, shared by every installation there."""

    id: str
    product_id: int
    machine_id: str
    restriction: str | None
    external_id: str | None
    status: str
    status_reason: str | None
    trial_end: dt.datetime | None
    license_id: int | None
    app_version: str | None
    os_name: str | None
    is_virtual: bool
    first_seen: dt.datetime
    last_seen: dt.datetime
    clone_suspected: bool
    previous_id: str | None = Field(
        default=None, description="The installation this one replaced: a reinstall recognised without its credential."
    )
    superseded_by: str | None = Field(
        default=None, description="The reinstall that replaced this installation (one installation with it)."
    )
    frees_at: dt.datetime | None = Field(
        default=None,
        description="License devices list: when this machine's seat frees unless seen again (null: never).",
    )

    @classmethod
    def of(cls, row: Any) -> DeviceOut:
        return cls.model_validate({name: getattr(row, name, None) for name in cls.model_fields})


class StatusChange(Strict):
    status: Literal["trial", "trial_expired", "registered", "suspended", "blocked"]
    reason: Reason | None = None


class ActionReason(Strict):
    """Why a revoke or a freed seat happened (a refund, a replaced computer): kept in the audit log."""

    reason: Reason | None = None


class TransferGrant(Strict):
    """Moves to another machine the vendor allows one license beyond its type's limit (audited)."""

    transfers: int = Field(ge=1, le=1000, description="How many more; each is used once, whenever it is needed.")
    reason: Reason | None = None


class TrialExtension(Strict):
    days: int = Field(ge=1, le=3650)


class EventOut(BaseModel):
    id: int
    product_id: int
    device_id: str | None
    license_id: int | None
    kind: str
    client_event_id: str
    occurred_at: dt.datetime | None
    received_at: dt.datetime
    data: dict[str, Any]
    client_facts: dict[str, Any]
    server_facts: dict[str, Any]


class EventPage(BaseModel):
    events: list[EventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class NoteIn(Strict):
    text: str = Field(description="The note: 1 to 2,000 characters (line breaks kept).")


class NoteOut(BaseModel):
    """A case note of the vendor's staff (docs/evidence.md, "Case notes")."""

    id: int
    on: Literal["license", "device", "machine"]
    license_id: int | None
    device_id: str | None
    machine_id: str | None
    author: str = Field(description="Who wrote it: `admin:EMAIL`, `token:NAME` (the API token) or `cli:USER`.")
    created_at: str
    text: str


class RatioDayOut(BaseModel):
    day: dt.date
    licenses_sold: int
    unlicensed_active: int
    copies_active: int
    unlicensed_per_license: float | None = Field(description="null while no license is sold.")
    copies_per_license: float | None


class PiracyRatioOut(BaseModel):
    """The piracy ratio per day, from the daily rollups (docs/evidence.md, "The piracy ratio")."""

    product: str
    active_days: int = Field(description="The window of an active installation, in days.")
    definition: str
    days: list[RatioDayOut]
