"""A vendor's changes to a product: policy knobs, privacy, trail and notification switches, all audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.core.vocabulary import Topic
from licentia.server.audit import AuditAction, record
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.products.service import update_policy, validate_policy
from licentia.server.store.tables import products

MAX_NOTIFY_EMAILS = 20


def change_policy(
    conn: sa.Connection, *, product_id: int, values: dict[str, Any], actor: str, now: dt.datetime
) -> None:
    clean = validate_policy(values)
    update_policy(conn, product_id=product_id, values=clean)
    record(conn, AuditAction.POLICY_UPDATE, product_id, actor=actor, now=now, **clean)


def change_privacy(
    conn: sa.Connection, *, product_id: int, collect_facts: bool, retention_days: int, actor: str, now: dt.datetime
) -> None:
    if not 1 <= retention_days <= 36500:
        raise ApiError(ErrorCode.INVALID_RETENTION, "facts retention is between 1 and 36500 days")
    conn.execute(
        products.update()
        .where(products.c.id == product_id)
        .values(collect_facts=collect_facts, facts_retention_days=retention_days)
    )
    record(
        conn,
        AuditAction.PRODUCT_PRIVACY,
        product_id,
        actor=actor,
        now=now,
        collect_facts=collect_facts,
        facts_retention_days=retention_days,
    )


def change_proxy_trail(
    conn: sa.Connection, *, product_id: int, proxy_trail: bool, usage_report_once: bool, actor: str, now: dt.datetime
) -> None:
    """Turn Hitek's proxy-log trail (GET /v1/trail before each post) and the one-time usage post on or off.

    Both reach the applications in their next signed status document (docs/privacy.md says what the trail
    exposes, and to whom).
    """
    values = {"proxy_trail": proxy_trail, "usage_report_once": usage_report_once}
    conn.execute(products.update().where(products.c.id == product_id).values(**values))
    record(conn, AuditAction.PRODUCT_PROXY_TRAIL, product_id, actor=actor, now=now, **values)


def notify_settings(emails_text: str, switches: dict[str, bool]) -> dict[str, Any]:
    """``products.notify`` as the notification worker reads it: ``{"emails": [...], "on": {...}}``."""
    emails = [e.strip() for e in emails_text.replace(",", "\n").splitlines() if e.strip()]
    bad = [e for e in emails if "@" not in e or len(e) > 320]
    if bad:
        raise ApiError(ErrorCode.INVALID_EMAIL, f"not an email address: {bad[0]!r}")
    if len(emails) > MAX_NOTIFY_EMAILS:
        raise ApiError(ErrorCode.INVALID_EMAIL, f"at most {MAX_NOTIFY_EMAILS} notification addresses")
    return {"emails": emails, "on": {topic.value: bool(switches.get(topic)) for topic in Topic}}


def change_notifications(
    conn: sa.Connection, *, product_id: int, notify: dict[str, Any], actor: str, now: dt.datetime
) -> None:
    conn.execute(products.update().where(products.c.id == product_id).values(notify=notify))
    record(conn, AuditAction.PRODUCT_NOTIFY, product_id, actor=actor, now=now, **notify)
