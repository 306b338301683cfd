"""Calls to provider APIs, with the error handling every provider documents, in one place.

    ProviderError          a provider answered with an error that retrying will not fix
    ├── ProviderAuthError  401 (after at most one credential refresh): the credentials are refused
    ├── ProviderRateLimited  still rate limited after the bounded waits
    └── ProviderUnreachable  nothing answered (network errors, or the outbound guard refused)

What ``request`` does with an answer:

- 401: when ``context.refresh_credentials`` is set, call it once, store the fresh credentials on
  the context and retry; otherwise (or when the retry is refused too) raise ``ProviderAuthError``.
- 429, and a 403 that says it is a rate limit (GitHub's ``x-ratelimit-remaining: 0``): wait what
  ``Retry-After`` (or ``x-ratelimit-reset``) says, at most ``max_wait`` seconds, and retry.
- With ``context.budget`` and ``context.connection_id`` set, the connection's rate budget is
  asked before each attempt and told every answer (``server/connectors/budget.py``): it may
  hold the call or refuse it with ``ProviderRateLimited`` (``retry_after`` set), and it does
  the waiting after a 429, within what ``context.caller`` may wait.
- 5xx and network errors: retry with exponential backoff, a bounded number of times; an
  address the outbound guard refuses (``server/outbound.py``) is not retried.
- A 2xx whose body says it failed (``BodyErrors``, Slack's ``{"ok": false}``): a provider error,
  or, for a reason that means the token expired, one refresh as for a 401.

A connector definition names its own rate-limit headers (``RateLimitHeaders``) and may put
credentials in the query (``auth_query``).

Error messages are the provider's own reason with every credential value cut out, so they can be
shown to a user or logged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from server import outbound
from server.connectors.base import CheckResult, ConnectorContext
from server.http import redact

# Headers for one request, built from the current credentials (they change after a refresh).
Auth = Callable[[Mapping[str, Any]], dict[str, str]]
USER_AGENT = "Weir/0.1"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # tries in all, for 429 and 5xx alike
    backoff: float = 0.5  # first 5xx wait in seconds, doubled each time
    max_backoff: float = 8.0
    max_wait: float = 60.0  # the longest Retry-After we honour before giving up


DEFAULT_POLICY = RetryPolicy()


class ProviderError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status
        self.message = message


class ProviderAuthError(ProviderError):
    pass


class ProviderRateLimited(ProviderError):
    """``retry_after``: seconds until the provider (or the connection's rate budget) lets a
    call through again, when known; the proxy and actions answer it as ``Retry-After``."""

    def __init__(self, status: int, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(status, message)
        self.retry_after = retry_after


class ProviderUnreachable(ProviderError):
    pass


def bearer(key: str) -> Auth:
    """``Authorization: Bearer <credentials[key]>``."""

    def headers(credentials: Mapping[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials.get(key) or ''}"}

    return headers


def oauth_or_token(credentials: Mapping[str, Any]) -> str:
    """The token of an OAuth connection or of a SECRET_TEXT one, whichever this is."""
    return str(credentials.get("access_token") or credentials.get("secret_text") or "")


def base_url(context: ConnectorContext, default: str | None) -> str:
    url = context.base_url or default
    if not url:
        raise ProviderError(0, "no base URL is configured for this connector")
    return url.rstrip("/")


def provider_message(response: httpx.Response) -> str:
    """The provider's own reason for an error answer, from the common error body shapes."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # Stripe, OpenAI, Airtable
            return str(error.get("message") or error.get("type") or error)
        if isinstance(error, str):  # Slack, OAuth servers
            return str(body.get("error_description") or error)
        errors = body.get("errors")
        reason = ("message", "detail", "title")
        if (
            isinstance(errors, list)
            and errors
            and isinstance(errors[0], dict)
            and any(errors[0].get(k) for k in reason)
        ):
            # SendGrid and Intercom say "message"; JSON:API bodies (Klaviyo, ActiveCampaign) "detail"
            # and "title". GitHub's 422 has an ``errors`` list without them, and its own message below.
            return "; ".join(str(e.get("message") or e.get("detail") or e.get("title")) for e in errors)
        if isinstance(body.get("errorMessages"), list) and isinstance(errors, dict):  # Jira
            reasons = [str(m) for m in body["errorMessages"]] + [f"{k}: {v}" for k, v in errors.items()]
            if reasons:
                return "; ".join(reasons)
        if body.get("message"):  # GitHub, HubSpot, Freshsales
            return str(body["message"])
        if body.get("login_status") is False:  # Freshsales
            return "login failed"
    return str(body)[:200]


@dataclass(frozen=True)
class RateLimitHeaders:
    """Where a provider says how long to wait (a definition's ``api.rate_limit``).

    ``reset_kind`` says what the reset header holds: ``epoch_seconds`` (GitHub),
    ``epoch_millis``, ``seconds`` from now, or a moment as ``iso8601`` (Jira) or ``http_date``.
    ``limit`` is the window's size, which the rate budget keeps a reserve of
    (``server/connectors/budget.py``).
    """

    retry_after: str = "retry-after"
    remaining: str = "x-ratelimit-remaining"
    limit: str = "x-ratelimit-limit"
    reset: str = "x-ratelimit-reset"
    reset_kind: str = "epoch_seconds"


DEFAULT_RATE_LIMIT = RateLimitHeaders()


@dataclass(frozen=True)
class BodyErrors:
    """For providers that answer errors with HTTP 200 (Slack's ``{"ok": false, "error": ...}``):
    the dotted path of the success flag, of the reason, and the reasons that mean the token
    expired (refreshed once, like a 401)."""

    ok_path: str = ""
    message_path: str = ""
    expired_values: tuple[str, ...] = ()
    # GraphQL's way (Linear, monday.com): a non-empty list at this path means the call failed,
    # even with HTTP 200 and partial data; the first item's ``message`` is the reason.
    errors_path: str = ""


@dataclass(frozen=True)
class HttpTarget:
    """How to call a connector's API with a connection's credentials (for the proxy): the
    resolved base URL, and the credential's headers and query values from the current
    credentials (called again after a refresh)."""

    base_url: str
    auth: Auth
    auth_query: Auth | None = None
    rate_limit: RateLimitHeaders = DEFAULT_RATE_LIMIT


def dig(value: Any, path: str) -> Any:
    """The value at a dotted path (``data.items``) of a JSON body; the body itself for ``""``."""
    if not path:
        return value
    for key in path.split("."):
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


def _rate_limit_wait(response: httpx.Response, names: RateLimitHeaders = DEFAULT_RATE_LIMIT) -> float | None:
    """Seconds the provider asks us to wait, when this answer is a rate limit; else None."""
    return rate_limit_wait(response.status_code, response.headers, names)


def rate_limit_wait(status: int, headers: Mapping[str, str], names: RateLimitHeaders) -> float | None:
    """Seconds an answer with ``status`` and ``headers`` asks us to wait, when it is a rate
    limit (a 429, or a 403 with ``Retry-After`` or remaining 0); else None. ``headers`` must
    look names up case-insensitively (``httpx.Headers``)."""
    limited = status == 429 or (
        status == 403 and (headers.get(names.retry_after) or headers.get(names.remaining) == "0")
    )
    if not limited:
        return None
    retry_after = headers.get(names.retry_after)
    if retry_after:
        wait = seconds_from_now(retry_after, "seconds")
        if wait is None:  # RFC 9110 also allows an HTTP date
            wait = seconds_from_now(retry_after, "http_date")
        if wait is not None:
            return wait
    reset = headers.get(names.reset)
    if reset:
        wait = seconds_from_now(reset, names.reset_kind)
        return 1.0 if wait is None else wait
    return 1.0


def seconds_from_now(text: str, kind: str) -> float | None:
    """How long until the moment a rate-limit header gives, read as ``kind``; None when the
    header does not hold that kind of value."""
    now = time.time()
    moment = header_moment(text, kind, now)
    return None if moment is None else max(moment - now, 0.0)


def header_moment(text: str, kind: str, now: float) -> float | None:
    """The Unix time a rate-limit header names, read as ``kind`` (``seconds`` count from
    ``now``); None when the header does not hold that kind of value."""
    try:
        if kind in ("iso8601", "http_date"):
            moment = (
                datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
                if kind == "iso8601"
                else parsedate_to_datetime(text)
            )
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.timestamp()
        value = float(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value != value or value in (float("inf"), float("-inf")):  # NaN or infinite: no moment
        return None
    if kind == "seconds":
        return now + max(value, 0.0)
    if kind == "epoch_millis":
        value /= 1000
    return value


def _body_error(response: httpx.Response, errors: BodyErrors) -> str | None:
    """The reason of a 2xx answer whose body says it failed; None when it succeeded."""
    try:
        body = response.json()
    except ValueError:
        return None
    if errors.errors_path:
        found = dig(body, errors.errors_path)
        if isinstance(found, list) and found:
            first = found[0]
            reason = first.get("message") if isinstance(first, dict) else first
            return str(reason or "unknown_error")[:200]
        if not errors.ok_path:
            return None
    if dig(body, errors.ok_path):
        return None
    reason = dig(body, errors.message_path) if errors.message_path else None
    return str(reason or "unknown_error")[:200]


def same_origin(url: str | httpx.URL, origin: str | httpx.URL) -> bool:
    """Whether ``url`` is on the scheme, host and port of ``origin`` (so a token may go there)."""
    a, b = httpx.URL(url), httpx.URL(origin)
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


async def request(
    context: ConnectorContext,
    method: str,
    url: str | Callable[[Mapping[str, Any]], str],
    *,
    auth: Auth | None = None,
    credentials: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    data: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    ok_statuses: tuple[int, ...] = (),
    auth_query: Auth | None = None,
    rate_limit: RateLimitHeaders = DEFAULT_RATE_LIMIT,
    body_errors: BodyErrors | None = None,
    replay_safe: bool = True,
) -> httpx.Response:
    """Send one request, handling 401/429/5xx as the module docstring says; return a 2xx answer.

    ``replay_safe=False`` is for a call that must not happen twice (an action that sends an
    SMS or creates a record): it is not sent again after a 5xx or after a connection that broke
    once the request may have gone out, since the provider may already have done it. A 401, a
    429 and a connection that could not be opened mean it did not, so those are still retried.

    ``url`` may depend on the credentials (HubSpot puts the token in the path): pass a function.
    ``credentials`` defaults to ``context.credentials``; after a refresh both use the new ones.
    ``auth_query`` adds credentials to the query (an API key in ``?key=``), kept next to any
    query the URL already has. ``rate_limit`` names the provider's rate-limit headers;
    ``body_errors`` reads failures out of 2xx bodies.
    """
    current: Mapping[str, Any] = credentials if credentials is not None else context.credentials
    refreshed = False
    backoff = policy.backoff
    # The connection's rate budget, shared with its other callers (server/connectors/budget.py).
    budget, key = context.budget, context.connection_id
    budgeted = budget is not None and key is not None
    for attempt in range(1, policy.attempts + 1):
        last = attempt == policy.attempts
        if budget is not None and key is not None:
            await budget.before_call(key, context.caller)
        target = url(current) if callable(url) else url
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        if auth is not None:
            sent.update(auth(current))
        query = params
        if auth_query is not None:
            # httpx replaces a URL's query with ``params``: merge all three into the URL.
            merged = httpx.URL(target).copy_merge_params(dict(params or {}))
            target, query = str(merged.copy_merge_params(auth_query(current))), None
        try:
            response = await context.http.request(
                method, target, params=query, json=json, data=data, headers=sent
            )
        except httpx.TransportError as exc:
            if outbound.refused(exc):
                raise ProviderUnreachable(
                    0, "the provider's address is not allowed by the outbound policy"
                ) from None
            if last:
                reason = f"could not reach the provider ({type(exc).__name__})"
                raise ProviderUnreachable(0, reason) from None
            if not replay_safe and not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
                reason = (
                    f"the provider's answer was lost ({type(exc).__name__}); the call may have "
                    "been carried out, so it was not sent again"
                )
                raise ProviderUnreachable(0, reason) from None
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, policy.max_backoff)
            continue
        status = response.status_code
        if budget is not None and key is not None:
            await budget.after_call(key, status, response.headers, rate_limit)
        if status < 400 or status in ok_statuses:
            refusal = _body_error(response, body_errors) if body_errors and status < 300 else None
            if refusal is None or body_errors is None:
                return response
            message = redact(f"the provider refused the call: {refusal}", current)
            if refusal not in body_errors.expired_values:
                raise ProviderError(0, message)
            if context.refresh_credentials is None or refreshed:
                raise ProviderAuthError(0, message)
            refreshed = True
            current = await context.refresh_credentials()
            context.credentials = dict(current)
            continue
        if status == 401:
            if context.refresh_credentials is not None and not refreshed:
                refreshed = True
                current = await context.refresh_credentials()
                context.credentials = dict(current)
                continue
            raise ProviderAuthError(status, redact(provider_message(response), current))
        wait = _rate_limit_wait(response, rate_limit)
        if wait is not None:
            if last or wait > policy.max_wait:
                message = redact(provider_message(response), current)
                raise ProviderRateLimited(status, message, retry_after=wait)
            if not budgeted:
                await asyncio.sleep(wait)
            # With a budget, the next ``before_call`` waits (as long as this caller may) or
            # raises: every caller of the connection honours the wait, not only this one.
            continue
        if status >= 500 and not last and replay_safe:
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, policy.max_backoff)
            continue
        raise ProviderError(status, redact(provider_message(response), current))
    raise ProviderError(0, "the provider kept failing")  # only reached when attempts < 1


