"""Licenses: issue, change, and the scheduled seat release (registered by ``setup``)."""

from __future__ import annotations

from typing import Any


def setup(app: Any) -> None:
    from licentia.server.licenses.seat_release import start

    app.state.startup_hooks.append(start)
