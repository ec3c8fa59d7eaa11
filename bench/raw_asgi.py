"""The ceiling of any Python HTTP check here: an ASGI app that answers a fixed JSON body.

Served by the same stack as ``licentia serve`` (uvicorn with uvloop and httptools, one
worker), it reads the request body and answers, with no framework at all.
``bench/check_throughput.py`` measures the check against it.
"""

from __future__ import annotations

from typing import Any

_BODY = b'{"ok":true}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:  # read the body, as a check must
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})
