"""Notifications: email and signed webhooks through a durable outbox.

A notification is an outbox row written in the same transaction as its cause
(an event, an issued license); a delivery worker in every server process sends
it later, retrying with backoff. ``setup(app)`` is found by
``create_app``'s ``default_extensions()``: it subscribes the event hook and
starts the worker with the app.

Importing this package loads no server dependency, so a webhook receiver can
use :mod:`licentia.server.notify.signature` with a plain ``pip install licentia``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI


def setup(app: FastAPI) -> None:
    """Subscribe the event hook and register the delivery worker's startup hook."""
    from licentia.server.events.service import subscribe
    from licentia.server.notify.subscriptions import on_event

    # Event hooks are process-wide; ``subscribe`` ignores a second registration.
    subscribe(on_event)
    app.state.startup_hooks.append(start_delivery)


async def start_delivery(app: FastAPI) -> asyncio.Task[Any]:
    """Start this process's delivery worker (cancelled by the app at shutdown)."""
    from licentia.server.notify.worker import OutboxWorker

    worker = OutboxWorker(app.state.async_engine, settings=app.state.settings, clock=app.state.clock)
    app.state.outbox_worker = worker
    return asyncio.create_task(worker.run(), name="licentia-outbox")


__all__ = ["setup", "start_delivery"]
