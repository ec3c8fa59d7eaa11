"""JSON over HTTP with the standard library only (the SDK ships inside apps).

Every call has a hard timeout so a dead or slow server never holds up an
application's start; failures become :class:`Offline` or :class:`ServerRefused`.
Whatever comes back (from the server, or from anyone on a plain-http path) is
untrusted: answers are read up to a size limit, JSON nested too deeply to parse
is refused like any other garbage, and a broken HTTP exchange is "offline".

Behind a load balancer a host can die or restart under a request: the
connection is reset, or the proxy answers 502/503/504. Such a request is sent
again, at most twice, after a short jittered pause and within the same
deadline. A refused connection is not retried: nothing listens there, and an
application whose server is down must start offline at once. Every call the
SDK makes may be repeated safely: events and feedback carry ids the server
deduplicates on, an activation of a machine that holds its seat takes no
other, a deactivation of a machine that holds none changes nothing, and a
check whose answer was lost is accepted once more with the previous token.
"""

from __future__ import annotations

import sys

from licentia import __version__
from licentia.client._exceptions import ConfigurationError, InvalidAnswer, Offline, ServerRefused

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    import urllib.error
    import urllib.request
    from typing import Any

PROTOCOL_VERSION = "1"
"""The public API's protocol this SDK speaks, sent in a ``Licentia-Protocol`` header on every request."""
USER_AGENT = f"licentia-client-python/{__version__} (protocol {PROTOCOL_VERSION}; python {sys.version.split()[0]})"
"""Sent on every request, as every Licentia client sends its own: ``licentia-client-<language>/<version> (...)``."""
# Every answer the protocol has is a few kilobytes; a bigger one is refused
# before it is parsed rather than let anyone on the path make the app buffer it.
MAX_ANSWER_BYTES = 1 << 20
# Answers of a proxy whose host went away (or of a host that is stopping): worth one more try.
RETRY_STATUSES = frozenset({502, 503, 504})
# Pauses before the second and third attempts (each jittered to 50-100 %): a host
# killed mid-request is out of the proxy's pool within its health-check interval,
# and the next attempt goes to another host at once in the meantime.
RETRY_PAUSES = (0.05, 0.25)


class _Unavailable(Offline):
    """A reset connection, or a 502/503/504 answer: the next attempt may find a live host."""


class Transport:
    """Talks to one Licentia server; ``credential`` is ``(device, secret)`` once known."""

    def __init__(self, server_url: str, *, timeout: float) -> None:
        self.server_url = server_url.rstrip("/")
        scheme, _, rest = self.server_url.partition("://")
        if scheme.lower() not in ("http", "https") or not rest or any(ch.isspace() for ch in rest):
            raise ConfigurationError(f"not a server URL (http:// or https://): {server_url!r}")
        if not timeout > 0:
            raise ConfigurationError(f"the timeout must be a positive number of seconds, not {timeout!r}")
        self.timeout = timeout
        self.retried = 0  # attempts repeated after a transient failure (diagnostics; the failover benchmark)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        credential: tuple[str, str] | None = None,
        query: dict[str, str] | None = None,
        timeout: float | None = None,
        retry: bool = True,
    ) -> Any:
        """The JSON answer to ``method path``, within ``timeout`` (default: the transport's) all retries included.

        ``retry=False``: one attempt only, for a call that must not be repeated.
        """
        import json
        import time

        # Imported here: urllib.request pulls in http.client, email and ssl, and json
        # pulls in re, a cost an offline start should not pay.
        import urllib.parse
        import urllib.request

        url = self.server_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, "Licentia-Protocol": PROTOCOL_VERSION}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if credential is not None:
            headers["Authorization"] = f"Device {credential[0]}:{credential[1]}"
        wait = self.timeout if timeout is None else max(0.05, timeout)
        deadline = time.monotonic() + wait
        pauses = RETRY_PAUSES if retry else ()
        for attempt in range(len(pauses) + 1):
            try:
                req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
                raw = self._attempt(req, max(0.05, deadline - time.monotonic()))
            except _Unavailable as exc:
                if attempt == len(pauses):
                    raise
                import random

                # Jitter (no secret comes from it): clients cut off together must not retry in step.
                pause = pauses[attempt] * (0.5 + random.random() / 2)  # noqa: S311
                if time.monotonic() + pause + 0.05 >= deadline:
                    raise
                self.retried += 1
                _log().debug("retrying %s %s after %s", method, path, exc)
                time.sleep(pause)
                continue
            if len(raw) > MAX_ANSWER_BYTES:
                raise Offline(f"{self.server_url} answered more than {MAX_ANSWER_BYTES} bytes")
            return parse_answer(raw, self.server_url)
        raise AssertionError("unreachable")

    def trail(self, target: str, *, timeout: float) -> None:
        """One GET of the proxy-log trail (``target``: ``/v1/trail?...``, already encoded): no credential, one
        attempt, the answer's body unread; :class:`Offline` or :class:`ServerRefused` when it was not taken."""
        import urllib.request

        headers = {"User-Agent": USER_AGENT, "Licentia-Protocol": PROTOCOL_VERSION}
        req = urllib.request.Request(self.server_url + target, headers=headers, method="GET")  # noqa: S310
        self._attempt(req, max(0.05, timeout))

    def _attempt(self, req: urllib.request.Request, wait: float) -> bytes:
        """One exchange; every failure becomes :class:`Offline` (transient ones :class:`_Unavailable`)."""
        import http.client
        import urllib.error

        try:
            return _exchange(req, wait)
        except (Offline, ServerRefused):
            raise  # an error answer, already read and mapped
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
            # HTTPException: a truncated body, a malformed status line or header; ValueError:
            # a URL urllib will not take (a redirect somewhere odd, a port out of range).
            reason = getattr(exc, "reason", exc)
            # Reset or closed before the answer (RemoteDisconnected is a reset): the host went
            # away under the request. Not a refused connection (nothing listens: a retry would
            # only delay the offline start), nor a timeout (it has spent the deadline).
            transient = isinstance(reason, ConnectionError) and not isinstance(reason, ConnectionRefusedError)
            raise (_Unavailable if transient else Offline)(f"cannot reach {self.server_url}: {reason}") from exc


