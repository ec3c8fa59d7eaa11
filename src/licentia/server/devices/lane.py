"""The status lane: /v1/check, /v1/activate and /v1/deactivate served in front of FastAPI's stack.

Every installation calls these at start-up, so they are the server's hot path.
FastAPI's middleware layers, exception wrappers and route matching cost about
as much per request as the whole status check's database work; this ASGI lane
answers the three endpoints with the same handler code (``router.serve_status``),
the same body limit and the same error bodies; ``app.LicentiaApp`` hands every
other request to FastAPI untouched. The FastAPI routes stay declared for the
OpenAPI schema. These requests skip FastAPI's built-in OpenTelemetry hook;
the Prometheus metrics at ``/metrics`` count them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from pydantic import ValidationError

from licentia.server.app_body import BodyTooLarge, ClientGone, read_body
from licentia.server.devices.router import serve_status
from licentia.server.devices.schemas import ActivateRequest, CheckRequest
from licentia.server.errors import (
    ApiError,
    ErrorCode,
    api_error_response,
    store_unavailable_response,
    unexpected_response,
    validation_response,
)
from licentia.server.store.writer import StoreUnavailable

_ROUTES: dict[str, tuple[str, type[CheckRequest]]] = {
    "/v1/check": ("check", CheckRequest),
    "/v1/activate": ("activate", ActivateRequest),
    "/v1/deactivate": ("deactivate", CheckRequest),
}


class StatusLane:
    """Answers the status endpoints; ``LicentiaApp`` hands it their requests before FastAPI sees them."""

    routes = _ROUTES

    def __init__(self, fastapi_app: FastAPI, *, max_body_bytes: int) -> None:
        self.fastapi_app = fastapi_app
        self.limit = max_body_bytes

    async def serve(self, scope: Any, receive: Any, send: Any, route: tuple[str, type[CheckRequest]]) -> None:
        action, model = route
        scope["app"] = self.fastapi_app
        request = Request(scope, receive)
        try:
            declared = request.headers.get("content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
                raise BodyTooLarge
            answer = await serve_status(request, await read_body(receive, self.limit), action, model)
        except ClientGone:
            return
        except BodyTooLarge:
            response = api_error_response(
                ApiError(ErrorCode.PAYLOAD_TOO_LARGE, f"the request body is larger than {self.limit} bytes")
            )
        except ApiError as exc:
            response = api_error_response(exc)
        except ValidationError as exc:
            response = validation_response(exc.errors(include_url=False))
        except StoreUnavailable as exc:
            response = store_unavailable_response(exc)
        except Exception:
            response = unexpected_response("POST", scope["path"])
        else:
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": answer})
            return
        await response(scope, receive, send)
