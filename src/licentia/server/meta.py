"""What is not the product: a connectivity test, health and readiness for load balancers, metrics."""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from licentia.server.errors import ErrorCode, error_body
from licentia.server.observability import metrics_access, render_metrics
from licentia.server.state import EngineDep, SettingsDep
from licentia.server.store import transactions

router = APIRouter()


@router.post("/v1/ping", tags=["meta"])
async def ping() -> dict[str, bool]:
    """Does nothing: a connectivity test for clients (and the benchmark's baseline)."""
    return {"ok": True}


@router.get("/healthz", tags=["meta"], include_in_schema=False)
async def healthz() -> dict[str, str]:
    """Alive: the process answers (a load balancer restarts what fails this)."""
    return {"status": "ok"}


@router.get("/readyz", tags=["meta"], include_in_schema=False)
async def readyz(engine: EngineDep) -> Response:
    """Ready for traffic: the database answers and holds every migration this code needs.

    A host whose database is unreachable, or not yet migrated during a deploy,
    answers 503 so the load balancer sends its traffic elsewhere. A database
    migrated by a newer release is ready: migrations are expand-then-contract.
    """
    from licentia.server.store.snapshot import ahead_of_code, head_revision

    try:
        async with transactions.reading(engine) as conn:
            found = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception as exc:  # any database failure means "not ready", never a 500
        return _not_ready(f"the database does not answer ({type(exc).__name__})")
    # Ahead: a newer release's expand migration, which this code runs beside (a rolling upgrade).
    if found != head_revision() and not ahead_of_code(found):
        return _not_ready(f"the database is at migration {found}, this code needs {head_revision()}")
    return Response(orjson.dumps({"status": "ready", "revision": found}), media_type="application/json")


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    metrics_access(settings, request.headers.get("authorization"))
    body, media_type = render_metrics()
    return Response(body, media_type=media_type)


def _not_ready(message: str) -> Response:
    code = ErrorCode.NOT_READY
    return Response(orjson.dumps(error_body(code, message)), status_code=code.status, media_type="application/json")