def _exchange(req: urllib.request.Request, wait: float) -> bytes:
    """Send ``req`` and read the answer, all within ``wait`` seconds.

    A socket timeout bounds each read, not the whole exchange: a server (or a
    man in the middle) dribbling a byte at a time could hold the application's
    start for ever. So the exchange runs in a daemon thread that is abandoned
    at the deadline; its socket times out on its own soon after.
    """
    import threading
    import urllib.error
    import urllib.request

    outcome: list[bytes | BaseException] = []

    def run() -> None:
        try:
            with urllib.request.urlopen(req, timeout=wait) as response:  # noqa: S310 (URL chosen by the vendor)
                outcome.append(response.read(MAX_ANSWER_BYTES + 1))
        except urllib.error.HTTPError as exc:
            outcome.append(_refusal(exc))  # its body is read here too, within the deadline
        except BaseException as exc:  # handed to the caller's thread, raised there
            outcome.append(exc)

    worker = threading.Thread(target=run, name="licentia-request", daemon=True)
    worker.start()
    worker.join(wait)
    if not outcome:
        raise TimeoutError(f"no answer within {wait:.1f} s")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def parse_answer(raw: bytes, source: str) -> Any:
    """Parse an answer; anything that is not JSON a sane server would send is :class:`InvalidAnswer`."""
    import json

    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: "[" a hundred thousand times
        raise InvalidAnswer(f"{source} answered something that is not JSON") from exc


def _refusal(exc: urllib.error.HTTPError) -> Exception:
    import http.client

    try:
        raw = exc.read(MAX_ANSWER_BYTES)
    except (OSError, http.client.HTTPException):
        raw = b""
    finally:
        exc.close()
    return refusal_of(exc.code, raw, exc.headers.get("Retry-After") if exc.headers else None)


def refusal_of(status: int, raw: bytes, retry_after: str | None) -> Exception:
    """What an HTTP error answer (``status`` 400 and up, its body ``raw``) is to the SDK.

    5xx: the server is up but cannot answer, the same as offline for the application. Else
    :class:`ServerRefused` with the error's ``code`` and ``message`` when both are text
    (``http_error`` and ``HTTP <status>`` otherwise), its other plain fields as ``details``.
    """
    import json

    from licentia.core.vocabulary import ClientErrorCode

    if status >= 500:
        return (_Unavailable if status in RETRY_STATUSES else Offline)(f"server error {status}")
    code: str = ClientErrorCode.HTTP_ERROR
    message = f"HTTP {status}"
    details: dict[str, Any] = {}
    try:
        error = json.loads(raw)["error"]
        if isinstance(error["code"], str) and isinstance(error["message"], str):
            code, message = error["code"][:100], error["message"][:1000]
        # Plain fields only (a refusal's figures): nothing nested reaches the application.
        details = {
            k: v
            for k, v in error.items()
            if k not in ("code", "message") and isinstance(k, str) and isinstance(v, (str, int, bool, type(None)))
        }
    except (ValueError, KeyError, TypeError, RecursionError, AttributeError):
        pass
    retry = retry_after
    wait = int(retry) if retry and retry.isascii() and retry.isdigit() and len(retry) < 10 else None
    return ServerRefused(code, message, status=status, retry_after=wait, details=details)


def _log() -> Any:
    import logging  # only when something goes wrong: logging costs a start that never logs

    return logging.getLogger("licentia.client")
