"""The status endpoints' request bodies in the OpenAPI schema (the status lane parses them itself)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def document_raw_bodies(app: FastAPI) -> None:
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
