"""Every outgoing HTTP client Weir opens, built in one place.

``client(policy, preset)`` is the only way to an ``httpx.AsyncClient`` for a call out of Weir
(connector checks and reads, discovery, OAuth token exchanges and refreshes, webhooks). Each
client it builds:

- opens every connection through the outbound guard (``server.outbound.Policy``), redirects
  and keep-alive reconnects included, and connects to the address that was checked;
- ignores the environment (``trust_env=False``): no proxy, no ``.netrc``, no ``SSL_CERT_FILE``
  from the operator's shell, so the address checked is the address connected to and no
  operator credential is ever sent to a tenant's host;
- has the timeouts and connection limits of its ``Preset``, named by what the client is for;
- keeps no cookies: one client serves every tenant, so a cookie one connection's provider set
  would otherwise ride along on the next tenant's call to the same host.

Secrets stay out of what these calls say: a connector's error and check messages go through
``redact`` (the provider's words minus every credential value and any word showing a piece of
one), and ``server.logs`` keeps httpx's request-URL logging at WARNING, since some providers put
a token in the path.
"""

from __future__ import annotations

import asyncio
import typing
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from http.cookiejar import CookieJar
from typing import Any

import httpcore
import httpx

from server.config import Settings
from server.outbound import AddressRefused, Policy

# Credential fields whose values are secret (``password``, ``secret_text``, ``access_token``,
# ``api_key``...); the others (host, user name, domain) may appear in messages.
SECRET_WORDS = ("password", "secret", "token", "key")


@dataclass(frozen=True)
class Preset:
    """How one kind of outgoing call behaves: its timeout (seconds, per phase, as httpx reads
    it), whether redirects are followed, its pool, and headers every request carries."""

    timeout: float
    follow_redirects: bool = False
    max_connections: int | None = 100
    max_keepalive_connections: int | None = 20
    headers: tuple[tuple[str, str], ...] = ()


# httpx's own defaults: for callers that set a timeout per request.
DEFAULT = Preset(timeout=5.0)
# A provider's answer to "do these credentials work?" (createConnection, testConnection).
CONNECTOR_CHECK = Preset(timeout=20.0)
# Listing a connector's streams and the options of its settings.
DISCOVERY = Preset(timeout=30.0)
# Reading a sync's streams: a provider page may take a while to build.
SYNC_RUN = Preset(timeout=60.0)
# The scheduler's refreshes of OAuth tokens that expire soon.
TOKEN_REFRESH = Preset(timeout=30.0)
# The hosted connect flow: token exchanges and credential checks, shared by the API process.
CONNECT_FLOW = Preset(timeout=20.0, headers=(("User-Agent", "weir"),))
# Webhook deliveries: each request sets its own limit; many endpoints, no keep-alive cap.
WEBHOOKS = Preset(timeout=5.0, max_connections=50, max_keepalive_connections=None)
# The authenticated proxy (``/proxy/...``): a host's calls to its providers' APIs, many at once.
PROXY = Preset(timeout=60.0, max_connections=200, max_keepalive_connections=50)


class _NoCookies(CookieJar):
    """A cookie jar that never stores one (and so never sends one)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Any) -> None:
        return None


def client(policy: Policy, preset: Preset = DEFAULT) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose every connection (redirects included) passes ``policy``,
    configured by ``preset``."""
    transport = GuardedTransport(
        policy,
        max_connections=preset.max_connections,
        max_keepalive_connections=preset.max_keepalive_connections,
    )
    return httpx.AsyncClient(
        transport=transport,
        trust_env=False,
        timeout=preset.timeout,
        follow_redirects=preset.follow_redirects,
        headers=dict(preset.headers) or None,
        cookies=_NoCookies(),
    )


def tenant_client(settings: Settings, preset: Preset) -> httpx.AsyncClient:
    """A client for a destination a tenant chose, under the operator's outbound policy."""
    return client(Policy.from_settings(settings), preset)


def redact(text: str, credentials: Mapping[str, Any]) -> str:
    """Cut every secret credential value out of ``text``, and any word that shows a piece of one.

    Providers echo masked keys back (``Invalid API Key provided: sk_test_****1234``): a word that
    contains the first or last four characters of a secret goes too.
    """
    secrets = [
        str(v)
        for k, v in credentials.items()
        if isinstance(v, str) and len(v) >= 8 and any(w in k.lower() for w in SECRET_WORDS)
    ]
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    words = text.split(" ")
    for i, word in enumerate(words):
        if "*" in word or any(s[:4] in word or s[-4:] in word for s in secrets):
            words[i] = "[redacted]"
    return " ".join(words)


# -- the transport: every connection a client opens passes the guard ----------------------


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks at connect time, then connects to a checked address.

    httpcore keeps the host name for the ``Host`` header and for TLS (SNI and certificate
    checks), so only the socket goes to the address.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 -- httpcore's own
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.policy.resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"{host} did not resolve in time") from None
        except AddressRefused as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("a Unix socket is not an outbound destination")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


_HTTPCORE_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    # Most specific first.
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def _as_httpx(exc: Exception) -> Exception:
    for source, target in _HTTPCORE_ERRORS:
        if isinstance(exc, source):
            mapped = target(str(exc))
            mapped.__cause__ = exc
            return mapped
    return exc


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: typing.AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except Exception as exc:
            raise _as_httpx(exc) from exc

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over an httpcore pool whose every connection passes the guard.

    Built from public APIs only (``httpcore.AsyncConnectionPool(network_backend=...)``): httpx's
    own transport takes no network backend. No proxy, whatever the environment says, so the
    address checked is the address connected to.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        max_connections: int | None = 100,
        max_keepalive_connections: int | None = 20,
        keepalive_expiry: float | None = 5.0,
    ) -> None:
        self.policy = policy
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
            network_backend=_GuardedBackend(policy),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core_request)
        except Exception as exc:
            raise _as_httpx(exc) from exc
        assert isinstance(response.stream, typing.AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
