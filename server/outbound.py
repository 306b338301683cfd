"""The outbound guard: where Weir may connect on a tenant's behalf.

Every connection whose destination a tenant chose (connector checks and reads, OAuth token
endpoints, a workspace's own warehouse, webhooks) goes through a ``Policy``:

- only globally routable addresses, judged after unwrapping the forms that embed an IPv4
  address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, 6to4 ``2002::/16``,
  NAT64 ``64:ff9b::/96``); ``ipaddress.is_global`` differs between Python versions, so the
  ranges that matter are also listed here (shared address space ``100.64.0.0/10``, site-local
  ``fec0::/10``, local-use NAT64 ``64:ff9b:1::/48``, Teredo...);
- plus what the operator opens with ``WEIR_OUTBOUND_ALLOW``: networks (``10.0.0.0/8``) match
  the resolved address, host names (``db.internal``) match the name exactly as the tenant typed
  it (case and a final dot aside; no wildcard), and such a name is still resolved here;
- plus loopback outside ``WEIR_ENV=production`` (the embedded default), said at start-up.

The check runs when the connection is opened, not only when a URL is saved: the name is
resolved, every address it resolves to must be allowed, and the connection goes to an address
that was checked (for HTTP, inside the connection pool of every client ``server.http`` builds,
so redirects and keep-alive reconnects are covered too). Another answer from the resolver a
moment later (DNS rebinding) is never used.

``AddressRefused`` reads the same whether the name did not resolve or resolved somewhere not
allowed, and never names the address, so the refusal says nothing about the network behind it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.config import Settings

log = logging.getLogger("weir.outbound")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

REFUSED_MESSAGE = "is not an allowed destination (the outbound policy refuses it)"


class AddressRefused(OSError):
    """The host did not resolve to addresses the outbound policy allows (or did not resolve)."""

    def __init__(self, host: str) -> None:
        super().__init__(f"{host} {REFUSED_MESSAGE}")
        self.host = host


def refused(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it, e.g. inside an ``httpx.ConnectError``) is a refusal."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, AddressRefused):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


# -- which addresses ------------------------------------------------------------------------


def _networks(*cidrs: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


# Not globally routable, whatever this Python's ``is_global`` says (its tables changed in 3.11.x,
# 3.12.4 and 3.13; 100.64.0.0/10 and fec0::/10 pass some of them).
_NOT_GLOBAL = _networks(
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/96",
    "::1/128",
    "::ffff:0:0/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/32",
    "2001:db8::/32",
    "2001:10::/28",
    "2001:20::/28",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
)
LOOPBACK = _networks("127.0.0.0/8", "::1/128")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_global(address: Address) -> bool:
    """Globally routable: judged on the IPv4 address inside a mapped, 6to4 or NAT64 address;
    else ``is_global`` and outside every range listed above."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _COMPATIBLE:
            return False  # deprecated (RFC 4291), never routed
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_global(inner)
    if any(address in network for network in _NOT_GLOBAL if network.version == address.version):
        return False
    return address.is_global and not address.is_multicast and not address.is_reserved


# -- resolving --------------------------------------------------------------------------------


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[Address]:
        """Every address ``host`` has now (raise ``OSError`` when it has none)."""
        ...


class SystemResolver:
    """The operating system's resolver (``getaddrinfo``), without blocking the event loop."""

    async def resolve(self, host: str, port: int) -> list[Address]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        found: list[Address] = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in found:
                found.append(address)
        return found


_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)"
    r"(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)


def normal_host(host: str) -> str:
    """A host name as the allow-list compares it: lower case, without brackets or a final dot."""
    return host.strip().strip("[]").rstrip(".").lower()


def literal_address(host: str) -> Address | None:
    """``host`` as an IP address when it is written as one (dotted-quad or IPv6 only)."""
    try:
        return ipaddress.ip_address(normal_host(host).split("%", 1)[0])
    except ValueError:
        return None


