"""Signing in to a web UI: the sign-in form's double-submit cookie, the session cookie, the session of a request.

The admin UI (a password, then maybe a code) and the customer portal (a link
sent by email) prove who is there differently, but hold the answer the same
way, so both do it here, each with its own :class:`SessionCookies`:

- a form posted before any session exists (the sign-in form) cannot carry a
  session's CSRF token, so its token is also set in a ``SameSite=Strict``
  cookie and the two must match (double submit); a cross-site page can post
  the form but can neither read nor set the cookie;
- the session id travels in an ``HttpOnly``, ``SameSite=Lax`` cookie
  (``Secure`` behind HTTPS) kept to the UI's path, and only its hash is
  stored (``store.sessions``);
- each request looks its session up again: a session ended or expired in
  the table ends at the next click, on every worker;
- what a redirect tells the next page travels in a third cookie, sealed and
  bound to the session (``web.flash``), never in the URL.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from licentia.server.state import ClockDep, EngineDep, FernetDep, RequestSlot
from licentia.server.store import transactions
from licentia.server.web.flash import FLASHED, Flash
from licentia.server.web.frame import CookieSecure, form_token_ok

T = TypeVar("T")


class SignInRequired(Exception):
    """A signed-in page asked for without a live session: each UI answers it with its own sign-in page (the UIs'
    error pages are scoped to their routes)."""


@dataclass(frozen=True, kw_only=True)
class SessionCookies:
    """A web UI's cookies, all kept to its ``path``."""

    session: str  # the session id
    signin: str  # the sign-in form's double-submit token
    flash: str  # what a redirect tells the next page (web.flash)
    path: str

    def session_id(self, request: Request) -> str:
        return request.cookies.get(self.session, "")

    def flash_of(self, request: Request, fernet: FernetDep, clock: ClockDep, secure: CookieSecure) -> Flash:
        """The routes' dependency on this UI's flash for the request's session (``Flash.back`` redirects with one)."""
        return Flash(
            fernet=fernet,
            now=clock.now(),
            session=self.session_id(request),
            cookie=self.flash,
            path=self.path,
            secure=secure,
        )

    def signin_form(self, page: Callable[[str], Response], *, secure: bool) -> Response:
        """``page(token)``, a form posted before any session exists, with its token also set in a strict cookie.

        ``secure``: whether the cookie carries ``Secure`` (``web.frame.CookieSecure``).
        """
        token = secrets.token_urlsafe(24)
        response = page(token)
        response.set_cookie(self.signin, token, httponly=True, samesite="strict", secure=secure, path=self.path)
        return response

    def signin_form_ok(self, request: Request, form: Any) -> bool:
        """The posted sign-in form carries the token of its cookie (and comes from this site)."""
        return form_token_ok(request, form, request.cookies.get(self.signin))

    def start(self, *, to: str, session_id: str, lifetime: dt.timedelta, secure: bool) -> RedirectResponse:
        """Redirect to ``to`` with a fresh session cookie, and the sign-in form's cookie dropped.

        ``secure``: whether the cookie carries ``Secure`` (``web.frame.CookieSecure``).
        """
        response = RedirectResponse(to, status_code=303)
        response.set_cookie(
            self.session,
            session_id,
            max_age=int(lifetime.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=secure,
            path=self.path,
        )
        response.delete_cookie(self.signin, path=self.path)
        return response

    def end(self, *, to: str) -> RedirectResponse:
        """Redirect to ``to`` without the session cookie (the caller ended the session in its table)."""
        response = RedirectResponse(to, status_code=303)
        response.delete_cookie(self.session, path=self.path)
        return response

    def signed_in(self, lookup: Callable[..., T | None], *, slot: RequestSlot[T]) -> Callable[..., Awaitable[T]]:
        """The routes' dependency on who signed in: the owner of the request's session, ``lookup(conn, session_id=,
        now=)``, kept in ``slot`` for the pages (they show who is signed in); :class:`SignInRequired` without a live
        session. The flash the request carries is kept for the page too (``web.flash.FLASHED``)."""

        # A default, not ``Annotated``: the annotations are strings resolved in the module, where ``self`` is not.
        flash_of = Depends(self.flash_of)

        async def owner(request: Request, engine: EngineDep, clock: ClockDep, flash: Flash = flash_of) -> T:
            session_id = self.session_id(request)
            found = (
                await transactions.read_only(engine, lookup, session_id=session_id, now=clock.now())
                if session_id
                else None
            )
            if found is None:
                raise SignInRequired()
            slot.remember(request, found)
            flashed = flash.read(request)
            if flashed is not None:
                FLASHED.remember(request, flashed)
            return found

        return owner
