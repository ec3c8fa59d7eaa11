"""JSON over HTTP with the standard library only (the SDK ships inside apps).

Every call has a hard timeout so a dead or slow server never holds up an
application's start; failures become :class:`Offline` or :class:`ServerRefused`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import urllib.error

from licentia.client._exceptions import Offline, ServerRefused

USER_AGENT = "licentia-client"


class Transport:
    """Talks to one Licentia server; ``credential`` is ``(device, secret)`` once known."""

    def __init__(self, server_url: str, *, timeout: float) -> None:
        self.server_url = server_url.rstrip("/")
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        credential: tuple[str, str] | None = None,
        query: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        # Imported here: urllib.request pulls in http.client, email and ssl, a
        # cost an offline start should not pay.
        import urllib.error
        import urllib.parse
        import urllib.request

        url = self.server_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if credential is not None:
            headers["Authorization"] = f"Device {credential[0]}:{credential[1]}"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        wait = self.timeout if timeout is None else max(0.05, timeout)
        try:
            with urllib.request.urlopen(req, timeout=wait) as response:  # noqa: S310 (URL chosen by the vendor)
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise _refusal(exc) from exc
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            raise Offline(f"cannot reach {self.server_url}: {getattr(exc, 'reason', exc)}") from exc
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise Offline(f"{self.server_url} answered something that is not JSON") from exc


def _refusal(exc: urllib.error.HTTPError) -> Exception:
    try:
        raw = exc.read()
    except OSError:
        raw = b""
    finally:
        exc.close()
    if exc.code >= 500:
        # The server is up but cannot answer: for the app this is the same as offline.
        return Offline(f"server error {exc.code}")
    code, message = "http_error", f"HTTP {exc.code}"
    try:
        error = json.loads(raw)["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        pass
    retry = exc.headers.get("Retry-After") if exc.headers else None
    return ServerRefused(code, message, status=exc.code, retry_after=int(retry) if retry and retry.isdigit() else None)
