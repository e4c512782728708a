"""The client's address: the peer, or the address a trusted reverse proxy reports for it."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    networks: list[Network] = []
    for entry in trusted:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(f"AIQ_TRUSTED_PROXIES: {entry!r} is not an IP address or network") from exc
    return tuple(networks)


def _is_trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@functools.lru_cache(maxsize=4096)  # parsed on every request: the same few addresses
def _as_key(address: str) -> str:
    """IPv6 clients are keyed by their /64 (one subscriber gets a whole /64); IPv4 as is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_address(request: Any, trusted_proxies: tuple[str, ...]) -> str:
    """The caller's address as limits key it (an IPv6 address by its /64); see ``peer_address``."""
    return _as_key(peer_address(request, trusted_proxies))


def peer_address(request: Any, trusted_proxies: tuple[str, ...]) -> str:
    """The caller's address for rate limits and throttles.

    The TCP peer, unless the peer is one of ``trusted_proxies`` (AIQ_TRUSTED_PROXIES: addresses
    or CIDR networks): then the right-most address of ``X-Forwarded-For`` that is not itself a
    trusted proxy. Clients can put anything in the header, so only what trusted proxies appended
    is believed.
    """
    client = getattr(request, "client", None)
    peer = client.host if client is not None else "unknown"
    networks = _networks(trusted_proxies)
    if not networks or not _is_trusted(peer, networks):
        return peer
    headers = getattr(request, "headers", None)
    if headers is None:
        lines: list[str] = []
    elif hasattr(headers, "getlist"):
        lines = list(headers.getlist("x-forwarded-for"))  # a proxy may append its own header line
    else:
        lines = [headers.get("x-forwarded-for", "")]
    forwarded = ",".join(lines)
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a malformed hop: fall back to the proxy itself
    return peer
