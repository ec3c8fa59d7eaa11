"""Serve the admin pages' static files, and answer the pages' errors with pages (``create_app`` calls it)."""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from licentia.server.admin.web import HERE, CsrfRefused, SignInRequired, render


def install(app: FastAPI) -> None:
    """Serve the pages' static files, and answer the pages' errors with pages."""
    app.mount("/admin/static", StaticFiles(directory=HERE / "static"), name="admin-static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/admin/signin"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/admin/signin?next={target}", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _exc: CsrfRefused) -> HTMLResponse:
        # No action ran: the form did not carry this session's token (forged, or a stale tab).
        return render(request, "refused.html", 403, reason="The form's security token is missing or wrong.")

    spine_http_handler = app.exception_handlers[StarletteHTTPException]

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        # Admin pages answer pages; the APIs keep their JSON errors.
        if request.url.path.startswith("/admin") and not request.url.path.startswith("/admin/static"):
            return render(request, "refused.html", exc.status_code, reason=str(exc.detail))
        answer = spine_http_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer
