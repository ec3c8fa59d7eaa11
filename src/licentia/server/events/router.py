"""POST /v1/events (batches, idempotent by client event id), POST /v1/feedback and GET /v1/trail."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from licentia.core.vocabulary import REPORTED_EVENT_KINDS, EventKind
from licentia.server.credentials import DeviceCredential, authenticate
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.events.facts import server_facts
from licentia.server.events.payloads import FactName, FactValue
from licentia.server.events.service import event_row, record_events
from licentia.server.events.trail import read_query, record_part
from licentia.server.products.test_mode import record_test_post
from licentia.server.ratelimit import hit, peek
from licentia.server.state import AppState, StateDep
from licentia.server.store.tables import events, products
from licentia.server.stored_time import StoredTime

router = APIRouter(prefix="/v1", tags=["events"])
MAX_BATCH = 200
MAX_DATA_KEYS = 40
# Trail GETs from one address per hour: a few per event, so an office behind one address is far below it.
TRAIL_PER_HOUR = 3000

EventId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
_REPORTED = sorted(kind.value for kind in REPORTED_EVENT_KINDS)


def _reported(kind: str) -> str:
    # The server records check, clone_suspected, invalid_key... itself: a client reporting
    # one could forge evidence against another installation or hide its own.
    if kind not in REPORTED_EVENT_KINDS:
        raise ValueError(f"Input should be one of {', '.join(repr(k) for k in _REPORTED)}")
    return kind


ReportedKind = Annotated[str, AfterValidator(_reported), WithJsonSchema({"type": "string", "enum": _REPORTED})]


class ClientEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: EventId = Field(description="Client-chosen idempotency id; re-sending it is harmless.")
    kind: ReportedKind
    occurred_at: StoredTime | None = None
    data: dict[FactName, FactValue] = Field(default_factory=dict, max_length=MAX_DATA_KEYS)
    facts: dict[FactName, FactValue] = Field(default_factory=dict, max_length=MAX_DATA_KEYS)


class EventBatch(BaseModel):
    events: list[ClientEvent] = Field(max_length=MAX_BATCH)


class EventsAccepted(BaseModel):
    accepted: int = Field(description="Events stored by this call.")
    duplicates: int = Field(description="Events already stored earlier (same client event id).")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: EventId | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    facts: dict[FactName, FactValue] = Field(default_factory=dict, max_length=MAX_DATA_KEYS)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def _store(request: Request, state: AppState, credential: Any, items: list[dict[str, Any]]) -> EventsAccepted:
    now = state.clock.now()
    facts_server = server_facts(request, now=now, trusted_proxies=state.trusted_proxies)

    def job(conn: Any) -> EventsAccepted:
        device = authenticate(conn, credential)
        collect = conn.execute(
            products.select().with_only_columns(products.c.collect_facts).where(products.c.id == device.product_id)
        ).scalar_one()
        rows = [
            event_row(
                product_id=device.product_id,
                device_id=device.id,
                license_id=device.license_id,
                kind=item["kind"],
                client_event_id=item["id"],
                occurred_at=_aware(item.get("occurred_at")),
                received_at=now,
                data=item.get("data") or {},
                client_facts=(item.get("facts") or {}) if collect else {},
                server_facts=facts_server,
            )
            for item in items
        ]
        unique = list({r["client_event_id"]: r for r in rows}.values())
        if any(r["kind"] == EventKind.INSTALL for r in unique) and installed_before(conn, device):
            # A fresh data folder reports "install"; the server already recorded what it was.
            unique = [r for r in unique if r["kind"] != EventKind.INSTALL]
        new = record_events(conn, unique)
        return EventsAccepted(accepted=len(new), duplicates=len(rows) - len(new))

    return await state.writer.run(job)


# The server's own record that an installation came back: its first install was counted before.
_CAME_BACK = frozenset({EventKind.INSTALL, EventKind.REINSTALL, EventKind.UPGRADE})


def installed_before(conn: Any, device: Any) -> bool:
    """Whether an ``install`` from this installation would count it twice (dropped, answered as a duplicate).

    The SDK reports ``install`` from every fresh data folder, a reinstall's too. A
    reinstall is one installation: recognised by fingerprint (``previous_id``), or
    back with its credential (a ``reinstall`` event, or an ``upgrade`` ``via``
    a reinstall), or simply one that reported its install already. Rare (once
    per data folder), so the look-up costs a check nothing.
    """
    if device.previous_id is not None:
        return True
    kinds = conn.execute(
        sa.select(events.c.kind, events.c.data)
        .where(events.c.device_id == device.id, events.c.kind.in_([str(k) for k in _CAME_BACK]))
        .limit(100)
    ).all()
    return any(kind != EventKind.UPGRADE or (data or {}).get("via") == "reinstall" for kind, data in kinds)


@router.post("/events")
async def post_events(
    request: Request, state: StateDep, batch: EventBatch, credential: DeviceCredential
) -> EventsAccepted:
    """Report a batch of events (install, usage, uninstall, ...) for the calling device."""
    return await _store(request, state, credential, [e.model_dump() for e in batch.events])


@router.post("/feedback")
async def post_feedback(
    request: Request, state: StateDep, body: FeedbackRequest, credential: DeviceCredential
) -> EventsAccepted:
    """Send feedback text from the application (stored as a ``feedback`` event)."""
    import uuid

    item = {
        "id": body.id or f"fb-{uuid.uuid4().hex}",
        "kind": EventKind.FEEDBACK,
        "data": {"text": body.text, "email": body.email},
        "facts": body.facts,
    }
    return await _store(request, state, credential, [item])


@router.get("/trail", status_code=204, response_class=Response)
async def get_trail(request: Request, state: StateDep) -> Response:
    """One part of an event's proxy-log trail (Hitek's GET before the POST); no credential, nothing secret.

    Answered ``204`` with nothing, a repeated part included; ``404 trail_off`` when no product of this
    slug keeps a trail, ``422 invalid_trail`` for a query the trail does not take.
    """
    part = read_query(request.url.query)
    now = state.clock.now()
    facts = server_facts(request, now=now, trusted_proxies=state.trusted_proxies)

    def job(conn: Any) -> None:
        columns = (products.c.id, products.c.proxy_trail, products.c.test_mode, products.c.collect_facts)
        product = conn.execute(sa.select(*columns).where(products.c.slug == part.product)).first()
        if product is None or not product.proxy_trail:
            # One answer for an unknown product and one without a trail: the endpoint tells nothing more.
            raise ApiError(ErrorCode.TRAIL_OFF, f"no proxy-log trail is kept for {part.product!r}")
        bucket = f"trail:{facts['external_ip']}"
        wait = peek(conn, bucket, now, limit=TRAIL_PER_HOUR)
        if wait is not None:
            raise ApiError(
                ErrorCode.RATE_LIMITED, "too many trail requests from here", headers={"Retry-After": str(wait)}
            )
        hit(conn, bucket, now)
        kept = part if product.collect_facts else part.without_facts()
        if product.test_mode:  # kept apart with the product's other test posts, counted nowhere
            body = {"mode": kept.mode, "id": kept.event_id, "part": kept.part, "last": kept.last, "fields": kept.fields}
            record_test_post(
                conn, product=part.product, action="trail", body=body, server_facts=facts, now=now, fernet=state.fernet
            )
            return
        record_part(conn, product_id=product.id, part=kept, server_facts=facts, now=now)

    await state.writer.run(job)
    return Response(status_code=204)
