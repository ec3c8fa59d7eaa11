"""One server error type with a stable code, mapped to HTTP by one handler.

Every 4xx answer has the body ``{"error": {"code": "...", "message": "..."}}``;
``code`` is the contract clients branch on, ``message`` is for people.

Services raise :class:`ApiError` whoever calls them (the CLI among them), so
this module imports no web framework at module level: the answers below load
Starlette's ``JSONResponse`` when the first one is made, and by then the
server has loaded it anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

# ``typing`` and ``logging`` are loaded by the server anyway; a CLI command need not pay for them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from licentia.server.store.writer import StoreUnavailable


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers or {}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _json(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    from fastapi.responses import JSONResponse

    return JSONResponse(error_body(code, message, **extra), status_code=status, headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def api_error_response(exc: ApiError) -> JSONResponse:
    return _json(exc.status, exc.code, exc.message, exc.headers)


def validation_response(errors: Sequence[Any]) -> JSONResponse:
    """``malformed_json`` (400) or ``validation_error`` (422) naming each bad field."""
    if any(err.get("type") == "json_invalid" for err in errors):
        return _json(400, "malformed_json", "the request body is not valid JSON")
    problems = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        problems.append({"field": where, "problem": err.get("msg", "invalid")})
    first = problems[0] if problems else {"field": "", "problem": "invalid"}
    message = f"{first['field'] or 'body'}: {first['problem']}"
    return _json(422, "validation_error", message, problems=problems)


def store_unavailable_response(exc: StoreUnavailable) -> JSONResponse:
    return _json(503, "store_unavailable", str(exc), {"Retry-After": "2"})


def unexpected_response(method: str, path: str) -> JSONResponse:
    import logging

    logging.getLogger("licentia.server").exception("unexpected error on %s %s", method, path)
    return _json(500, "internal_error", "the server hit an unexpected error")


def install_error_handlers(app: FastAPI) -> None:
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from pydantic import ValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from licentia.server.store.writer import StoreUnavailable

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return api_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(exc.errors())

    @app.exception_handler(ValidationError)
    async def _body_validation(_request: Request, exc: ValidationError) -> JSONResponse:
        # Bodies a handler validates itself (the status endpoints) fail the same way.
        return validation_response(exc.errors(include_url=False))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return _json(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(StoreUnavailable)
    async def _store(_request: Request, exc: StoreUnavailable) -> JSONResponse:
        return store_unavailable_response(exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected_response(request.method, request.url.path)