async def paged(
    context: ConnectorContext,
    method: str,
    url: str,
    *,
    auth: Auth,
    next_page: Callable[[Any], Mapping[str, Any] | None],
    params: Mapping[str, Any] | None = None,
    json: Mapping[str, Any] | None = None,
) -> AsyncIterator[Any]:
    """Yield the JSON body of each page; ``next_page(body)`` gives what to add to the next
    request (query parameters for GET, body fields for POST), or None after the last page."""
    query, body = dict(params or {}), dict(json) if json is not None else None
    while True:
        response = await request(context, method, url, auth=auth, params=query, json=body)
        page = response.json()
        yield page
        more = next_page(page)
        if not more:
            return
        if body is not None:
            body.update(more)
        else:
            query.update(more)


async def link_pages(
    context: ConnectorContext, url: str, *, auth: Auth, params: Mapping[str, Any] | None = None
) -> AsyncIterator[httpx.Response]:
    """Yield each page of a list that pages with ``Link: <...>; rel="next"`` (RFC 8288).

    The next URL must stay on the origin of the first one, so a token is never sent elsewhere.
    """
    origin = httpx.URL(url)
    query: Mapping[str, Any] | None = params
    while True:
        response = await request(context, "GET", url, auth=auth, params=query)
        yield response
        following = next_link(response, origin)
        if following is None:
            return
        url, query = following, None  # the link carries every parameter


