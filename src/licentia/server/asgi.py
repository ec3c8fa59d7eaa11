"""Entry point for uvicorn workers: settings come from the environment the CLI prepared."""

from __future__ import annotations

import gc
import sys

from fastapi import FastAPI

from licentia.server.app import create_app
from licentia.server.settings import Settings

# A status check allocates a few hundred short-lived objects and no cycles of
# its own; with the default threshold (700) the cyclic collector ran every few
# checks and walked the young objects each time, about a tenth of a check's CPU
# (docs/performance.md). The modules, the app and its caches, all loaded by
# now, move out of the collector's sight (``gc.freeze``), and the young
# generation is collected ten times less often.
_YOUNG_GENERATION_THRESHOLD = 10_000
# The event loop answers every request of this process; the threads beside it (the minute's
# rollups, the database driver's threads) run Python too. A thread holding the interpreter lock
# keeps it until it blocks or for the switch interval: Python's default (5 ms) then put up to 5 ms
# into a check, each time, for a minute's run of the rollups (the check's p99 at half the peak
# went from 3.3-4.1 ms to 2.4-2.9 ms with rollups every 3 s: docs/performance.md). Alone, the
# loop is never asked to switch, so this costs nothing.
_SWITCH_INTERVAL_SECONDS = 0.0005


def create_from_env() -> FastAPI:
    settings = Settings()
    app = create_app(settings)
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(_YOUNG_GENERATION_THRESHOLD, older, oldest)
    sys.setswitchinterval(_SWITCH_INTERVAL_SECONDS)
    return app
