"""The customer portal (``/portal``): sign-in by emailed link, licenses, machines, downloads.

``create_app`` calls :func:`install`. Importing the package loads no web
framework: migrations import ``portal.tables`` from CLI commands.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Include the pages, serve their static files, and answer their errors with pages."""
    import inspect

    from fastapi import Request
    from fastapi.responses import RedirectResponse, Response
    from fastapi.staticfiles import StaticFiles

    from licentia.server.errors import ApiError
    from licentia.server.offline.portal import router as offline_router
    from licentia.server.portal.router import router
    from licentia.server.portal.web import HERE, CustomerSignInRequired, render

    app.include_router(router)
    app.include_router(offline_router)  # air-gapped activation: upload a request, download the response
    app.mount("/portal/static", StaticFiles(directory=HERE / "static"), name="portal-static")

    @app.exception_handler(CustomerSignInRequired)
    async def _sign_in(_request: Request, _exc: CustomerSignInRequired) -> Response:
        return RedirectResponse("/portal/signin", status_code=303)

    spine_api_handler = app.exception_handlers[ApiError]

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        # Portal pages answer pages (same words for another's license and a missing one).
        if request.url.path.startswith("/portal/") and not request.url.path.startswith("/portal/static"):
            return render(request, "portal_refused.html", exc.status, reason=exc.message)
        answer = spine_api_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer


__all__ = ["install"]
