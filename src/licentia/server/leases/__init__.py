"""Floating licenses: leases with heartbeats, and borrowing (docs/licensing-models.md).

``create_app`` calls :func:`install`. Importing the package loads no web
framework, so the CLI's ``licentia license leases`` stays light.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Serve the public lease API, the developer API's lease calls and the admin UI's lease section."""
    from licentia.server.leases.admin_api import router as developer_router
    from licentia.server.leases.admin_page import router as page_router
    from licentia.server.leases.router import router as public_router

    for router in (public_router, developer_router, page_router):
        app.include_router(router)


__all__ = ["install"]
