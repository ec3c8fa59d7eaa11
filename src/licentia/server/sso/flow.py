"""The two halves of a sign-in: :func:`begin` sends the browser to the provider, :func:`finish` checks the answer.

Both surfaces (the admin UI and the portal) run these; what a verified identity then opens (an admin session,
a portal session) is theirs to decide. Network calls to the provider happen outside any database transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine

from licentia.server.errors import ApiError
from licentia.server.notify.sealing import SealBroken
from licentia.server.sso import attempts
from licentia.server.sso.connections import Connection, get_connection
from licentia.server.sso.id_tokens import Identity, TokenRefused, key_id_of, verify_id_token
from licentia.server.sso.issuers import TIMEOUT, Issuers, ProviderUnreachable
from licentia.server.store import transactions

log = logging.getLogger("licentia.sso")
SCOPE = "openid email"
# The cookie that binds an attempt to the browser that started it (``attempts``).
BROWSER_COOKIE = "licentia_sso"


class SignInRefused(Exception):
    """The sign-in cannot go on; ``str()`` is for the person, ``reason`` for the log, ``status`` for the page."""

    def __init__(self, message: str, *, reason: str, status: int = 401) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Departure:
    url: str  # the provider's authorization endpoint with the request
    browser: str  # the cookie value to set


@dataclass(frozen=True)
class Verified:
    connection: Connection
    identity: Identity
    next_page: str


async def _redeem(
    connection: Connection, *, token_endpoint: str, code: str, verifier: str, redirect_uri: str, secret: str
) -> Any:
    """The token endpoint's answer to the code (and its PKCE verifier), the client authenticated by its secret."""
    body = prepare_token_request("authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=verifier)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    auth = ClientAuth(connection.client_id, secret, "client_secret_basic")
    uri, headers, body = auth.prepare("POST", token_endpoint, headers, body)
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http:
        answer = await http.post(uri, content=body, headers=headers)
    if answer.status_code != 200:
        raise TokenRefused(f"the token endpoint answered {answer.status_code}: {answer.text[:200]}")
    return answer.json()


async def begin(
    *,
    engine: AsyncEngine,
    issuers: Issuers,
    connection: Connection,
    redirect_uri: str,
    next_page: str,
    browser: str | None,
    network: str,
    fernet: Fernet,
    now: dt.datetime,
    login_hint: str | None = None,
) -> Departure:
    try:
        endpoints = await issuers.endpoints(connection.issuer, now=now)
    except ProviderUnreachable as exc:
        log.warning("sso: connection %s: %s", connection.id, exc)
        message = "The identity provider cannot be reached; try again later."
        raise SignInRefused(message, reason=str(exc), status=502) from exc
    out = await transactions.in_transaction(
        engine,
        attempts.open_attempt,
        connection_id=connection.id,
        next_page=next_page,
        browser=browser,
        network=network,
        fernet=fernet,
        now=now,
    )
    if out is None:
        raise SignInRefused("Too many sign-ins from your network; try again later.", reason="rate limit", status=429)
    extra = {"login_hint": login_hint} if login_hint else {}
    url = prepare_grant_uri(
        endpoints.authorization_endpoint,
        connection.client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=SCOPE,
        state=out.state,
        nonce=out.nonce,
        code_challenge=create_s256_code_challenge(out.code_verifier),
        code_challenge_method="S256",
        **extra,
    )
    return Departure(url=url, browser=out.browser)


def _refused(reason: str, message: str = "Single sign-on failed; please try again.") -> SignInRefused:
    log.warning("sso: sign-in refused: %s", reason)
    return SignInRefused(message, reason=reason)


async def finish(
    *,
    engine: AsyncEngine,
    issuers: Issuers,
    params: Mapping[str, str],
    browser: str,
    redirect_uri: str,
    fernet: Fernet,
    now: dt.datetime,
) -> Verified:
    """The identity the provider's answer (the callback's query ``params``) vouches for, every check passed."""
    spent = await transactions.in_transaction(
        engine, attempts.spend_attempt, state=params.get("state", ""), browser=browser, fernet=fernet, now=now
    )
    if spent is None:
        raise _refused("unknown, spent or expired state", "This sign-in has expired or was already used; start again.")
    try:
        connection = await transactions.read_only(engine, get_connection, connection_id=spent.connection_id)
    except ApiError as exc:  # removed while the person was at the provider
        raise _refused(f"connection {spent.connection_id} was removed") from exc
    if "error" in params:
        raise _refused(f"the provider answered {params['error'][:100]!r}", "The identity provider did not sign you in.")
    # RFC 9207: a provider that says who answered must be the one this attempt went to (mix-up attacks).
    if "iss" in params and params["iss"] != connection.issuer:
        raise _refused(f"the answer came from {params['iss'][:200]!r}, not {connection.issuer!r}")
    code = params.get("code", "")
    if not code:
        raise _refused("the answer carries no code")
    try:
        endpoints = await issuers.endpoints(connection.issuer, now=now)
        token = await _redeem(
            connection,
            token_endpoint=endpoints.token_endpoint,
            code=code,
            verifier=spent.code_verifier,
            redirect_uri=redirect_uri,
            secret=connection.client_secret(fernet),
        )
        unverified_id_token = str(token.get("id_token") or "") if isinstance(token, dict) else ""
        if not unverified_id_token:
            raise TokenRefused("the token answer carries no ID token")
        keys = await issuers.keys(connection.issuer, key_id=key_id_of(unverified_id_token), now=now)
        identity = verify_id_token(
            unverified_id_token,
            keys,
            issuer=connection.issuer,
            client_id=connection.client_id,
            nonce=spent.nonce,
            now=now,
        )
    except (ProviderUnreachable, TokenRefused, SealBroken) as exc:
        raise _refused(f"connection {connection.id}: {exc}") from exc
    except (httpx.HTTPError, ValueError) as exc:  # the token endpoint unreachable or answering nonsense: never a 500
        raise _refused(f"connection {connection.id}: {exc.__class__.__name__}") from exc
    return Verified(connection=connection, identity=identity, next_page=spent.next_page)
