"""The event hook: turn a newly recorded event into outbox rows, in the same transaction.

It runs inside the hot-path transaction of a writer batch, so it stays
cheap: ``check`` and the other quiet kinds return before any query; a product's
switches and webhooks come from one small primary-key query, cached for a few
seconds (every worker re-reads them within ``RULES_TTL_SECONDS`` of a change,
so nothing process-local can go stale for long under several workers).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.core.vocabulary import PIRACY_EVENT_KINDS, EventKind, Topic
from licentia.server.notify.catalog import WebhookEvent
from licentia.server.notify.messages import plausible_email, vendor_email, webhook_data
from licentia.server.notify.outbox import WebhookTarget, enqueue_email, enqueue_webhook_deliveries, webhooks
from licentia.server.store.models import Product, table_of

products = table_of(Product)

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
RULES_TTL_SECONDS = 5.0


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


@dataclass(frozen=True)
class NotifyRules:
    """One product's ``notify`` settings, read defensively.

    A malformed value (an admin's typo) must never make the event's own
    transaction fail, so parsing never raises: unknown shapes mean "off".
    """

    product_name: str
    product_slug: str
    emails: tuple[str, ...]
    switches: dict[str, bool]
    webhooks: tuple[WebhookTarget, ...]

    @classmethod
    def parse(cls, *, name: str, slug: str, notify: Any, hooks: tuple[WebhookTarget, ...]) -> NotifyRules:
        notify = notify if isinstance(notify, dict) else {}
        raw_emails = notify.get("emails")
        emails = (
            tuple(e for e in (plausible_email(x) for x in raw_emails or ()) if e)
            if isinstance(raw_emails, list)
            else ()
        )
        raw_on = notify.get("on") if isinstance(notify.get("on"), dict) else {}
        assert isinstance(raw_on, dict)
        # Defaults: everything off until emails are configured, then on unless switched off.
        switches = {t.value: bool(raw_on.get(t, bool(emails))) if emails else False for t in Topic}
        return cls(name, slug, emails, switches, hooks)

    def emails_for(self, topic: str) -> tuple[str, ...]:
        return self.emails if self.switches.get(topic) else ()


class RulesCache:
    """Product rules per database and product id, kept ``ttl`` seconds (thread-safe)."""

    def __init__(self, ttl: float = RULES_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, int], tuple[float, NotifyRules | None]] = {}

    def get(self, conn: sa.Connection, product_id: int) -> NotifyRules | None:
        # Keyed by database too: one process may serve several (tests, or
        # tools that open two databases); product ids repeat across them.
        key = (conn.engine.url.render_as_string(hide_password=True), product_id)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        rules = load_rules(conn, product_id)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (now, rules)
        return rules

    def forget(self) -> None:
        """Drop everything (after this process changed a product's settings, and in tests)."""
        with self._lock:
            self._entries.clear()


def load_rules(conn: sa.Connection, product_id: int) -> NotifyRules | None:
    """One query: the product (by primary key) with its active webhooks and the global ones."""
    join = sa.and_(
        webhooks.c.active.is_(True),
        sa.or_(webhooks.c.product_id == products.c.id, webhooks.c.product_id.is_(None)),
    )
    rows = conn.execute(
        sa.select(products.c.name, products.c.slug, products.c.notify, webhooks.c.id, webhooks.c.url, webhooks.c.topics)
        .select_from(products.outerjoin(webhooks, join))
        .where(products.c.id == product_id)
    ).all()
    if not rows:
        return None
    hooks = tuple(
        WebhookTarget(id=r.id, url=r.url, topics=tuple(r.topics or ()) if isinstance(r.topics, list) else ())
        for r in rows
        if r.id is not None
    )
    first = rows[0]
    return NotifyRules.parse(name=first.name, slug=first.slug, notify=first.notify, hooks=hooks)


rules_cache = RulesCache()


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
