"""Copy tracking and piracy evidence, server side.

Registered by ``create_app`` through :func:`setup`: the developer API routes
(risk and evidence per license key or device), the background task that fills
reverse host names into events, and the periodic purge of old facts.
The detection itself runs in the status check (``devices.service``); this
package reads what it recorded.
"""

from __future__ import annotations

from fastapi import FastAPI

from licentia.server.evidence import retention, reverse_dns
from licentia.server.evidence.router import router


def setup(app: FastAPI) -> None:
    app.include_router(router)
    app.state.startup_hooks.append(reverse_dns.start)
    app.state.startup_hooks.append(retention.start)


__all__ = ["setup"]
