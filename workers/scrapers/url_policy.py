"""Which URLs a scraper may request: the one place that decides (see SECURITY.md, "Scrapers").

A source's policy allows http(s) URLs on the real site's hosts (default ports only) whose every
DNS address is a public unicast address, plus the exact origin (host and port) of an operator's
``AIQ_<SOURCE>_BASE_URL`` override, which is trusted as configured (tests and demos point it at
loopback servers). Everything else — other hosts, other ports, IP literals in any spelling
(``http://2130706433/``, ``http://0177.0.0.1/``, ``http://[::ffff:127.0.0.1]/``), names that
resolve to loopback, private, link-local, multicast, reserved or unspecified addresses, URLs with
credentials — is refused. The fetcher checks every request against it, including each redirect hop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urljoin, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

SCHEMES = {"http": 80, "https": 443}
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_BAD_URL_CHARS = frozenset(" \t\r\n\\\x00")


class UrlRefused(Exception):
    """A URL the policy does not let the scraper request."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{reason} ({url[:300]})")
        self.url = url
        self.reason = reason


def _ipv4_number(part: str) -> int | None:
    """One part of an inet_aton-style IPv4 spelling: decimal, 0-prefixed octal or 0x hex."""
    try:
        if part.lower().startswith("0x"):
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10) if part.isdigit() else None
    except ValueError:
        return None


def literal_ip(host: str) -> IPAddress | None:
    """The address a host names literally, in any spelling a resolver accepts; None for names.

    Besides dotted quads and IPv6 this reads the legacy forms ``2130706433``, ``0x7f000001``,
    ``0177.0.0.1`` and ``127.1`` (what ``inet_aton`` and so most HTTP stacks accept).
    """
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    *head, last = values
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(values)):
        return None
    value = 0
    for n in head:
        value = value * 256 + n
    value = value * 256 ** (5 - len(values)) + last
    return ipaddress.IPv4Address(value)


def forbidden_address(ip: IPAddress) -> str | None:
    """Why a scraper must not connect to an address (None for public unicast addresses).

    IPv6 addresses that embed an IPv4 one (IPv4-mapped, 6to4, Teredo, NAT64) are judged by it too.
    """
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:a.b.c.d is a.b.c.d on the wire
    embedded: list[IPAddress] = []
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.extend(ip.teredo)
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    for candidate in (ip, *embedded):
        for kind in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
            if getattr(candidate, f"is_{kind}"):
                return f"{kind.replace('_', '-')} address {candidate}"
        if not candidate.is_global:
            return f"non-public address {candidate}"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (IPv4 and IPv6)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def resolve_link(page_url: str, href: object) -> str | None:
    """A link found on a page as an absolute URL (urljoin against the page); None when empty."""
    if not isinstance(href, str) or not href.strip():
        return None
    return urljoin(page_url, href.strip())


def _origin(url: str) -> tuple[str, str, int]:
    """(scheme, normalised host, port) of an http(s) URL; ValueError with the reason otherwise."""
    if any(c in _BAD_URL_CHARS for c in url):
        raise ValueError("URL contains whitespace, control characters or backslashes")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"scheme {scheme or '(none)'!r} is not http(s)")
    if "@" in parts.netloc:
        raise ValueError("URL carries credentials")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("URL has no host")
    port = parts.port  # ValueError for a malformed port
    ip = literal_ip(host)
    if ip is not None:
        host = str(ip)
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise ValueError("host is not a valid domain name") from exc
    return scheme, host, port if port is not None else SCHEMES[scheme]


class UrlPolicy:
    """The URLs one source's scraper may request (see the module docstring)."""

    def __init__(
        self,
        hosts: Iterable[str],
        trusted_base_urls: Iterable[str] = (),
        *,
        resolver: Resolver | None = None,
    ) -> None:
        self.hosts = frozenset(h.lower().rstrip(".") for h in hosts)
        trusted: set[tuple[str, int]] = set()
        for base in trusted_base_urls:
            _, host, port = _origin(base.replace("{region}", "region"))
            trusted.add((host, port))
        self.trusted = frozenset(trusted)
        self._resolver = resolver or system_resolver
        self._verdicts: dict[tuple[str, int], str | None] = {}

    def host_allowed(self, host: str) -> bool:
        """Whether a host name is one of the site's (``*.example.org`` entries match subdomains)."""
        if host in self.hosts:
            return True
        return any(p.startswith("*.") and host.endswith(p[1:]) and host != p[2:] for p in self.hosts)

    async def check(self, url: str) -> str:
        """The URL if the scraper may request it; UrlRefused with the reason if not."""
        try:
            scheme, host, port = _origin(url)
        except ValueError as exc:
            raise UrlRefused(url, f"refused URL: {exc}") from None
        if (host, port) in self.trusted:
            return url  # the operator's configured base URL: trusted as configured
        if literal_ip(host) is not None:
            raise UrlRefused(url, f"refused URL: IP literal host {host} is not on the source's allow-list")
        if not self.host_allowed(host):
            raise UrlRefused(url, f"refused URL: host {host} is not on the source's allow-list")
        if port != SCHEMES[scheme]:
            raise UrlRefused(url, f"refused URL: port {port} is not the default {scheme} port")
        verdict = await self._verdict(host, port)
        if verdict is not None:
            raise UrlRefused(url, f"refused URL: {host} {verdict}")
        return url

    async def _verdict(self, host: str, port: int) -> str | None:
        key = (host, port)
        if key not in self._verdicts:
            try:
                addresses = await self._resolver(host, port)
            except (OSError, UnicodeError) as exc:
                verdict: str | None = f"does not resolve ({type(exc).__name__})"
            else:
                verdict = "resolves to no address" if not addresses else None
                for raw in addresses:
                    try:
                        reason = forbidden_address(ipaddress.ip_address(raw.split("%", 1)[0]))
                    except ValueError:
                        reason = f"resolves to an unreadable address {raw!r}"
                    if reason is not None:
                        verdict = f"resolves to a {reason}"
                        break
            self._verdicts[key] = verdict
        return self._verdicts[key]
