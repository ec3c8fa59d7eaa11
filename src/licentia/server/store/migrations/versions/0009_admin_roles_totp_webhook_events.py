"""admin roles and TOTP, webhook events, delivery log, sealed webhook secrets

Admins get a role (``owner`` | ``staff`` | ``viewer``; every existing admin
becomes an owner, so nobody loses what they could do) and an optional TOTP
second factor (its seed sealed with the server's key, recovery codes as argon2
hashes). A session may wait for the second factor (``awaiting_code``).

Webhooks get a description and an update time, and their ``topics`` become
event names (``notify.catalog``): the old topics are mapped to the events
they stood for. Outbox rows of a webhook name it (``webhook_id``, the
endpoint's delivery log) and keep the receiver's last HTTP status.

Webhook secrets were stored in clear: the upgrade seals them with the
server's key (``LICENTIA_SECRET_KEY``, or ``secret.key`` beside a SQLite
database or in the data directory). When no key can be found here, the rows
stay as they were and the server seals them when it starts
(``notify.webhooks.seal_clear_secrets``). Downgrade opens them again with
the same key (without it, the secrets cannot come back and are left sealed).

Revision ID: 0009
Revises: 0005
Create Date: 2026-11-29 11:00:00
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, InvalidToken

import licentia.server.store.models

revision = "0009"
down_revision = "0008"
# A contract step (docs/operations.md, "Contract steps"): the webhook secrets become sealed text, which
# releases before 0009 would take for the secret itself and sign their deliveries with.
CONTRACT = (
    "webhooks.secret holds sealed text (and widens to TEXT): releases before 0009 would sign webhook"
    " deliveries with the sealed text, so stop them before this migration runs"
)
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.licentia")
SEALED_PREFIX = "sealed:v1:"
TOPIC_EVENTS = {
    "install": ["installation.created"],
    "uninstall": ["installation.removed"],
    "feedback": ["feedback.received"],
    "register": ["machine.activated"],
    "piracy": ["copy.suspected", "key.invalid", "license.over_limit"],
}


def _fernet(conn: sa.Connection) -> Fernet | None:
    key = os.environ.get("LICENTIA_SECRET_KEY")
    if key:
        return Fernet(key.encode())
    candidates: list[Path] = []
    if conn.dialect.name == "sqlite" and conn.engine.url.database:
        candidates.append(Path(conn.engine.url.database).parent / "secret.key")
    data_dir = os.environ.get("LICENTIA_DATA_DIR")
    if data_dir:
        candidates.append(Path(data_dir) / "secret.key")
    for path in candidates:
        if path.is_file():
            return Fernet(path.read_bytes().strip())
    return None


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return list(value or [])


def upgrade() -> None:
    with op.batch_alter_table("admin_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=16), server_default="owner", nullable=False))
        batch_op.add_column(sa.Column("totp_sealed", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("totp_enabled_at", licentia.server.store.models.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("recovery_hashes", licentia.server.store.models.JSONType, server_default=sa.text("'[]'"), nullable=False)
        )
    with op.batch_alter_table("admin_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("awaiting_code", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("response_code", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_webhook_id"), ["webhook_id"], unique=False)
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("updated_at", licentia.server.store.models.UTCDateTime(), nullable=True))
        batch_op.alter_column("secret", existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=False)

    conn = op.get_bind()
    hooks = sa.table(
        "webhooks", sa.column("id", sa.Integer), sa.column("secret", sa.Text), sa.column("topics", sa.JSON)
    )
    outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("channel", sa.String), sa.column("payload"))
    fernet = _fernet(conn)
    left_clear = 0
    for row in conn.execute(sa.select(hooks.c.id, hooks.c.secret, hooks.c.topics)).all():
        events = sorted({event for topic in _json_list(row.topics) for event in TOPIC_EVENTS.get(topic, [topic])})
        values: dict[str, Any] = {"topics": events}
        if not row.secret.startswith(SEALED_PREFIX):
            if fernet is not None:
                values["secret"] = SEALED_PREFIX + fernet.encrypt(row.secret.encode()).decode("ascii")
            else:
                left_clear += 1
        conn.execute(hooks.update().where(hooks.c.id == row.id).values(**values))
    if left_clear:
        log.warning("%d webhook secrets wait for the server's key to be sealed (at the next start)", left_clear)
    # The delivery log: existing webhook deliveries name their endpoint.
    for delivery in conn.execute(sa.select(outbox.c.id, outbox.c.payload).where(outbox.c.channel == "webhook")).all():
        payload = delivery.payload if isinstance(delivery.payload, dict) else json.loads(delivery.payload or "{}")
        if isinstance(payload.get("webhook_id"), int):
            conn.execute(
                sa.text("UPDATE outbox SET webhook_id = :w WHERE id = :id"),
                {"w": payload["webhook_id"], "id": delivery.id},
            )


def downgrade() -> None:
    conn = op.get_bind()
    hooks = sa.table(
        "webhooks", sa.column("id", sa.Integer), sa.column("secret", sa.Text), sa.column("topics", sa.JSON)
    )
    events_topic = {event: topic for topic, events in TOPIC_EVENTS.items() for event in events}
    fernet = _fernet(conn)
    for row in conn.execute(sa.select(hooks.c.id, hooks.c.secret, hooks.c.topics)).all():
        topics = sorted({events_topic[e] for e in _json_list(row.topics) if e in events_topic})
        values: dict[str, Any] = {"topics": topics}
        if row.secret.startswith(SEALED_PREFIX) and fernet is not None:
            try:
                values["secret"] = fernet.decrypt(row.secret[len(SEALED_PREFIX) :].encode()).decode()
            except InvalidToken:
                log.warning("webhook %s: its secret cannot be opened with this key and stays sealed", row.id)
        conn.execute(hooks.update().where(hooks.c.id == row.id).values(**values))
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=False)
        batch_op.drop_column("updated_at")
        batch_op.drop_column("description")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_webhook_id"))
        batch_op.drop_column("response_code")
        batch_op.drop_column("webhook_id")
    with op.batch_alter_table("admin_sessions", schema=None) as batch_op:
        batch_op.drop_column("awaiting_code")
    with op.batch_alter_table("admin_users", schema=None) as batch_op:
        batch_op.drop_column("recovery_hashes")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_sealed")
        batch_op.drop_column("role")
