"""The outbound guard: which addresses pass, what the operator opens, and the connect-time check."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from server import outbound
from server.config import ConfigError, Settings
from server.http import DEFAULT, client
from server.outbound import REFUSED_MESSAGE, Address, AddressRefused, Policy

PRODUCTION = Settings(env="production")

REFUSED = [
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "100.100.100.200",  # a cloud metadata service inside it
    "fec0::1",  # IPv6 site-local
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b:1::a00:1",  # local-use NAT64
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::7f00:1",  # IPv4-compatible loopback
    "169.254.169.254",  # link-local metadata
    "10.1.2.3",
    "10.255.255.255",
    "172.16.0.1",
    "192.168.0.10",
    "127.0.0.1",
    "127.255.0.9",
    "::1",
    "0.0.0.0",
    "::",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "224.0.0.1",
    "ff02::1",
    "240.0.0.1",
    "2001:db8::1",
    "198.18.0.1",
]
ALLOWED = [
    "93.184.216.34",
    "8.8.8.8",
    "2606:4700::1111",
    "::ffff:93.184.216.34",
    "2002:5db8:d822::",
    "64:ff9b::5db8:d822",
]


class FakeResolver:
    """A resolver whose answers are set by the test, one list per lookup, the last one kept."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = [[ipaddress.ip_address(a) for a in answer] for answer in answers]
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> list[Address]:
        self.asked.append(host)
        if not self.answers:
            raise OSError(f"{host} does not resolve")
        return self.answers.pop(0) if len(self.answers) > 1 else list(self.answers[0])


@pytest.mark.parametrize("address", REFUSED)
async def test_addresses_that_are_not_globally_routable_are_refused(address):
    with pytest.raises(AddressRefused) as refused:
        await Policy.from_settings(PRODUCTION).resolve(address, 443)
    # The message is the same for every address, and never names it.
    assert str(refused.value) == f"{address} {REFUSED_MESSAGE}"


@pytest.mark.parametrize("address", ALLOWED)
async def test_globally_routable_addresses_pass(address):
    [checked] = await Policy.from_settings(PRODUCTION).resolve(address, 443)
    assert checked == ipaddress.ip_address(address)


async def test_a_name_is_refused_when_any_of_its_addresses_is_not_allowed():
    policy = Policy.from_settings(PRODUCTION, resolver=FakeResolver(["93.184.216.34", "10.0.0.7"]))
    with pytest.raises(AddressRefused):
        await policy.resolve("mixed.example.com", 443)


async def test_a_name_that_does_not_resolve_reads_like_a_refused_one():
    policy = Policy.from_settings(PRODUCTION, resolver=FakeResolver())
    with pytest.raises(AddressRefused) as refused:
        await policy.resolve("nowhere.example.com", 443)
    assert str(refused.value) == f"nowhere.example.com {REFUSED_MESSAGE}"


@pytest.mark.parametrize("host", ["/var/run/postgresql", "a,b", "", "host name", "[::1]:5432"])
async def test_what_is_not_a_host_name_is_refused_without_resolving(host):
    resolver = FakeResolver(["93.184.216.34"])
    with pytest.raises(AddressRefused):
        await Policy.from_settings(PRODUCTION, resolver=resolver).resolve(host, 5432)
    assert resolver.asked == []


async def test_loopback_is_open_outside_production_only():
    development = Policy.from_settings(Settings())
    assert await development.resolve("127.0.0.1", 80) == [ipaddress.ip_address("127.0.0.1")]
    assert await development.resolve("::1", 80) == [ipaddress.ip_address("::1")]
    assert await development.resolve("::ffff:127.0.0.1", 80)
    for private in ("10.1.2.3", "169.254.169.254", "100.100.100.200"):
        with pytest.raises(AddressRefused):
            await development.resolve(private, 80)


async def test_the_operator_opens_networks_and_exact_host_names():
    settings = Settings.from_env(
        {"WEIR_ENV": "production", "WEIR_OUTBOUND_ALLOW": " 10.0.0.0/8, DB.Internal. ,fd00::/8"}
    )
    assert settings.outbound_allow == ("10.0.0.0/8", "db.internal", "fd00::/8")
    resolver = FakeResolver(["192.168.7.7"])
    policy = Policy.from_settings(settings, resolver=resolver)
    assert await policy.resolve("10.200.0.1", 5432)
    assert await policy.resolve("fd00::5", 5432)
    # A listed name may resolve anywhere (the operator trusts their DNS for it)...
    assert await policy.resolve("db.internal", 5432) == [ipaddress.ip_address("192.168.7.7")]
    assert await policy.resolve("DB.INTERNAL.", 5432)
    assert resolver.asked == ["db.internal", "db.internal"]  # ...and is still resolved
    # ...but another name for the same address, a sub-domain or the address itself is not listed.
    for host in ("alias.example.com", "x.db.internal", "192.168.7.7"):
        with pytest.raises(AddressRefused):
            await policy.resolve(host, 5432)
    with pytest.raises(AddressRefused):
        await policy.resolve("192.168.0.1", 5432)


