"""What a client is told when an action's call fails: an error it can act on, never ``INTERNAL``.

    ActionInputError                                VALIDATION_FAILED at input.input.<path>
    ProviderAuthError (a 401 after the refresh)     the connection goes to ERROR (the same way as
                                                    for syncs), REAUTHORIZATION_REQUIRED
    ProviderRateLimited                             RATE_LIMITED with retryAfter
    ProviderUnreachable, a timeout, httpx transport PROVIDER_UNREACHABLE
    ProviderError, httpx.HTTPStatusError            PROVIDER_ERROR with providerStatus
    CheckFailed from a token refresh                REAUTHORIZATION_REQUIRED when the refresh put
                                                    the connection in ERROR, else UNREACHABLE

Messages carry the provider's reason as ``server.connectors.http`` gives it: credentials cut out.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from server.actions import inputs
from server.connections.models import Connection
from server.connections.status import mark_reauthorization_required
from server.connectors import http as provider_http
from server.connectors.base import ActionInputError
from server.errors import (
    CheckFailed,
    ProviderFailed,
    ProviderUnavailable,
    RateLimited,
    ReauthorizationRequired,
    WeirError,
)
from server.events import EventBus


async def translate(
    exc: Exception,
    *,
    provider: str,
    connection: Connection | None,
    bus: EventBus | None,
    retry_after_header: str | None,
    timeout_seconds: float,
) -> Exception:
    """The error to raise for ``exc`` (itself when it is none of the above)."""
    if isinstance(exc, ActionInputError):
        return inputs.input_error(exc)
    if isinstance(exc, provider_http.ProviderAuthError) and connection is not None:
        await mark_reauthorization_required(connection=connection, reason=exc.message, bus=bus)
        return ReauthorizationRequired(
            f"{provider} refused the connection's credentials even after a refresh ({exc.message}); "
            "connect it again"
        )
    if isinstance(exc, provider_http.ProviderRateLimited):
        return RateLimited(
            f"{provider} is rate limiting this connection; retry later",
            retry_after=retry_after(exc, retry_after_header),
        )
    if isinstance(exc, provider_http.ProviderUnreachable):
        return ProviderUnavailable(f"could not reach {provider}: {exc.message}")
    if isinstance(exc, provider_http.ProviderError):
        return ProviderFailed(
            f"{provider} refused the call: {exc.message}", provider_status=exc.status or None
        )
    if isinstance(exc, CheckFailed) and connection is not None:
        return await refresh_failed(connection, exc)
    if isinstance(exc, TimeoutError):
        return ProviderUnavailable(
            f"{provider} did not finish the action within {timeout_seconds:.0f} seconds"
        )
    if isinstance(exc, httpx.HTTPStatusError):  # a Python connector's raise_for_status()
        status = exc.response.status_code
        return ProviderFailed(f"{provider} refused the call (HTTP {status})", provider_status=status)
    if isinstance(exc, httpx.TransportError):
        return ProviderUnavailable(f"could not reach {provider} ({type(exc).__name__})")
    return exc


async def refresh_failed(connection: Connection, exc: CheckFailed) -> WeirError:
    """A token refresh that failed: refused for good (the refresh put the connection in
    ERROR), or one that may work later."""
    await connection.refresh_from_db()
    if connection.status == "ERROR":
        return ReauthorizationRequired(exc.message)
    return ProviderUnavailable(exc.message)


def retry_after(exc: provider_http.ProviderRateLimited, header: str | None) -> int | None:
    """Whole seconds until a retry may succeed: what the rate budget knew, else the provider's
    last ``Retry-After`` (seconds or an HTTP date)."""
    known = getattr(exc, "retry_after", None)
    if isinstance(known, int | float) and math.isfinite(known):
        return max(1, math.ceil(known))
    if not header:
        return None
    try:
        seconds = float(header)
    except ValueError:
        seconds = None
    if seconds is not None:
        return max(1, math.ceil(seconds)) if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(1, math.ceil((moment - datetime.now(UTC)).total_seconds()))
