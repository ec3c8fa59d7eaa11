"""The public API's protocol version: each client names the one it speaks in a ``Licentia-Protocol`` header.

A client that speaks a protocol this server does not (a newer client against an older server) is
told so in a clear 400 (``unsupported_protocol``) instead of being answered in words it would
misread. Requests without the header (web-API callers, older clients) are answered as protocol 1.
Every answer names the protocol the server speaks in the same header.
"""

from __future__ import annotations

from typing import Any

from licentia.server.errors import ApiError, ErrorCode, api_error_response

PROTOCOL = "1"
HEADER = b"licentia-protocol"
ANSWER_HEADER = (HEADER, PROTOCOL.encode())


def refused_protocol(headers: list[tuple[bytes, bytes]]) -> ApiError | None:
    """The error for a request naming a protocol this server does not speak, else None."""
    for name, value in headers:
        if name == HEADER:
            spoken = value.decode("latin-1").strip()
            if spoken == PROTOCOL:
                return None
            shown = spoken[:20] if spoken.isprintable() else "?"
            return ApiError(
                ErrorCode.UNSUPPORTED_PROTOCOL,
                f"this server speaks protocol {PROTOCOL} of the public API and the client speaks protocol"
                f" {shown}: update the server, or use a client release that speaks protocol {PROTOCOL}",
                details={"spoken": shown, "supported": [PROTOCOL]},
            )
    return None


def naming_protocol(send: Any) -> Any:
    """``send`` with the protocol's header added to the answer's start."""

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), ANSWER_HEADER]}
        await send(message)

    return wrapped


async def speaking_protocol(scope: Any, receive: Any, send: Any) -> Any | None:
    """``send`` naming the protocol in the answer; None when the request was refused (and answered)."""
    send = naming_protocol(send)
    refused = refused_protocol(scope["headers"])
    if refused is None:
        return send
    await api_error_response(refused)(scope, receive, send)
    return None
