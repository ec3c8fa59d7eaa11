"""The event hook: turn a newly recorded event into outbox rows, in the same transaction.

It runs inside the hot-path transaction of a writer batch, so it stays
cheap: ``check`` and the other quiet kinds return before any query; a product's
switches and webhooks come from one small primary-key query, cached for a few
seconds (``notify.rules``: every worker re-reads them within seconds of a change,
so nothing process-local can go stale for long under several workers).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from licentia.core.vocabulary import PIRACY_EVENT_KINDS, EventKind, Topic
from licentia.server.notify.catalog import WebhookEvent
from licentia.server.notify.messages import plausible_email, vendor_email, webhook_data
from licentia.server.notify.outbox import enqueue_email, enqueue_webhook_deliveries
from licentia.server.notify.rules import rules_cache

# Event kinds that can notify; everything else (usage, upgrade, hardware_changed,
# and a check that started no trial) returns before touching the database.
NOTIFYING_KINDS = frozenset(
    {
        EventKind.INSTALL,
        EventKind.UNINSTALL,
        EventKind.FEEDBACK,
        EventKind.REGISTER,
        EventKind.DEACTIVATE,
        *PIRACY_EVENT_KINDS,
    }
)
_KIND_EVENTS = {
    EventKind.INSTALL: WebhookEvent.INSTALLATION_CREATED,
    EventKind.UNINSTALL: WebhookEvent.INSTALLATION_REMOVED,
    EventKind.FEEDBACK: WebhookEvent.FEEDBACK_RECEIVED,
    EventKind.DEACTIVATE: WebhookEvent.MACHINE_DEACTIVATED,
    EventKind.CLONE_SUSPECTED: WebhookEvent.COPY_SUSPECTED,
    EventKind.INVALID_KEY: WebhookEvent.KEY_INVALID,
}
# Set by the status check on the "check" event of a machine's first contact
# (``devices.service``): the row the check writes anyway carries the news, so
# a trial start costs the check no statement of its own.
TRIAL_STARTED_FLAG = "trial_started"


def topic_of(row: dict[str, Any]) -> Topic | None:
    """The notification topic of an event, or None if it does not notify."""
    kind = row["kind"]
    if kind in (EventKind.INSTALL, EventKind.UNINSTALL, EventKind.FEEDBACK):
        return Topic(kind)
    if kind in PIRACY_EVENT_KINDS:
        return Topic.PIRACY
    if kind == EventKind.REGISTER:
        result = (row.get("data") or {}).get("result")
        if result == "activated":
            return Topic.REGISTER
        if result == "too_many_devices":
            return Topic.PIRACY
    return None


def webhook_event_of(row: dict[str, Any]) -> WebhookEvent | None:
    """The webhook event an event row announces, or None."""
    kind = row["kind"]
    if kind in _KIND_EVENTS:
        return _KIND_EVENTS[kind]
    data = row.get("data") or {}
    if kind == EventKind.REGISTER:
        result = data.get("result")
        if result == "activated":
            return WebhookEvent.MACHINE_ACTIVATED
        if result == "too_many_devices":
            return WebhookEvent.LICENSE_OVER_LIMIT
    if kind == EventKind.CHECK and data.get(TRIAL_STARTED_FLAG):
        return WebhookEvent.TRIAL_STARTED
    return None


def dedupe_key(topic: str, row: dict[str, Any]) -> str:
    """One notification per cause.

    An event row is already unique per (device, client event id), and a
    client re-sending it is not inserted again. Piracy signals are grouped
    further, per device, reason and day: a key generator trying a hundred
    keys is one cause for the vendor's inbox, not a hundred.
    """
    if topic == Topic.PIRACY:
        day = row["received_at"].date().isoformat()
        if row["kind"] == EventKind.REGISTER:
            # Over the device limit: one cause per license (its key prefix) and device.
            reason = f"too_many_devices:{(row.get('data') or {}).get('key_prefix', '')}"
        else:
            # invalid_key: each try has another key; the device trying them is the cause.
            reason = row["kind"]
        return f"piracy:{row['product_id']}:{row.get('device_id')}:{reason}:{day}"[:180]
    return f"event:{row['id']}"


def on_event(conn: sa.Connection, row: dict[str, Any]) -> None:
    """Subscribed to ``events.service``: queue the vendor's email and webhooks for ``row``."""
    kind = row["kind"]
    if kind == EventKind.CHECK:
        # The hot path: an ordinary check leaves here without a query.
        if not (row.get("data") or {}).get(TRIAL_STARTED_FLAG):
            return
    elif kind not in NOTIFYING_KINDS:
        return
    topic = topic_of(row)
    event = webhook_event_of(row)
    if topic is None and event is None:
        return
    rules = rules_cache.get(conn, row["product_id"])
    if rules is None:
        return
    now = row["received_at"]
    to = rules.emails_for(topic) if topic is not None else ()
    if topic is not None and to:
        key = dedupe_key(topic, row)
        subject, text, body_html = vendor_email(topic=topic, product_name=rules.product_name, row=row)
        reply_to = plausible_email((row.get("data") or {}).get("email")) if topic == Topic.FEEDBACK else None
        enqueue_email(
            conn,
            to=list(to),
            subject=subject,
            text=text,
            html=body_html,
            topic=topic,
            now=now,
            dedupe_key=f"{key}:email",
            reply_to=reply_to,
        )
    if event is not None and rules.webhooks:
        # Webhooks are machines: they get every event they chose (the receiver
        # dedupes by Licentia-Event-Id), not the grouped piracy digest.
        enqueue_webhook_deliveries(
            conn,
            rules.webhooks,
            topic=event.value,
            data=webhook_data(topic=topic, product_slug=rules.product_slug, row=row),
            now=now,
            dedupe_key=f"event:{row['id']}",
        )
