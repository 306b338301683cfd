"""Where a webhook may go: http(s) only, and in production never into a private network.

A URL whose host resolves to a loopback, link-local, private, unspecified, multicast or
reserved address is refused when ``settings.is_production`` unless
``WEIR_WEBHOOKS_ALLOW_PRIVATE`` is set, so an API key cannot turn webhooks into a probe of the
network Weir runs in. The check runs when the endpoint is saved and again at every delivery
(the name may resolve elsewhere by then); the delivery then connects to the address it checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from server.config import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The URL's host is not allowed (it resolves into a private network) or did not resolve."""


def guarded(settings: Settings) -> bool:
    return settings.is_production and not settings.webhooks_allow_private


def is_private(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (address.is_loopback or address.is_link_local or address.is_private
            or address.is_unspecified or address.is_multicast or address.is_reserved)


async def resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"{host} does not resolve") from exc
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise AddressRefused(f"{host} does not resolve")
    return found


@dataclass(frozen=True)
class Target:
    """Where to connect: the checked address, or ``None`` to let the HTTP client resolve."""

    url: str
    host: str
    address: Address | None


async def check_target(settings: Settings, url: str) -> Target:
    """Resolve ``url``'s host and refuse private addresses when guarded."""
    parts = urlsplit(url)
    host = (parts.hostname or "").strip("[]")
    if not guarded(settings):
        return Target(url=url, host=host, address=None)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolve(host, port)
    refused = [str(address) for address in addresses if is_private(address)]
    if refused:
        raise AddressRefused(f"{host} resolves to a private or local address ({refused[0]})")
    return Target(url=url, host=host, address=addresses[0])


def pinned_url(target: Target) -> str:
    """``target.url`` with its host replaced by the checked address (port and path kept)."""
    if target.address is None:
        return target.url
    parts = urlsplit(target.url)
    shown = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    netloc = shown if parts.port is None else f"{shown}:{parts.port}"
    return parts._replace(netloc=netloc).geturl()
