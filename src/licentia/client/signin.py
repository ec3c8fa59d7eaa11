"""Signing the application's user in: the OAuth 2.0 device authorization grant (RFC 8628).

For a license whose seats are named users. The application asks the server
for a code (:func:`begin`), shows it with the portal's address, and polls
(:func:`finish`) while the person confirms it in their browser; once they did,
the answer is the signed status document, now naming the user
(``Status.user``), verified and stored as every status is. The device code is
this installation's alone (the server checks its credential at each poll) and
is never shown. Imported only by an application that signs its user in.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from licentia.client._exceptions import InvalidAnswer, Offline, ServerRefused
from licentia.client._value import Value
from licentia.core.vocabulary import ClientErrorCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from licentia.client._client import Licentia
    from licentia.client.status import Status

SLOW_DOWN_STEP = 5  # seconds, RFC 8628 section 3.5
_WAIT_AGAIN = frozenset({ClientErrorCode.AUTHORIZATION_PENDING, ClientErrorCode.SLOW_DOWN})


class SignInCode(Value):
    """What to show the person: ``user_code`` and where to type it (``verification_uri``).

    ``verification_uri_complete`` is the same page with the code filled in (a
    link to open, or a QR code). ``expires_in`` and ``interval`` are seconds.
    """

    __slots__ = ("device_code", "expires_in", "interval", "user_code", "verification_uri", "verification_uri_complete")
    _not_compared = frozenset({"device_code"})
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int

    def __init__(self, **fields: Any) -> None:
        self._init(**fields)

    def __repr__(self) -> str:  # the device code is a secret: never in logs
        return f"SignInCode(user_code={self.user_code!r}, verification_uri={self.verification_uri!r})"


def _page(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")) or not value.isprintable():
        raise InvalidAnswer("the sign-in answer names no web page")
    return value


def begin(lic: Licentia) -> SignInCode:
    """Ask the server for a sign-in code for this installation (its credential, asked for at first contact)."""
    credential = lic.credential()
    answer = lic.transport.request(
        "POST", "/v1/device/authorize", body={"product": lic.product}, credential=credential, retry=False
    )
    if not isinstance(answer, dict):
        raise InvalidAnswer("the sign-in answer is not an object")
    code, device_code = answer.get("user_code"), answer.get("device_code")
    expires_in, interval = answer.get("expires_in"), answer.get("interval")
    if not (isinstance(code, str) and code.isascii() and code.isprintable() and 0 < len(code) <= 20):
        raise InvalidAnswer("the sign-in answer has no code to show")
    if not (isinstance(device_code, str) and 0 < len(device_code) <= 100):
        raise InvalidAnswer("the sign-in answer has no device code")
    if not all(type(n) is int and 0 < n <= 86400 for n in (expires_in, interval)):
        raise InvalidAnswer("the sign-in answer has no lifetime or interval")
    return SignInCode(
        device_code=device_code,
        user_code=code,
        verification_uri=_page(answer.get("verification_uri")),
        verification_uri_complete=_page(answer.get("verification_uri_complete", answer.get("verification_uri"))),
        expires_in=expires_in,
        interval=interval,
    )


def finish(
    lic: Licentia, code: SignInCode, *, timeout: float | None, sleep: Callable[[float], None] = time.sleep
) -> Status:
    """Poll every ``interval`` seconds until the person confirmed: the status, naming the user.

    Raises :class:`ServerRefused` with ``access_denied`` (refused in the
    portal) or ``expired_token`` (nobody confirmed in time: begin again), and
    :class:`Offline` when ``timeout`` seconds passed first.
    """
    started = time.monotonic()
    give_up = started + (code.expires_in + code.interval if timeout is None else timeout)
    interval = float(code.interval)
    while True:
        sleep(min(interval, max(0.0, give_up - time.monotonic())))
        if time.monotonic() >= give_up:
            raise Offline("the sign-in was not confirmed in time")
        state = lic.state_file.load()
        deadline = time.monotonic() + lic.transport.timeout
        try:
            return lic._device_call("/v1/device/token", state, lic.clock.now(), deadline, device_code=code.device_code)
        except ServerRefused as exc:
            if exc.code not in _WAIT_AGAIN:
                raise
            if exc.code == ClientErrorCode.SLOW_DOWN:
                interval += SLOW_DOWN_STEP
        except Offline:
            if time.monotonic() >= give_up:  # a network blip while waiting: keep polling until the deadline
                raise
