"""Entry point for uvicorn workers: settings come from the environment the CLI prepared."""

from __future__ import annotations

import gc

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


def create_from_env() -> FastAPI:
    settings = Settings()
    app = create_app(settings)
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(_YOUNG_GENERATION_THRESHOLD, older, oldest)
    return app