def next_link(response: httpx.Response, origin: str | httpx.URL) -> str | None:
    """The ``Link: <...>; rel="next"`` URL of an answer, or None on the last page.

    Raises ``ProviderError`` when it leaves ``origin``, so a token is never sent elsewhere.
    """
    link = response.links.get("next", {}).get("url")
    if not link:
        return None
    following = str(response.url.join(link))
    if not same_origin(following, origin):
        raise ProviderError(0, "the provider sent a next-page link to another host")
    return following


async def run_check(
    credentials: Mapping[str, Any], call: Callable[[], Awaitable[CheckResult]]
) -> CheckResult:
    """Run a credential check; a refusal or an unreachable provider is a failed result, not an
    exception, with the provider's reason and no secret in it."""
    try:
        return await call()
    except ProviderError as exc:
        # Only an answer that judges the credentials is a refusal; an outage, a timeout or a
        # rate limit says nothing about them (the connection is DEGRADED, not ERROR).
        failed = (
            isinstance(exc, (ProviderUnreachable, ProviderRateLimited))
            or exc.status >= 500
            or exc.status == 408
        )
        message = redact(str(exc), credentials)
        if failed and not isinstance(exc, ProviderUnreachable):
            message = f"the provider failed to answer ({message})"
        return CheckResult(ok=False, message=message, reachable=not failed)
