"""Who is calling: the external address, believing X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(item, strict=False) for item in items]


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(request: HTTPConnection, trusted: Sequence[Network]) -> str:
    """The caller's address: the peer, or, behind trusted proxies, the first untrusted hop.

    X-Forwarded-For is read right to left and only while each hop is a trusted
    proxy, so a client cannot pick its own address by sending the header.
    """
    peer = request.client.host if request.client else "unknown"
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer
