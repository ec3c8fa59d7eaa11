"""``create_app(settings)``: nothing happens at import.

Shared objects (the engine, the writer, the status checker) are made in the
lifespan and kept on ``app.state``, one typed :class:`~licentia.server.state.AppState`;
settings and the clock are passed in, so tests build their own app with a
clock they move. ``create_app`` names every part it serves: the routers, the
admin UI, and the tasks each process runs beside the requests.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

import licentia
from licentia.core.clock import Clock, SystemClock
from licentia.server import leases, payments, portal
from licentia.server.admin.pages_setup import install as install_admin_pages
from licentia.server.admin.router import router as admin_router
from licentia.server.adminapi.payments import router as payments_router
from licentia.server.adminapi.router import router as adminapi_router
from licentia.server.app_body import BodyTooLarge, ClientGone, read_body
from licentia.server.certificates.router import ROUTERS as certificate_routers
from licentia.server.devices.lane import StatusLane
from licentia.server.devices.router import router as devices_router
from licentia.server.devices.service import Checker, read_ahead
from licentia.server.errors import ErrorCode, error_body, install_error_handlers
from licentia.server.events.router import router as events_router
from licentia.server.events.service import subscribe
from licentia.server.evidence import retention, reverse_dns
from licentia.server.evidence.router import router as evidence_router
from licentia.server.licenses import seat_release
from licentia.server.meters import retention as meter_keys
from licentia.server.meters.router import ROUTERS as meter_routers
from licentia.server.network import parse_networks
from licentia.server.notify import start_delivery
from licentia.server.notify import sweep as notify_sweep
from licentia.server.notify.subscriptions import on_event
from licentia.server.observability import metrics_access, render_metrics
from licentia.server.offline.router import router as offline_router
from licentia.server.products.service import Keyring
from licentia.server.releases.router import router as releases_router
from licentia.server.rollups.task import start_rollup_task
from licentia.server.settings import Settings
from licentia.server.state import AppState, state_of
from licentia.server.store import transactions
from licentia.server.store.checkpoint import Checkpointer
from licentia.server.store.engine import database_urls, make_async_engine
from licentia.server.store.writer import Writer
from licentia.server.values.router import router as values_router

log = logging.getLogger("licentia.server")


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
        body = error_body(ErrorCode.PAYLOAD_TOO_LARGE, f"the request body is larger than {self.limit} bytes")
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

    # The public API (the status endpoints are answered by the status lane; see LicentiaApp).
    for router in (devices_router, events_router, values_router, releases_router):
        app.include_router(router)

    @app.post("/v1/ping", tags=["meta"])
    async def ping() -> dict[str, bool]:
        """Does nothing: a connectivity test for clients (and the benchmark's baseline)."""
        return {"ok": True}

    @app.get("/healthz", tags=["meta"], include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Alive: the process answers (a load balancer restarts what fails this)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["meta"], include_in_schema=False)
    async def readyz(request: Request) -> Response:
        """Ready for traffic: the database answers and holds every migration this code needs.

        A host whose database is unreachable, or not yet migrated during a deploy,
        answers 503 so the load balancer sends its traffic elsewhere. A database
        migrated by a newer release is ready: migrations are expand-then-contract.
        """
        from licentia.server.store.snapshot import ahead_of_code, head_revision

        try:
            async with transactions.reading(state_of(request.app).async_engine) as conn:
                found = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar()
        except Exception as exc:  # any database failure means "not ready", never a 500
            return _not_ready(f"the database does not answer ({type(exc).__name__})")
        # Ahead: a newer release's expand migration, which this code runs beside (a rolling upgrade).
        if found != head_revision() and not ahead_of_code(found):
            return _not_ready(f"the database is at migration {found}, this code needs {head_revision()}")
        return Response(orjson.dumps({"status": "ready", "revision": found}), media_type="application/json")

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        metrics_access(settings, request.headers.get("authorization"))
        body, media_type = render_metrics()
        return Response(body, media_type=media_type)

    # The admin UI, the developer API and its payment webhook, the evidence reports.
    routers = (
        admin_router,
        adminapi_router,
        payments_router,
        evidence_router,
        offline_router,
        *meter_routers,
        *certificate_routers,
    )
    for router in routers:
        app.include_router(router)
    install_admin_pages(app)
    leases.install(app)  # floating licenses: the lease API, its developer API calls and admin section
    portal.install(app)  # the customer portal: its pages, static files and error pages
    # What every process runs beside the requests, started and stopped with the app:
    # the dashboard's rollups, the notification outbox, reverse DNS of callers, the fact purge, seat release.
    state.startup_tasks = [
        start_rollup_task,
        start_delivery,
        reverse_dns.start,
        retention.start,
        seat_release.start,
        notify_sweep.start,
        meter_keys.start,  # idempotency keys of meter consumptions, kept a week
    ]
    # Notifications follow events (a process-wide hook; subscribing twice is ignored).
    subscribe(on_event)
    payments.install(app)  # payment providers' webhooks, the mappings' API and admin page, trial reminders
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


def _not_ready(message: str) -> Response:
    code = ErrorCode.NOT_READY
    return Response(orjson.dumps(error_body(code, message)), status_code=code.status, media_type="application/json")
