"""The two halves of a single sign-on both UIs share: off to the provider, and back from it (docs/sso.md).

Each UI (``admin/signin/sso.py``, ``portal/sso.py``) decides which connection
to use before, and whom the verified identity signs in after; what happens
in between is the same for both and lives here.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse

from licentia.server.sso import flow
from licentia.server.state import AppState


def to_provider(out: flow.Departure, *, secure: bool, path: str) -> RedirectResponse:
    """The redirect to the provider, with the cookie that ties the attempt to this browser."""
    response = RedirectResponse(out.url, status_code=303)
    # Lax, not Strict: the provider's redirect back is a top-level navigation from another site.
    response.set_cookie(
        flow.BROWSER_COOKIE, out.browser, max_age=600, httponly=True, samesite="lax", secure=secure, path=path
    )
    return response


async def back_from_provider(request: Request, state: AppState, redirect_uri: str) -> flow.Verified:
    """The identity the provider vouched for, every check done (``flow.SignInRefused`` otherwise)."""
    return await flow.finish(
        engine=state.async_engine,
        issuers=state.sso_issuers,
        params=dict(request.query_params),
        browser=request.cookies.get(flow.BROWSER_COOKIE, ""),
        redirect_uri=redirect_uri,
        fernet=state.fernet,
        now=state.clock.now(),
    )
