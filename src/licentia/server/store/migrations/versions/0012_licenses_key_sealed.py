"""licenses.key_sealed: each new license key kept sealed, so staff can email it again

A license key was stored only as a hash, so once its email was sent nobody
could send it again. From this release each newly issued key is also kept
sealed with the server's key (``LICENTIA_SECRET_KEY``, as the signing keys,
the webhook secrets and the queued emails are; see ``notify.sealing``); the
hash stays the only lookup. An expand step: a nullable column that releases
before 0012 neither read nor write.

Keys issued before it exist only as a hash, except while their first key
email still waits in the outbox (SMTP unset, the default, or failing): that
row holds the key sealed with the same server key. The upgrade keeps those
keys (opened in memory, checked against the license's hash, sealed into
``key_sealed``), when the server's key can be found here (``LICENTIA_SECRET_KEY``,
or ``secret.key`` beside a SQLite database or in ``LICENTIA_DATA_DIR``). Every
other old license keeps NULL: it can be resent only while its email waits.
Downgrade drops the column and with it the kept keys.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 13:40:00
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, InvalidToken

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.licentia")
SEALED_PREFIX = "sealed:v1:"  # notify.sealing.seal_value's format, frozen here as this revision wrote it
FIRST_KEY_EMAIL = "license-key:"
BATCH = 500


def _fernet(conn: sa.Connection) -> Fernet | None:
    """The server's key, found as the server finds it (as in 0009: a migration keeps its own copy)."""
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


def _secrets_of(payload: dict[str, Any], fernet: Fernet) -> list[str]:
    """The secrets a waiting email holds: sealed (this server's key) or, from before sealing, in clear."""
    if payload.get("sealed"):
        try:
            return [str(s) for s in json.loads(fernet.decrypt(str(payload["sealed"]).encode("ascii"))).values()]
        except (InvalidToken, ValueError):
            return []
    return [str(s) for s in (payload.get("redact") or {})]


def _keep_waiting_keys(conn: sa.Connection) -> None:
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("dedupe_key", sa.String),
        sa.column("sent_at", sa.DateTime),
        sa.column("payload"),
    )
    licenses = sa.table(
        "licenses", sa.column("id", sa.Integer), sa.column("key_hash", sa.String), sa.column("key_sealed", sa.Text)
    )
    waiting = outbox.c.sent_at.is_(None) & outbox.c.dedupe_key.like(FIRST_KEY_EMAIL + "%")
    if conn.execute(sa.select(outbox.c.id).where(waiting).limit(1)).first() is None:
        return  # a new database, or every key email was sent: nothing to keep
    fernet = _fernet(conn)
    if fernet is None:
        log.warning("no server key found: the keys of license emails still waiting are not kept (resend sends them)")
        return
    kept, after = 0, 0
    while True:
        # In batches by id: with SMTP unset every key email ever queued still waits, each with its certificate.
        rows = conn.execute(
            sa.select(outbox.c.id, outbox.c.dedupe_key, outbox.c.payload)
            .where(waiting, outbox.c.id > after)
            .order_by(outbox.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        after = rows[-1].id
        for row in rows:
            name = str(row.dedupe_key)[len(FIRST_KEY_EMAIL) :]
            found = None
            if name.isdigit():  # not a resend (none exist before 0012), not another email
                found = conn.execute(sa.select(licenses.c.key_hash).where(licenses.c.id == int(name))).first()
            if found is None:
                continue
            payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload or "{}")
            for secret in _secrets_of(payload, fernet):
                # Generated keys are stored in their canonical form: the key is the secret whose hash is the license's.
                if hashlib.sha256(secret.encode()).hexdigest() == found.key_hash:
                    sealed = SEALED_PREFIX + fernet.encrypt(secret.encode()).decode("ascii")
                    conn.execute(licenses.update().where(licenses.c.id == int(name)).values(key_sealed=sealed))
                    kept += 1
                    break
    log.info("kept %d license keys whose first email still waits in the outbox", kept)


def upgrade() -> None:
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_sealed", sa.Text(), nullable=True))
    _keep_waiting_keys(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.drop_column("key_sealed")
