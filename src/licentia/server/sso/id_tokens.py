"""The ID token: its signature verified with the issuer's keys, then its claims, then the person it names.

What comes in is ``unverified_id_token`` until :func:`verify_id_token` has checked it; the one error it raises,
:class:`TokenRefused`, says which check failed (for the log; the person is told only that sign-in failed).
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

# Asymmetric algorithms only: "none" is never accepted, nor HS256 (a client secret is no proof of the issuer).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
# Clocks of the provider and of this server may differ by this much.
LEEWAY = dt.timedelta(seconds=60)


class TokenRefused(Exception):
    """The ID token is not to be trusted; ``str()`` names the check that failed."""


@dataclass(frozen=True)
class Identity:
    """The person an ID token vouches for, once verified."""

    issuer: str
    subject: str
    email: str


def key_id_of(unverified_id_token: str) -> str | None:
    """The ``kid`` the token's header names (unverified: only to pick, or refetch, the key set)."""
    try:
        header = jws.extract_compact(unverified_id_token.encode()).protected
    except (JoseError, ValueError, UnicodeError) as exc:
        raise TokenRefused("the ID token is not a signed JWT") from exc
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        return aud
    raise TokenRefused("the ID token has no audience")


def _seconds(claims: dict[str, Any], name: str) -> dt.datetime:
    value = claims.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TokenRefused(f"the ID token has no {name}")
    return dt.datetime.fromtimestamp(value, dt.UTC)


def verify_id_token(
    unverified_id_token: str, keys: KeySet, *, issuer: str, client_id: str, nonce: str, now: dt.datetime
) -> Identity:
    """The identity in the token, after its signature, issuer, audience, times, nonce and email are checked."""
    try:
        token = jwt.decode(unverified_id_token, keys, algorithms=list(ALGORITHMS))
    except (JoseError, ValueError, TypeError) as exc:
        raise TokenRefused(f"the ID token's signature does not verify ({exc.__class__.__name__})") from exc
    claims = dict(token.claims)
    if claims.get("iss") != issuer:
        raise TokenRefused(f"the ID token was issued by {claims.get('iss')!r}, not {issuer!r}")
    audiences = _audiences(claims)
    if client_id not in audiences:
        raise TokenRefused("the ID token was issued to another application")
    # Several audiences: the party it was issued to (azp) must be us (OpenID Connect Core 3.1.3.7).
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != client_id:
        raise TokenRefused("the ID token was issued to another application (azp)")
    if _seconds(claims, "exp") <= now - LEEWAY:
        raise TokenRefused("the ID token has expired")
    if _seconds(claims, "iat") > now + LEEWAY:
        raise TokenRefused("the ID token was issued in the future")
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise TokenRefused("the ID token's nonce is not this sign-in's")
    subject, email = claims.get("sub"), claims.get("email")
    if not isinstance(subject, str) or not subject or not isinstance(email, str) or "@" not in email:
        raise TokenRefused("the ID token names no email address")
    # Only an address the provider has checked: else anybody could type the vendor's address into their account.
    # Microsoft Entra ID sends no ``email_verified``; its optional claim ``xms_edov`` (the email's domain is one
    # the tenant has proven it owns) stands in for it, and only when ``email_verified`` is absent altogether.
    verified_by = "email_verified" if "email_verified" in claims else "xms_edov"
    if claims.get(verified_by) is not True:
        raise TokenRefused("the provider has not verified this email address")
    return Identity(issuer=issuer, subject=subject, email=email.strip().lower())