@pytest.mark.parametrize(
    "value", ["10.0.0.1/8", "10.0.0.300", "not a host", "10.0.0.0/33", "fe80::1/200", "-bad.example"]
)
def test_a_malformed_allow_entry_is_a_configuration_error(value):
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"WEIR_OUTBOUND_ALLOW": value})
    assert str(error.value).startswith("WEIR_OUTBOUND_ALLOW: ")


def test_the_deprecated_webhook_switch_lifts_the_guard_for_webhooks_only():
    settings = PRODUCTION.replace(webhooks_allow_private=True)
    assert Policy.for_webhooks(settings).allow_all
    assert not Policy.from_settings(settings).allow_all


# -- the connect-time check, with a real HTTP server on loopback -----------------------------


class Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.port = 0


@pytest.fixture
async def local_server() -> AsyncIterator[Recorder]:
    """A tiny HTTP/1.1 server on 127.0.0.1: ``/redirect?to=URL`` answers 302, the rest 200."""
    recorder = Recorder()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        line, *fields = head.split("\r\n")
        path = line.split(" ")[1]
        host = next(f.split(":", 1)[1].strip() for f in fields if f.lower().startswith("host:"))
        recorder.requests.append((host, path))
        if path.startswith("/redirect?to="):
            answer = f"HTTP/1.1 302 Found\r\nLocation: {path[len('/redirect?to=') :]}\r\n"
        else:
            answer = "HTTP/1.1 200 OK\r\n"
        writer.write((answer + "Content-Length: 2\r\nConnection: close\r\n\r\nok").encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    recorder.port = server.sockets[0].getsockname()[1]
    async with server:
        yield recorder


async def test_dns_rebinding_is_refused_when_connecting(local_server):
    # The name resolves to a public address when checked, then to loopback.
    resolver = FakeResolver(["93.184.216.34"], ["127.0.0.1"])
    policy = Policy.from_settings(PRODUCTION, resolver=resolver)
    url = f"http://rebind.example.com:{local_server.port}/hook"
    assert await policy.resolve("rebind.example.com", local_server.port)  # e.g. when saved
    async with client(policy) as http:
        with pytest.raises(httpx.ConnectError) as refused:
            await http.get(url)
    assert str(refused.value) == f"rebind.example.com {REFUSED_MESSAGE}"
    assert resolver.asked == ["rebind.example.com", "rebind.example.com"]
    assert local_server.requests == []


async def test_the_client_connects_to_the_checked_address_under_the_name(local_server):
    resolver = FakeResolver(["127.0.0.1"])
    policy = Policy.from_settings(PRODUCTION.replace(outbound_allow=("127.0.0.0/8",)), resolver=resolver)
    async with client(policy) as http:
        response = await http.get(f"http://api.example.com:{local_server.port}/v1")
    assert response.status_code == 200
    assert local_server.requests == [(f"api.example.com:{local_server.port}", "/v1")]


async def test_every_redirect_is_checked_too(local_server):
    port = local_server.port
    # ``start.internal`` is opened by name; the name it redirects to is not.
    resolver = FakeResolver(["127.0.0.1"])
    policy = Policy.from_settings(PRODUCTION.replace(outbound_allow=("start.internal",)), resolver=resolver)
    async with client(policy, replace(DEFAULT, follow_redirects=True)) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(
                f"http://start.internal:{port}/redirect?to=http://elsewhere.example.com:{port}/secret"
            )
    assert local_server.requests == [
        (f"start.internal:{port}", f"/redirect?to=http://elsewhere.example.com:{port}/secret")
    ]


def test_postgres_tls_names_the_server_not_the_checked_address():
    import ssl

    context = outbound.postgres_tls("verify-full", "DB.Example.com")
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    # asyncpg hands over the address it connected to; TLS still says the name.
    tls = context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="10.0.0.7")
    assert tls.server_hostname == "db.example.com"
    relaxed = outbound.postgres_tls("prefer", "db.example.com")
    assert isinstance(relaxed, ssl.SSLContext) and relaxed.verify_mode == ssl.CERT_NONE
    assert outbound.postgres_tls("disable", "db.example.com") is False


def test_the_start_up_line_says_what_is_open():
    assert outbound.describe(Settings()) == (
        "Outbound connections for tenants may reach globally routable addresses; loopback "
        "(127.0.0.0/8, ::1; open because WEIR_ENV is not production)"
    )
    production = Settings(env="production", outbound_allow=("10.0.0.0/8", "db.internal"))
    assert outbound.describe(production) == (
        "Outbound connections for tenants may reach globally routable addresses; "
        "WEIR_OUTBOUND_ALLOW: 10.0.0.0/8, db.internal"
    )
