"""Notifications: email and signed webhooks through a durable outbox.

A notification is an outbox row written in the same transaction as its cause
(an event, an issued license); a delivery worker in every server process sends
it later, retrying with backoff. ``create_app`` subscribes the event hook
(``subscriptions.on_event``) and starts the worker (:func:`start_delivery`) with the app.

Importing this package loads no server dependency, so a webhook receiver can
use :mod:`licentia.server.notify.signature` with a plain ``pip install licentia``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI


async def start_delivery(app: FastAPI) -> asyncio.Task[Any]:
    """Start this process's delivery worker (cancelled by the app at shutdown)."""
    from licentia.server.notify.worker import OutboxWorker
    from licentia.server.state import state_of

    state = state_of(app)
    worker = OutboxWorker(state.async_engine, settings=state.settings, clock=state.clock)
    return asyncio.create_task(worker.run(), name="licentia-outbox")


__all__ = ["start_delivery"]
