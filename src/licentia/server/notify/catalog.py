"""The webhook events, each enumerated once, and :func:`emit`, the one way to announce one.

An event is emitted in the transaction of its cause: the outbox rows it
writes commit or roll back with the change itself. A product's webhooks come
from the same short-lived cache the event hook uses, so emitting costs no
query when nobody listens (and one small primary-key read every few seconds
when someone does).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa


class WebhookEvent(enum.StrEnum):
    """What a webhook endpoint may subscribe to (``webhooks.topics``; empty means all)."""

    LICENSE_CREATED = "license.created"
    LICENSE_SUSPENDED = "license.suspended"
    LICENSE_REINSTATED = "license.reinstated"
    LICENSE_REVOKED = "license.revoked"
    LICENSE_RENEWED = "license.renewed"
    LICENSE_EXPIRED = "license.expired"
    LICENSE_OVER_LIMIT = "license.over_limit"
    MACHINE_ACTIVATED = "machine.activated"
    MACHINE_DEACTIVATED = "machine.deactivated"
    LICENSE_USER_ASSIGNED = "license.user_assigned"
    LICENSE_USER_FREED = "license.user_freed"
    TRIAL_STARTED = "trial.started"
    TRIAL_ENDING = "trial.ending"
    TRIAL_EXPIRED = "trial.expired"
    COPY_SUSPECTED = "copy.suspected"
    KEY_INVALID = "key.invalid"
    QUOTA_EXCEEDED = "quota.exceeded"
    RELEASE_PUBLISHED = "release.published"
    INSTALLATION_CREATED = "installation.created"
    INSTALLATION_REMOVED = "installation.removed"
    FEEDBACK_RECEIVED = "feedback.received"
    ORGANISATION_CREATED = "organisation.created"
    MEMBER_INVITED = "member.invited"
    MEMBER_JOINED = "member.joined"
    MEMBER_REMOVED = "member.removed"
    MEMBER_ROLE_CHANGED = "member.role_changed"


# Sent only by "Send test": never subscribed to, always delivered to the endpoint tested.
PING = "ping"

DESCRIPTIONS: dict[str, str] = {
    WebhookEvent.LICENSE_CREATED: "a license was issued (by the admin UI, the API, the CLI or a payment)",
    WebhookEvent.LICENSE_SUSPENDED: "a license was suspended",
    WebhookEvent.LICENSE_REINSTATED: "a suspended license was made active again",
    WebhookEvent.LICENSE_REVOKED: "a license was revoked; its seats were freed",
    WebhookEvent.LICENSE_RENEWED: "a license got a new expiry date",
    WebhookEvent.LICENSE_EXPIRED: "a license's expiry date passed",
    WebhookEvent.LICENSE_OVER_LIMIT: "a license key was tried on more machines than it allows",
    WebhookEvent.MACHINE_ACTIVATED: "a machine took a seat of a license",
    WebhookEvent.MACHINE_DEACTIVATED: "a machine left a license (its user, the vendor, a revocation or seat release)",
    WebhookEvent.LICENSE_USER_ASSIGNED: "a person took a user seat of a license (signed in, or assigned by the vendor)",
    WebhookEvent.LICENSE_USER_FREED: "a person's user seat was freed (by the vendor); their machines left the license",
    WebhookEvent.TRIAL_STARTED: "a machine was seen for the first time and its trial started",
    WebhookEvent.TRIAL_ENDING: "a machine's trial ends within three days and it holds no license",
    WebhookEvent.TRIAL_EXPIRED: "a machine's trial ended and it holds no license",
    WebhookEvent.COPY_SUSPECTED: "an installation's state showed up on another machine",
    WebhookEvent.KEY_INVALID: "someone tried a license key that was never issued",
    WebhookEvent.QUOTA_EXCEEDED: "a license used more of a metered quota than it allows",
    WebhookEvent.RELEASE_PUBLISHED: "a release was published",
    WebhookEvent.INSTALLATION_CREATED: "an application reported its installation",
    WebhookEvent.INSTALLATION_REMOVED: "an application reported its uninstallation",
    WebhookEvent.FEEDBACK_RECEIVED: "a user sent feedback from the application",
    WebhookEvent.ORGANISATION_CREATED: "an organisation was created (by the vendor or by a purchase)",
    WebhookEvent.MEMBER_INVITED: "an address was invited to an organisation",
    WebhookEvent.MEMBER_JOINED: "an invited address accepted and joined its organisation",
    WebhookEvent.MEMBER_REMOVED: "a member left an organisation or was removed (or an invitation was withdrawn)",
    WebhookEvent.MEMBER_ROLE_CHANGED: "a member of an organisation became owner, admin or member",
}


def emit(
    conn: sa.Connection,
    event: WebhookEvent,
    *,
    product_id: int,
    data: dict[str, Any],
    now: dt.datetime,
    dedupe_key: str,
) -> int:
    """Queue ``event`` for every active endpoint of the product (or of all products) that wants it.

    ``dedupe_key`` names the cause: emitting the same cause twice (a sweep on
    two hosts, a retried request) queues it once. Returns the deliveries queued.
    """
    from licentia.server.notify.outbox import enqueue_webhook_deliveries
    from licentia.server.notify.rules import rules_cache

    rules = rules_cache.get(conn, product_id)
    if rules is None or not rules.webhooks:
        return 0
    body = {"product": rules.product_slug, **data}
    return enqueue_webhook_deliveries(
        conn, rules.webhooks, topic=event.value, data=body, now=now, dedupe_key=f"{event.value}:{dedupe_key}"
    )


def quota_exceeded(
    conn: sa.Connection,
    *,
    product_id: int,
    license_id: int,
    meter: str,
    used: int | float,
    limit: int | float,
    period_start: dt.datetime,
    now: dt.datetime,
) -> int:
    """Announce that ``license_id`` used more of ``meter`` than its ``limit`` in the period starting then.

    For the metering service: call it in the transaction that records the
    usage going over; once per license, meter and period, however often it is called.
    """
    return emit(
        conn,
        WebhookEvent.QUOTA_EXCEEDED,
        product_id=product_id,
        data={
            "license_id": license_id,
            "meter": meter,
            "used": used,
            "limit": limit,
            "period_start": period_start.isoformat(),
        },
        now=now,
        dedupe_key=f"{license_id}:{meter}:{period_start.isoformat()}",
    )


def license_event(
    conn: sa.Connection, event: WebhookEvent, *, license_id: int, now: dt.datetime, cause: str, **extra: Any
) -> int:
    """Emit ``event`` about a license, with what a receiver needs to find it (never the key itself).

    ``cause`` makes the delivery unique (a state change's time, a new expiry).
    """
    from licentia.server.store.tables import customers, licenses

    row = conn.execute(
        sa.select(
            licenses.c.product_id,
            licenses.c.key_prefix,
            licenses.c.state,
            licenses.c.expires_at,
            customers.c.email,
        )
        .select_from(licenses.outerjoin(customers, customers.c.id == licenses.c.customer_id))
        .where(licenses.c.id == license_id)
    ).first()
    if row is None:
        return 0
    data = {
        "license": {
            "id": license_id,
            "key_prefix": row.key_prefix,
            "state": row.state,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
            "customer_email": row.email,
        },
        **extra,
    }
    return emit(conn, event, product_id=row.product_id, data=data, now=now, dedupe_key=f"{license_id}:{cause}")
