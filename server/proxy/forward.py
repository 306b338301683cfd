"""One proxied exchange with the provider: credential injection, one refresh on 401, one short
wait on a rate limit, and the answer streamed back within its size limit.

What happens to an answer:

- 401: when the connection can refresh (OAuth), refresh once and send again; a 401 after that
  (or on a connection that cannot refresh) raises ``CredentialsRefused`` with the provider's
  reason, secrets cut out (the service then marks the connection for re-authorization).
- a rate limit (429, or a 403 the provider's rate-limit headers call one, per
  ``HttpTarget.rate_limit``): wait what it asks when that is at most ``MAX_WAIT`` seconds and
  send once more; otherwise, or when limited again, ``RateLimited`` with ``retry_after``.
- the connection's rate budget (``context.budget``, shared with syncs and actions) is asked
  before every attempt and told every answer; when it refuses, the answer is ``RateLimited``
  without a request being sent.
- anything else, 5xx included, goes back to the caller as the provider sent it: nothing is
  retried that the caller did not ask for (a POST may not be safe to send twice).

The request body is buffered (up to its limit) so it can be sent again; the response body is
never buffered: its raw bytes (still compressed, if they were) are passed on as they arrive.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from server import outbound
from server.connectors.base import ConnectorContext
from server.connectors.http import (
    HttpTarget,
    ProviderError,
    ProviderRateLimited,
    provider_message,
    rate_limit_wait,
)
from server.errors import (
    PayloadTooLarge,
    ProviderFailed,
    ProviderUnavailable,
    RateLimited,
    ResponseTooLarge,
)
from server.http import redact
from server.proxy import headers as header_rules

# The longest a proxied call waits on a provider's rate limit before answering 429 itself.
MAX_WAIT = 5.0
# How much of a refusal's body is read for its reason.
REASON_BYTES = 16_384


class CredentialsRefused(Exception):
    """The provider answered 401 even with fresh credentials; ``reason`` has no secret."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Outgoing:
    """The caller's request, checked: method, path and query as received, its headers, and
    its body (already read within its limit)."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Answer:
    """The provider's answer as the caller gets it: status, filtered headers, and the body as
    it streams in. ``close`` must be awaited once done (whether or not the body was read): it
    releases the provider's connection."""

    status: int
    headers: list[tuple[str, str]]
    body: AsyncIterator[bytes]
    close: Callable[[], Awaitable[None]]


async def read_body(chunks: AsyncIterator[bytes], *, limit: int, declared: str | None) -> bytes:
    """The whole request body, or ``PAYLOAD_TOO_LARGE`` as soon as it is known to pass ``limit``
    (from ``Content-Length`` before reading, else while reading)."""
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


async def _reason(response: httpx.Response, credentials: Mapping[str, Any]) -> str:
    """The provider's reason for a refusal, from the start of its body, without secrets."""
    data = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) >= REASON_BYTES:
                break
    except httpx.HTTPError:
        pass
    finally:
        await response.aclose()
    shown = httpx.Response(
        response.status_code,
        content=bytes(data[:REASON_BYTES]),
        headers={"content-type": response.headers.get("content-type", "")},
    )
    return redact(provider_message(shown), credentials)[:300]


async def exchange(
    *,
    http: httpx.AsyncClient,
    context: ConnectorContext,
    target: HttpTarget,
    url: httpx.URL,
    request: Outgoing,
    caller_secret: str | None,
    max_response_bytes: int,
) -> Answer:
    """Send ``request`` to ``url`` (already checked to be under the base URL) as the module
    docstring says; return the answer with its body still streaming."""
    credentials: Mapping[str, Any] = context.credentials
    refreshed = waited = False
    key = context.connection_id or ""
    while True:
        if context.budget is not None and key:
            try:
                await context.budget.before_call(key, context.caller)
            except ProviderRateLimited as exc:
                raise _rate_limited(exc.retry_after) from None
        try:
            credential_headers = target.auth(credentials)
            credential_query = target.auth_query(credentials) if target.auth_query is not None else {}
            sent_url = url.copy_merge_params(credential_query) if credential_query else url
        except ProviderError as exc:
            raise ProviderFailed(redact(exc.message, credentials)) from None
        sent_headers = header_rules.outgoing(
            request.headers, credential_headers=credential_headers, caller_secret=caller_secret
        )
        if not any(name.lower() == "accept-encoding" for name, _ in sent_headers):
            # Passed back undecoded: ask for what a caller that said nothing can read.
            sent_headers.append(("Accept-Encoding", "identity"))
        outgoing = http.build_request(
            request.method, sent_url, headers=_encoded(sent_headers), content=request.body or None
        )
        try:
            response = await http.send(outgoing, stream=True)
        except httpx.TransportError as exc:
            if outbound.refused(exc):
                raise ProviderUnavailable(
                    "the provider's address is not allowed by the outbound policy"
                ) from None
            raise ProviderUnavailable(f"could not reach the provider ({type(exc).__name__})") from None
        if context.budget is not None and key:
            await context.budget.after_call(key, response.status_code, response.headers, target.rate_limit)
        status = response.status_code
        if status == 401:
            if context.refresh_credentials is not None and not refreshed:
                await response.aclose()
                refreshed = True
                credentials = await context.refresh_credentials()
                context.credentials = dict(credentials)
                continue
            raise CredentialsRefused(await _reason(response, credentials))
        wait = rate_limit_wait(status, response.headers, target.rate_limit)
        if wait is not None:
            await response.aclose()
            if waited or wait > MAX_WAIT:
                raise _rate_limited(wait)
            waited = True
            await asyncio.sleep(wait)
            continue
        # The credential's own values are never shown back, wherever the provider echoes them.
        secrets = header_rules.secret_values(credentials, credential_headers, credential_query)
        return await _answer(response, secrets, max_response_bytes, head=request.method == "HEAD")


def _rate_limited(wait: float | None) -> RateLimited:
    retry_after = max(1, math.ceil(wait)) if wait is not None else None
    return RateLimited("the provider is rate limiting this connection; retry later", retry_after=retry_after)


def _encoded(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Headers as bytes: the caller's arrived as latin-1 and go back out byte for byte (httpx
    would refuse a str that is not ASCII); a credential's value is UTF-8 when it must be."""

    def value(text: str) -> bytes:
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            return text.encode("utf-8")

    return [(name.encode("latin-1"), value(text)) for name, text in headers]


async def _answer(response: httpx.Response, secrets: list[str], limit: int, *, head: bool) -> Answer:
    declared = response.headers.get("content-length", "")
    # A HEAD answer announces the size of a body it does not send.
    if not head and declared.isdigit() and int(declared) > limit:
        await response.aclose()
        raise ResponseTooLarge(f"the provider's answer is larger than {limit} bytes")
    return Answer(
        status=response.status_code,
        # Read as latin-1, so they go back to the caller byte for byte.
        headers=header_rules.incoming(
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers.raw],
            secrets=secrets,
        ),
        body=_stream(response, limit),
        close=response.aclose,
    )


async def _stream(response: httpx.Response, limit: int) -> AsyncIterator[bytes]:
    """The raw body as it arrives; past ``limit`` it stops with ``ResponseTooLarge`` (the
    status line is already sent by then, so the caller sees the answer cut short)."""
    size = 0
    try:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(f"the provider's answer is larger than {limit} bytes")
            yield chunk
    except httpx.TransportError:
        raise ProviderUnavailable("the provider's answer broke off") from None
    finally:
        await response.aclose()