# -- the policy -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """Which destinations are allowed, and how names are resolved (a fake in tests)."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()
    # Only for the deprecated ``WEIR_WEBHOOKS_ALLOW_PRIVATE`` (webhooks): nothing is refused.
    allow_all: bool = False
    resolver: Resolver = field(default_factory=SystemResolver, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, resolver: Resolver | None = None) -> Policy:
        networks: list[Network] = []
        hosts: set[str] = set()
        for entry in settings.outbound_allow:
            try:
                networks.append(ipaddress.ip_network(entry))
            except ValueError:
                hosts.add(normal_host(entry))
        if not settings.is_production:
            networks.extend(network for network in LOOPBACK if network not in networks)
        return cls(networks=tuple(networks), hosts=frozenset(hosts), resolver=resolver or SystemResolver())

    @classmethod
    def for_webhooks(cls, settings: Settings, *, resolver: Resolver | None = None) -> Policy:
        policy = cls.from_settings(settings, resolver=resolver)
        if settings.webhooks_allow_private:
            return cls(allow_all=True, resolver=policy.resolver)
        return policy

    def allows_address(self, address: Address) -> bool:
        if self.allow_all or is_global(address):
            return True
        candidates = [address]
        inner = embedded_ipv4(address)
        if inner is not None:
            candidates.append(inner)
        return any(
            candidate in network
            for candidate in candidates
            for network in self.networks
            if network.version == candidate.version
        )

    async def resolve(self, host: str, port: int) -> list[Address]:
        """Every address of ``host``, each checked; raise ``AddressRefused`` otherwise."""
        name = normal_host(host)
        literal = literal_address(host)
        if literal is None and not _HOST_NAME.match(name):
            # Not a name a resolver should see (a path, a list, an odd spelling of an address).
            raise AddressRefused(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = await self.resolver.resolve(name, port)
            except (OSError, UnicodeError):
                log.info("outbound: %s does not resolve", name)
                raise AddressRefused(host) from None
        if not addresses:
            raise AddressRefused(host)
        if self.allow_all or (literal is None and name in self.hosts):
            return addresses
        blocked = [address for address in addresses if not self.allows_address(address)]
        if blocked:
            # The operator sees where the name pointed; the tenant's message does not say.
            log.info("outbound: refused %s (resolves to %s)", name, blocked[0])
            raise AddressRefused(host)
        return addresses


def describe(settings: Settings) -> str:
    """What the guard lets through under ``settings``: one line for the start-up log."""
    parts = ["globally routable addresses"]
    if not settings.is_production:
        parts.append("loopback (127.0.0.0/8, ::1; open because WEIR_ENV is not production)")
    if settings.outbound_allow:
        parts.append("WEIR_OUTBOUND_ALLOW: " + ", ".join(settings.outbound_allow))
    line = "Outbound connections for tenants may reach " + "; ".join(parts)
    if settings.webhooks_allow_private:
        line += ". Webhooks may reach any address (WEIR_WEBHOOKS_ALLOW_PRIVATE, deprecated)"
    return line


# -- PostgreSQL and raw sockets -------------------------------------------------------------


class _NamedTLS(ssl.SSLContext):
    """A TLS context that names ``server_name`` (SNI, certificate checks) whatever address the
    socket went to; asyncpg passes the host it connected to, which is the checked address."""

    server_name: str

    def wrap_bio(
        self,
        incoming: Any,
        outgoing: Any,
        server_side: bool = False,
        server_hostname: Any = None,
        session: Any = None,
    ) -> ssl.SSLObject:
        return super().wrap_bio(
            incoming, outgoing, server_side=server_side, server_hostname=self.server_name, session=session
        )


def postgres_tls(sslmode: str, host: str) -> ssl.SSLContext | bool:
    """The TLS asyncpg should use for libpq's ``sslmode`` when connecting to an address.

    ``disable`` is no TLS; ``allow``/``prefer``/``require`` encrypt without checking the
    certificate; ``verify-ca`` checks it against the system's CAs; ``verify-full`` also checks
    it names ``host``. (``allow`` and ``prefer`` fall back to no TLS: see ``connect_postgres``.)
    The operator's own ``~/.postgresql`` files are never read for a tenant's server.
    """
    if sslmode == "disable":
        return False
    context = _NamedTLS(ssl.PROTOCOL_TLS_CLIENT)
    context.server_name = normal_host(host)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if sslmode in ("verify-ca", "verify-full"):
        context.load_default_certs()
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = sslmode == "verify-full"
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def connect_postgres(
    policy: Policy, *, host: str, port: int, sslmode: str = "prefer", **options: Any
) -> Any:
    """``asyncpg.connect`` to a checked address of ``host``, TLS still naming ``host``."""
    import asyncpg

    addresses = await policy.resolve(host, port)
    tls = postgres_tls(sslmode, host)
    # Without a password asyncpg would send this process's PGPASSWORD or ~/.pgpass entry.
    options["password"] = options.get("password") or ""
    failure: BaseException | None = None
    for address in addresses:
        try:
            try:
                return await asyncpg.connect(host=str(address), port=port, ssl=tls, **options)
            except ConnectionError as exc:
                # ``allow``/``prefer``: a server that refuses TLS is spoken to in clear text.
                if (
                    tls is False
                    or sslmode not in ("allow", "prefer")
                    or "rejected SSL upgrade" not in str(exc)
                ):
                    raise
                return await asyncpg.connect(host=str(address), port=port, ssl=False, **options)
        except OSError as exc:
            failure = exc
    assert failure is not None
    raise failure


def open_socket(address: Address, port: int, timeout: float) -> socket.socket:
    """A TCP socket to an address ``Policy.resolve`` returned (blocking; for worker threads)."""
    return socket.create_connection((str(address), port), timeout=timeout)
