"""A product's notification rules (its email switches and webhooks), cached for a few seconds per process.

Read inside the hot-path transaction of a writer batch, so one small
primary-key query at most, then cached: every worker re-reads them within
``RULES_TTL_SECONDS`` of a change, so nothing process-local can go stale for
long under several workers.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.core.vocabulary import Topic
from licentia.server.notify.messages import plausible_email
from licentia.server.notify.outbox import WebhookTarget
from licentia.server.store.tables import products, webhooks

RULES_TTL_SECONDS = 5.0


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
