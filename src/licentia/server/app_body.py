"""Reading a request body with a size limit, for the middlewares that must see it first."""

from __future__ import annotations

from typing import Any


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


async def read_body(receive: Any, limit: int) -> bytes:
    """The whole request body, refusing more than ``limit`` bytes as they arrive."""
    chunks: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientGone
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
