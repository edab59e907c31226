"""Which address a request comes from: its direct peer, unless that peer is a proxy named in
`api.trusted_proxies`; then the right-most X-Forwarded-For hop no trusted proxy added."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """Each proxy appends the address it saw, so hops left of the right-most untrusted one
    are whatever the client chose to write: only that one is believed. A hop that is not an
    address ends the walk at the last proxy that is trusted."""
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    last = peer
    for hop in reversed(hops):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            return last
        if not _trusted(address, trusted):
            return address
        last = address
    return last
