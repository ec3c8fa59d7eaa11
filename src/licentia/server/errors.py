"""Every error the server answers, enumerated once, and the one exception that carries them.

Every 4xx answer has the body ``{"error": {"code": "...", "message": "..."}}``;
``code`` is the contract clients branch on (an :class:`ErrorCode`, with its
HTTP status and its meaning, listed in ``error_codes``), ``message`` is for people. The error tables in
docs/web-api.md and docs/developer-api.md are generated from :class:`ErrorCode`
(``scripts/error-tables``; a test fails while they differ).

Services raise :class:`ApiError` whoever calls them (the CLI among them), so
this module imports no web framework at module level: the answers below load
Starlette's ``JSONResponse`` when the first one is made, and by then the
server has loaded it anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from licentia.server.error_codes import _BY_VALUE, Api, ErrorCode

# ``typing`` and ``logging`` are loaded by the server anyway; a CLI command need not pay for them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from licentia.server.store.writer import StoreUnavailable

    T = TypeVar("T")

__all__ = ["Api", "ApiError", "ErrorCode"]


def error_table(api: Api) -> str:
    """The Markdown table of the codes ``api`` answers, by status (the docs' tables are made by this)."""
    rows = sorted((code for code in ErrorCode if code.apis & api), key=lambda code: (code.status, code.value))
    lines = ["| status | code | meaning |", "|---|---|---|"]
    lines += [f"| {code.status} | `{code.value}` | {code.meaning} |" for code in rows]
    return "\n".join(lines) + "\n"


class ApiError(Exception):
    """An error answered with ``code``'s status (or ``status``, where the code's meaning says so)."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        status: int | None = None,
        *,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        # Typed as ErrorCode: mypy and tests/server/test_error_codes.py refuse a code that is not
        # enumerated. Should one reach a running server anyway, it still answers 4xx, never 500.
        member = _BY_VALUE.get(code)
        self.code: str = code if member is None else member
        self.message = message
        self.status = status if status is not None else (400 if member is None else member.status)
        self.headers = headers or {}
        # More fields of the error body, beside code and message (plain values a client may show).
        self.details = details or {}


def existing(row: T | None, code: ErrorCode, message: str) -> T:
    """``row`` as it was found, or refused with ``code`` (an unknown id or name) when there is none."""
    if row is None:
        raise ApiError(code, message)
    return row


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": str(code), "message": message, **extra}}


def _json(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    from fastapi.responses import JSONResponse

    return JSONResponse(error_body(code, message, **extra), status_code=status, headers=headers)


# Errors Starlette raises itself (unknown paths, wrong methods), by status.
_HTTP_CODES = {
    code.status: code
    for code in (
        ErrorCode.BAD_REQUEST,
        ErrorCode.UNAUTHORIZED,
        ErrorCode.FORBIDDEN,
        ErrorCode.NOT_FOUND,
        ErrorCode.METHOD_NOT_ALLOWED,
        ErrorCode.PAYLOAD_TOO_LARGE,
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        ErrorCode.RATE_LIMITED,
    )
}


def api_error_response(exc: ApiError) -> JSONResponse:
    return _json(exc.status, exc.code, exc.message, exc.headers, **exc.details)


def validation_response(errors: Sequence[Any]) -> JSONResponse:
    """``malformed_json`` (400) or ``validation_error`` (422) naming each bad field."""
    if any(err.get("type") == "json_invalid" for err in errors):
        return _json(400, ErrorCode.MALFORMED_JSON, "the request body is not valid JSON")
    problems = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        problems.append({"field": where, "problem": err.get("msg", "invalid")})
    first = problems[0] if problems else {"field": "", "problem": "invalid"}
    message = f"{first['field'] or 'body'}: {first['problem']}"
    return _json(422, ErrorCode.VALIDATION_ERROR, message, problems=problems)


def store_unavailable_response(exc: StoreUnavailable) -> JSONResponse:
    return _json(503, ErrorCode.STORE_UNAVAILABLE, str(exc), {"Retry-After": "2"})


def unexpected_response(method: str, path: str) -> JSONResponse:
    import logging

    logging.getLogger("licentia.server").exception("unexpected error on %s %s", method, path)
    return _json(500, ErrorCode.INTERNAL_ERROR, "the server hit an unexpected error")


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
        code = _HTTP_CODES.get(exc.status_code, ErrorCode.HTTP_ERROR)
        return _json(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(StoreUnavailable)
    async def _store(_request: Request, exc: StoreUnavailable) -> JSONResponse:
        return store_unavailable_response(exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected_response(request.method, request.url.path)
