"""What a redirect tells the next page ("License revoked.", or why it was refused): a flash, never the URL.

Threat: a page that shows a message read from its query string (``?done=...``)
shows whatever a link says, in the UI's own frame, as the system's word: a
phishing aid aimed at the vendor's staff ("All licenses were revoked. Call
..."). A flash travels in a cookie instead, sealed with the server's key
(Fernet: encrypted and authenticated, so only this server writes one), bound
to the session it was written for (a sealed flash planted in another
browser shows nothing), read within ``FLASH_SECONDS`` and once: the page that
shows it drops the cookie. Nothing in a URL ever becomes a message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request
from fastapi.responses import RedirectResponse

from licentia.server.state import RequestSlot

# Long enough to follow the redirect it rides on; a flash never outlives its moment.
FLASH_SECONDS = 60
# Characters shown of a message: a refusal may quote what was typed (20,000 characters), and a cookie holds 4 KB.
MAX_FLASH = 500


@dataclass(frozen=True)
class Flashed:
    """The flash a request carried: its message and its error, shown by the page (``web.frame.page``)."""

    message: str | None
    error: str | None
    cookie: str  # the cookie to drop once shown, at its path
    path: str


# The flash of this request, read by the signed-in dependency (``web.signin``), shown by ``web.frame.page``.
FLASHED = RequestSlot("flashed", Flashed)


@dataclass(frozen=True, kw_only=True)
class Flash:
    """One UI's flash for one request: the key that seals it, the session it belongs to, its cookie."""

    fernet: Fernet
    now: dt.datetime
    session: str  # the session cookie's value: a flash is read only by the session that was sent it
    cookie: str
    path: str
    secure: bool

    def back(self, url: str, *, done: str | None = None, error: str | None = None) -> RedirectResponse:
        """Post/redirect/get to ``url`` (a reload never repeats the action), the page there showing ``done`` or
        ``error``."""
        response = RedirectResponse(url, status_code=303)
        if done or error:
            sealed = json.dumps({"for": self._bound(), "done": _cut(done), "error": _cut(error)})
            token = self.fernet.encrypt_at_time(sealed.encode(), int(self.now.timestamp())).decode()
            response.set_cookie(
                self.cookie,
                token,
                max_age=FLASH_SECONDS,
                httponly=True,
                samesite="lax",
                secure=self.secure,
                path=self.path,
            )
        return response

    def read(self, request: Request) -> Flashed | None:
        """The flash this request carries; one not sealed by this server, stale, or another session's shows nothing."""
        token = request.cookies.get(self.cookie)
        if token is None:
            return None
        try:
            opened = self.fernet.decrypt_at_time(token.encode(), FLASH_SECONDS, int(self.now.timestamp()))
            sealed = json.loads(opened)
        except (InvalidToken, ValueError):
            sealed = None
        if not isinstance(sealed, dict) or sealed.get("for") != self._bound():
            return Flashed(None, None, self.cookie, self.path)
        return Flashed(_text(sealed.get("done")), _text(sealed.get("error")), self.cookie, self.path)

    def _bound(self) -> str:
        return hashlib.sha256(self.session.encode()).hexdigest()[:32]


def _cut(text: str | None) -> str | None:
    return text if text is None or len(text) <= MAX_FLASH else text[: MAX_FLASH - 1] + "…"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
