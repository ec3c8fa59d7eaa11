"""The audit log: every change made in the UI, the CLI or the developer API, with who and when."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.server.store.tables import audit_entries


def record(
    conn: sa.Connection,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: Any,
    now: dt.datetime,
    **details: Any,
) -> None:
    conn.execute(
        audit_entries.insert().values(
            at=now,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            details=details,
        )
    )
