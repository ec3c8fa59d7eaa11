"""The wiring: the one place that imports every surface (admin UI, developer API, portal) and serves them.

``create_app`` (``factory.py``) builds the app; ``wiring.py`` lists, as data, each
surface's routers and the tasks each process runs beside the requests.
"""

from __future__ import annotations

from licentia.server.app.factory import create_app

__all__ = ["create_app"]
