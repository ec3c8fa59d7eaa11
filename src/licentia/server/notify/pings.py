"""The "Send test" of a webhook endpoint: a delivery row, a signed POST, the outcome recorded (API and admin page)."""

from __future__ import annotations

from typing import Any

from licentia.server.notify.deliveries import finish_ping, send_ping, start_ping
from licentia.server.state import AppState
from licentia.server.store import transactions


async def test_endpoint(state: AppState, *, webhook_id: int, actor: str) -> Any:
    """The test shared by the API and the admin page: log row, signed POST, outcome recorded."""
    now = state.clock.now()
    delivery_id, url, secret, body = await transactions.in_transaction(
        state.async_engine, start_ping, webhook_id=webhook_id, now=now, fernet=state.settings.fernet()
    )
    outcome = await send_ping(delivery_id=delivery_id, url=url, secret=secret, body=body, now=now)
    await transactions.in_transaction(
        state.async_engine,
        finish_ping,
        outcome=outcome,
        now=state.clock.now(),
        max_attempts=state.settings.outbox_max_attempts,
        actor=actor,
    )
    return outcome
