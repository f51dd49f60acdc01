"""Who is on the other end: the peer's address, or, behind a trusted proxy, the client it forwards for.

``X-Forwarded-For`` is anybody's to write; it is believed only from the proxies named in
``CT_TRUSTED_PROXIES`` (addresses or networks, comma-separated; default none). From the right, each
trusted proxy's entry is skipped; the first address that is not a trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from fastapi import Request

from ..settings import Network


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def forwarded_client(peer: str, forwarded_for: Sequence[str], proxies: Sequence[Network]) -> str:
    """The client's address, given the peer's and the ``X-Forwarded-For`` entries (oldest first)."""
    if not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer


def client_address(request: Request, proxies: Sequence[Network]) -> str:
    peer = request.client.host if request.client else "unknown"
    return forwarded_client(peer, request.headers.getlist("x-forwarded-for"), proxies)
