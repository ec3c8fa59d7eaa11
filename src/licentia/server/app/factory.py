"""``create_app(settings)``: nothing happens at import.

Shared objects (the engine, the writer, the status checker) are made in the
lifespan and kept on ``app.state``, one typed :class:`~licentia.server.state.AppState`;
settings and the clock are passed in, so tests build their own app with a
clock they move. ``create_app`` wires what ``wiring`` lists: the routers of
each surface, and the tasks each process runs beside the requests.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRouter
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

import licentia
from licentia.core.clock import Clock, SystemClock
from licentia.server.admin import web as admin_web
from licentia.server.app.wiring import ADMIN_UI, DEVELOPER_API, PORTAL, PUBLIC_API, STARTUP_TASKS
from licentia.server.app_body import BodyTooLarge, ClientGone, read_body
from licentia.server.devices.lane import StatusLane
from licentia.server.devices.openapi import document_raw_bodies
from licentia.server.devices.service import Checker, read_ahead
from licentia.server.errors import ApiError, ErrorCode, error_body, install_error_handlers
from licentia.server.events.service import subscribe
from licentia.server.network import parse_networks
from licentia.server.notify.subscriptions import on_event
from licentia.server.portal import web as portal_web
from licentia.server.products.service import Keyring
from licentia.server.protocol import speaking_protocol
from licentia.server.settings import Settings
from licentia.server.sso.issuers import Issuers
from licentia.server.state import AppState
from licentia.server.store.checkpoint import Checkpointer
from licentia.server.store.engine import database_urls, make_async_engine
from licentia.server.store.writer import Writer
from licentia.server.web.frame import CsrfRefused, wants_page
from licentia.server.web.signin import SignInRequired

log = logging.getLogger("licentia.server")
# A UI's answers to its errors: exception class -> handler.
ErrorPages = dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]]


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413 before they are read into memory."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = True
                if too_big:
                    await self._refuse(scope, receive, send)
                    return
        # Read the (small) body first, so an oversized stream is refused before
        # any handler sees it, then hand the app the body in one message.
        try:
            body = await read_body(receive, self.limit)
        except BodyTooLarge:
            await self._refuse(scope, receive, send)
            return
        except ClientGone:
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Any, receive: Any, send: Any) -> None:
        message = f"the request body is larger than {self.limit} bytes"
        # A web UI's route answers a browser with its own page (an upload too large on the portal's offline page).
        if await ScopedErrors.answer(scope, receive, send, StarletteHTTPException(413, message)):
            return
        body = error_body(ErrorCode.PAYLOAD_TOO_LARGE, message)
        await JSONResponse(body, status_code=413)(scope, receive, send)


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    urls = database_urls(settings.resolved_database_url)
    fernet = settings.fernet()
    state = AppState(
        settings=settings,
        clock=clock or SystemClock(),
        fernet=fernet,
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )
    state.sso_issuers = Issuers()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async_engine = make_async_engine(urls)
        # Status checks name their device for the batch's read-ahead (devices.service.read_ahead).
        writer = Writer(urls, read_ahead=read_ahead)
        checkpointer = None
        if urls.is_sqlite:
            checkpointer = Checkpointer(sa.make_url(urls.sync).database or "")
            checkpointer.start()
        state.async_engine = async_engine
        state.writer = writer
        state.checker = Checker(
            Keyring(fernet),
            activation_attempts_per_hour=settings.activation_attempts_per_hour,
            product_ttl_seconds=settings.product_cache_seconds,
        )
        tasks = [await start(app) for start in state.startup_tasks]
        try:
            yield
        finally:
            for task in tasks:
                if task is not None and hasattr(task, "cancel"):
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
            await writer.close()
            if checkpointer is not None:
                checkpointer.stop()
            await async_engine.dispose()

    app = LicentiaApp(
        title="Licentia",
        version=licentia.__version__,
        summary="Trials, licenses, offline license files and copy tracking for your software.",
        lifespan=lifespan,
    )
    app.state = state  # type: ignore[assignment]  # Starlette's untyped State, replaced by the typed one
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    wire(app, state)
    document_raw_bodies(app)
    app.status_lane = StatusLane(app, max_body_bytes=settings.max_body_bytes)
    return app


# Each UI answers its errors with pages, in its frame with a way back: an unknown or malformed id (404, 422), a
# refused change (403, 409...), a body too large (413). A request that does not ask for a page (an API client's)
# gets the app's JSON errors instead, wherever the app has one (ScopedErrors); the APIs keep their JSON errors.
ADMIN_ERRORS: ErrorPages = {
    SignInRequired: admin_web.sign_in_first,
    CsrfRefused: admin_web.refused_form,
    StarletteHTTPException: admin_web.refused_page,
    ApiError: admin_web.refused_page,
    RequestValidationError: admin_web.refused_page,
}
PORTAL_ERRORS: ErrorPages = {
    SignInRequired: portal_web.sign_in_first,
    CsrfRefused: portal_web.refused_form,
    StarletteHTTPException: portal_web.refused_page,
    ApiError: portal_web.refused_page,
    RequestValidationError: portal_web.refused_page,
}


def wire(app: FastAPI, state: AppState) -> None:
    """Serve the lists above: the public API, the developer API, the admin UI and the portal, and their tasks."""
    for router in (*PUBLIC_API, *DEVELOPER_API):
        app.include_router(router)
    app.mount("/admin/static", StaticFiles(directory=admin_web.HERE / "static"), name="admin-static")
    ui(app, ADMIN_UI, prefix="/admin", errors=ADMIN_ERRORS)
    app.mount("/admin", admin_web.no_such_page)  # any other path under /admin: a page saying it does not exist
    app.mount("/portal/static", StaticFiles(directory=portal_web.HERE / "static"), name="portal-static")
    ui(app, PORTAL, prefix="/portal", errors=PORTAL_ERRORS)
    app.mount("/portal", portal_web.no_such_page)  # any other path under /portal: the same, for the portal
    state.startup_tasks = list(STARTUP_TASKS)
    # Notifications follow events (a process-wide hook; subscribing twice is ignored).
    subscribe(on_event)


def ui(app: FastAPI, routers: tuple[APIRouter, ...], *, prefix: str, errors: ErrorPages) -> None:
    """Include a web UI's routers under ``prefix``, its routes answering ``errors`` with their own handlers."""
    for router in routers:
        before = len(app.router.routes)
        app.include_router(router, prefix=prefix, include_in_schema=False)
        app.router.routes[before:] = [ScopedErrors(route, errors) for route in app.router.routes[before:]]


