"""Answering a request file and taking a deactivation proof in the server's writer (developer API, admin UI, portal).

Both run as writer jobs, like ``/v1/activate``: a seat is claimed by the
same code, serialised the same way, and committed before the answer leaves.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.offline import service
from licentia.server.state import AppState


async def answer(
    state: AppState, text: str, *, lease_days: int, actor: str, customer_email: str | None = None
) -> service.Answered:
    """Answer a request file in the writer."""
    unverified = service.read_request(text)
    now = state.clock.now()

    def job(conn: sa.Connection) -> service.Answered:
        return service.answer_request(
            conn,
            checker=state.checker,
            request=unverified,
            lease_days=lease_days,
            actor=actor,
            now=now,
            customer_email=customer_email,
        )

    try:
        return await state.writer.run(job)
    except sa.exc.IntegrityError as exc:
        # The same request answered by another worker at the same moment: its nonce won.
        raise ApiError(ErrorCode.OFFLINE_REQUEST_USED, "this activation request was answered already") from exc


async def free(state: AppState, proof: str, *, actor: str, allowed: Any = None) -> service.Deactivated:
    now = state.clock.now()
    return await state.writer.run(
        lambda conn: service.deactivate(conn, proof=proof, actor=actor, now=now, allowed=allowed)
    )
