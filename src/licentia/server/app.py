"""``create_app(settings)``: nothing happens at import.

Shared objects (engines, the writer thread, the keyring) are made in the
lifespan and kept on ``app.state``; settings and the clock are passed in, so
tests build their own app with a clock they move.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import async_sessionmaker

import licentia
from licentia.core.clock import Clock, SystemClock
from licentia.server.app_body import BodyTooLarge, ClientGone, read_body
from licentia.server.devices.lane import StatusLane
from licentia.server.devices.service import Checker, read_ahead
from licentia.server.errors import error_body, install_error_handlers
from licentia.server.network import parse_networks
from licentia.server.observability import render_metrics
from licentia.server.products.service import Keyring
from licentia.server.settings import Settings
from licentia.server.store.checkpoint import Checkpointer
from licentia.server.store.engine import database_urls, make_async_engine, make_sync_engine
from licentia.server.store.writer import Writer

log = logging.getLogger("licentia.server")

# Extra routers and startup hooks (admin UI, notifications, evidence) register
# here so the spine does not import them.
Setup = Callable[[FastAPI], None]
Startup = Callable[[FastAPI], Awaitable[Any]]


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
        body = error_body("payload_too_large", f"the request body is larger than {self.limit} bytes")
        await JSONResponse(body, status_code=413)(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    extensions: list[Setup] | None = None,
) -> FastAPI:
    urls = database_urls(settings.resolved_database_url)
    fernet = settings.fernet()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sync_engine = make_sync_engine(urls)
        async_engine = make_async_engine(urls)
        # Status checks name their device for the batch's read-ahead (devices.service.read_ahead).
        writer = Writer(sync_engine, inline=urls.is_sqlite, read_ahead=read_ahead)
        writer.start()
        checkpointer = None
        if urls.is_sqlite:
            checkpointer = Checkpointer(sa.make_url(urls.sync).database or "")
            checkpointer.start()
        app.state.sync_engine = sync_engine
        app.state.async_engine = async_engine
        app.state.sessionmaker = async_sessionmaker(async_engine, expire_on_commit=False)
        app.state.writer = writer
        app.state.checker = Checker(
            Keyring(fernet),
            activation_attempts_per_hour=settings.activation_attempts_per_hour,
            product_ttl_seconds=settings.product_cache_seconds,
        )
        tasks = [await hook(app) for hook in app.state.startup_hooks]
        try:
            yield
        finally:
            for task in tasks:
                if task is not None and hasattr(task, "cancel"):
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
            writer.stop()
            if checkpointer is not None:
                checkpointer.stop()
            await async_engine.dispose()
            sync_engine.dispose()

    app = LicentiaApp(
        title="Licentia",
        version=licentia.__version__,
        summary="Trials, licenses, offline license files and copy tracking for your software.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.fernet = fernet
    app.state.trusted_proxies = parse_networks(settings.trusted_proxies)
    app.state.startup_hooks = []
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    from licentia.server.devices.router import router as devices_router
    from licentia.server.events.router import router as events_router
    from licentia.server.releases.router import router as releases_router
    from licentia.server.values.router import router as values_router

    for router in (devices_router, events_router, values_router, releases_router):
        app.include_router(router)

    @app.post("/v1/ping", tags=["meta"])
    async def ping() -> dict[str, bool]:
        """Does nothing: a connectivity test for clients (and the benchmark's baseline)."""
        return {"ok": True}

    @app.get("/healthz", tags=["meta"], include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body, media_type = render_metrics()
        return Response(body, media_type=media_type)

    for setup in extensions if extensions is not None else default_extensions():
        setup(app)
    _document_raw_bodies(app)
    app.status_lane = StatusLane(app, max_body_bytes=settings.max_body_bytes)
    return app


class LicentiaApp(FastAPI):
    """FastAPI, with the status lane answering the hot-path endpoints before anything else runs.

    See devices/lane.py: every installation calls them at start-up, and the
    framework's per-request layers cost as much as the status check itself.
    """

    status_lane: StatusLane | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        lane = self.status_lane
        if lane is not None and scope["type"] == "http" and scope["method"] == "POST":
            route = lane.routes.get(scope["path"])
            if route is not None:
                await lane.serve(scope, receive, send, route)
                return
        await super().__call__(scope, receive, send)


def _document_raw_bodies(app: FastAPI) -> None:
    """Add the request bodies the hot-path handlers parse themselves to the OpenAPI schema."""
    from fastapi.openapi.utils import get_openapi

    from licentia.server.devices.schemas import ActivateRequest, CheckRequest

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (CheckRequest, ActivateRequest):
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(body.pop("$defs", {}))
                schemas[model.__name__] = body
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def default_extensions() -> list[Setup]:
    """Optional parts that register themselves (admin UI, notifications, evidence)."""
    found: list[Setup] = []
    for module_name in (
        "licentia.server.admin",
        "licentia.server.notify",
        "licentia.server.evidence",
        "licentia.server.portal",
        "licentia.server.payments",
    ):
        try:
            module = __import__(module_name, fromlist=["setup"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        setup = getattr(module, "setup", None)
        if setup is not None:
            found.append(setup)
    return found
