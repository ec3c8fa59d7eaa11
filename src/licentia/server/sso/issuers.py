"""Each identity provider's discovery document and signing keys, fetched over HTTP and cached per process.

The discovery document (``<issuer>/.well-known/openid-configuration``) must name the connection's issuer exactly
(OpenID Connect Discovery 4.3): a document that names another issuer would let that other party's tokens in. The
key set (``jwks_uri``) is kept until a token names a key id it lacks: a provider that rotated its key publishes
the new one first, so one refetch finds it; refetches are at most one per :data:`REFETCH_EVERY` per issuer, so
tokens with made-up key ids cannot make this server hammer the provider.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

DISCOVERY_PATH = "/.well-known/openid-configuration"
DISCOVERY_TTL = dt.timedelta(hours=1)
REFETCH_EVERY = dt.timedelta(seconds=10)
TIMEOUT = httpx.Timeout(5.0)
MAX_DOCUMENT = 512 * 1024


class ProviderUnreachable(Exception):
    """The provider's discovery document or keys could not be fetched or read, or name another issuer."""


@dataclass(frozen=True)
class Endpoints:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass
class _Cached:
    endpoints: Endpoints
    fetched_at: dt.datetime
    keys: KeySet | None = None
    keys_fetched_at: dt.datetime | None = None


async def _get_json(url: str) -> Any:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http:
            answer = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ProviderUnreachable(f"{url} could not be reached: {exc.__class__.__name__}") from exc
    if answer.status_code != 200 or len(answer.content) > MAX_DOCUMENT:
        raise ProviderUnreachable(f"{url} answered {answer.status_code}")
    try:
        return answer.json()
    except ValueError as exc:
        raise ProviderUnreachable(f"{url} did not answer JSON") from exc


def _endpoints(issuer: str, document: Any) -> Endpoints:
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        found = document.get("issuer") if isinstance(document, dict) else None
        raise ProviderUnreachable(f"the discovery document names the issuer {found!r}, not {issuer!r}")
    names = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    if not all(isinstance(document.get(name), str) for name in names):
        raise ProviderUnreachable("the discovery document lacks an endpoint")
    return Endpoints(issuer, *(str(document[name]) for name in names))


@dataclass
class Issuers:
    """The providers this process has met, by issuer. Kept on the app's state; every worker has its own."""

    _known: dict[str, _Cached] = field(default_factory=dict)

    async def endpoints(self, issuer: str, *, now: dt.datetime) -> Endpoints:
        cached = self._known.get(issuer)
        if cached is None or now - cached.fetched_at > DISCOVERY_TTL:
            document = await _get_json(issuer.rstrip("/") + DISCOVERY_PATH)
            fresh = _Cached(_endpoints(issuer, document), now)
            if cached is not None and cached.endpoints.jwks_uri == fresh.endpoints.jwks_uri:
                fresh.keys, fresh.keys_fetched_at = cached.keys, cached.keys_fetched_at
            self._known[issuer] = cached = fresh
        return cached.endpoints

    async def keys(self, issuer: str, *, key_id: str | None, now: dt.datetime) -> KeySet:
        """The issuer's key set, refetched when it lacks ``key_id`` (a rotated key) and the last fetch is old enough."""
        await self.endpoints(issuer, now=now)
        cached = self._known[issuer]
        stale = cached.keys is None or (
            key_id is not None
            and not _has(cached.keys, key_id)
            and (cached.keys_fetched_at is None or now - cached.keys_fetched_at >= REFETCH_EVERY)
        )
        if stale:
            document = await _get_json(cached.endpoints.jwks_uri)
            try:
                cached.keys = KeySet.import_key_set(document)
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise ProviderUnreachable("the provider's key set cannot be read") from exc
            cached.keys_fetched_at = now
        assert cached.keys is not None  # noqa: S101 (fetched just above when missing)
        return cached.keys


def _has(keys: KeySet, key_id: str) -> bool:
    return any(key.kid == key_id for key in keys.keys)
