"""Which headers cross the proxy, in each direction.

Towards the provider, the caller's headers go on except those that belong to the hop to Weir
or could carry a credential the provider must not see: ``Authorization`` (the caller's Weir
key), ``Cookie``, ``Host``, hop-by-hop headers (and those ``Connection`` names), ``Proxy-*``,
``X-Weir-*``, ``Forwarded`` / ``X-Forwarded-*`` / ``X-Real-IP``, framing (``Content-Length``,
which httpx sets from the body; ``Expect``), and any header holding the caller's Weir secret (``x-api-key``).
The integration's credential headers are then added, replacing any of the same name.

Back to the caller, the provider's headers go on except ``Set-Cookie``, ``Authorization``,
``WWW-Authenticate``, ``Proxy-*``, ``X-Weir-Error``, hop-by-hop headers, and any header whose value contains a
credential value (a provider echoing a token in a ``Location`` or a debug header).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from server.http import SECRET_WORDS

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_REQUEST_DROPPED = HOP_BY_HOP | {
    "authorization",
    "cookie",
    "host",
    "content-length",
    "expect",
    "forwarded",
    "x-real-ip",
}
_REQUEST_DROPPED_PREFIXES = ("proxy-", "x-weir-", "x-forwarded-")
_RESPONSE_DROPPED = HOP_BY_HOP | {
    "set-cookie",
    "set-cookie2",
    "authorization",
    "www-authenticate",
    "content-length",
    # Marks Weir's own error answers (server/web/proxy.py): a provider may not forge it.
    "x-weir-error",
}
_RESPONSE_DROPPED_PREFIXES = ("proxy-",)
# A secret shorter than this is not looked for in values (it would match by accident).
MIN_SECRET = 6


def _connection_named(headers: Iterable[tuple[str, str]]) -> set[str]:
    """The headers a ``Connection`` header declares hop-by-hop (RFC 9110 7.6.1)."""
    named: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            named.update(token.strip().lower() for token in value.split(",") if token.strip())
    return named


def secret_values(credentials: Mapping[str, Any], *injected: Mapping[str, str]) -> list[str]:
    """Every value that must never reach the caller: the credential fields that hold secrets,
    and what was injected (the whole header value, and its token after a scheme word)."""
    found = {
        str(value)
        for key, value in credentials.items()
        if isinstance(value, str) and any(word in key.lower() for word in SECRET_WORDS)
    }
    for values in injected:
        for value in values.values():
            found.add(value)
            scheme, _, token = value.partition(" ")
            if token:
                found.add(token.strip())
    return sorted((value for value in found if len(value) >= MIN_SECRET), key=len, reverse=True)


def _holds(value: str, secrets: Iterable[str]) -> bool:
    return any(secret in value for secret in secrets)


def outgoing(
    headers: Iterable[tuple[str, str]], *, credential_headers: Mapping[str, str], caller_secret: str | None
) -> list[tuple[str, str]]:
    """The headers sent to the provider: the caller's, filtered, then the credential's."""
    headers = list(headers)
    dropped = _connection_named(headers)
    replaced = {name.lower() for name in credential_headers}
    kept = []
    for name, value in headers:
        lower = name.lower()
        if (
            lower in _REQUEST_DROPPED
            or lower in dropped
            or lower in replaced
            or lower.startswith(_REQUEST_DROPPED_PREFIXES)
            or (caller_secret and caller_secret in value)
        ):
            continue
        kept.append((name, value))
    kept.extend(credential_headers.items())
    return kept


def incoming(headers: Iterable[tuple[str, str]], *, secrets: Iterable[str]) -> list[tuple[str, str]]:
    """The provider's headers passed back to the caller (``Content-Length`` too is dropped:
    the answer is streamed and its length is the server's to frame)."""
    headers = list(headers)
    secrets = list(secrets)
    dropped = _connection_named(headers)
    return [
        (name, value)
        for name, value in headers
        if name.lower() not in _RESPONSE_DROPPED
        and name.lower() not in dropped
        and not name.lower().startswith(_RESPONSE_DROPPED_PREFIXES)
        and not _holds(value, secrets)
    ]
