"""licenses.key_sealed: each new license key kept sealed, so staff can email it again

A license key was stored only as a hash, so once its email was sent nobody
could send it again. From this release each newly issued key is also kept
sealed with the server's key (``LICENTIA_SECRET_KEY``, as the signing keys,
the webhook secrets and the queued emails are; see ``notify.sealing``); the
hash stays the only lookup. An expand step: a nullable column that releases
before 0012 never read nor write. Keys issued before it cannot be recovered
(only their hash exists), so their rows keep NULL. Downgrade drops the sealed
copies: those licenses can then be resent only while their first email waits.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_sealed", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.drop_column("key_sealed")