class ScopedErrors(BaseRoute):
    """A route (or an included router) whose errors are answered by ``errors`` first.

    Starlette looks a route's exception handlers up in the request's scope, so
    handing the route a scope with ``errors`` added scopes them to exactly its
    requests: a blueprint's error handlers, without reading the URL.
    """

    def __init__(self, route: BaseRoute, errors: ErrorPages) -> None:
        self.route = route
        self.errors = errors

    def __getattr__(self, name: str) -> Any:
        # Otherwise the route it wraps (its path, methods, the routes of an included router).
        return getattr(self.route, name)

    def matches(self, scope: Any) -> Any:
        return self.route.matches(scope)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        return self.route.url_path_for(name, **path_params)

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        handlers, by_status = scope["starlette.exception_handlers"]  # the app's were read before routing began
        scope["starlette.exception_handlers"] = ({**handlers, **self._errors_for(scope, handlers)}, by_status)
        await self.route.handle(scope, receive, send)

    def _errors_for(self, scope: Any, handlers: dict[Any, Any]) -> ErrorPages:
        """The UI's pages for a browser; for an API client only those the app has no JSON answer for (a sign-in
        to do, a forged form)."""
        return self.errors if wants_page(scope) else {k: v for k, v in self.errors.items() if k not in handlers}

    @staticmethod
    async def answer(scope: Any, receive: Any, send: Any, exc: Exception) -> bool:
        """Answer ``exc`` for the UI route the request is for, before it ran (a body too large): whether one did.

        The route is found as routing would find it; a browser gets its UI's page, an API client nothing here.
        """
        routes = getattr(scope.get("app"), "routes", ())
        found = next((r for r in routes if isinstance(r, ScopedErrors) and r.matches(scope)[0] != Match.NONE), None)
        if found is None or not wants_page(scope):
            return False
        handler = next((found.errors[k] for k in type(exc).__mro__ if k in found.errors), None)
        if handler is None:
            return False
        response = await handler(Request(scope, receive), exc)
        await response(scope, receive, send)
        return True


class LicentiaApp(FastAPI):
    """FastAPI, with the status lane answering the hot-path endpoints before anything else runs.

    See devices/lane.py: every installation calls them at start-up, and the
    framework's per-request layers cost as much as the status check itself.
    """

    status_lane: StatusLane | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            send = await speaking_protocol(scope, receive, send)  # None: refused, and answered
            if send is None:
                return
        lane = self.status_lane
        if lane is not None and scope["type"] == "http" and scope["method"] == "POST":
            route = lane.routes.get(scope["path"])
            if route is not None:
                await lane.serve(scope, receive, send, route)
                return
        await super().__call__(scope, receive, send)
