"""A provider's documented endpoints, declared as data, served as an emulator.

Each ``Endpoint`` is what a provider's reference page says about one call: method, path pattern
(Starlette's ``{name}`` syntax), the fields it requires, and the documented answer (JSON, or a
function of the request that made it, e.g. the created object with an id). ``DocumentedAPI``
serves a list of them behind the provider's credential check (``Credential``s: where the
credential goes and which values work) and:

- records every request as a ``Call`` (method, path, query, headers without the credential,
  JSON or form body, and where the credential came from) so a test can assert what was sent;
- answers the provider's own 401 body to a missing or wrong credential;
- answers the provider's own validation error (400/422, ``invalid``) when a required field is
  missing;
- answers 429 with ``Retry-After`` when told to (``controls.rate_limit_once()``), and any error a
  test queues with ``fail_next``.

A provider that already has a stateful emulator (tests/emulators/airtable.py, ...) adds
``DocumentedAPI.routes()`` to its own app; the endpoints' answer functions then read and change
that emulator's state, so a record created by one call is listed by the next.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.emulators.common import Controls


@dataclass(frozen=True)
class Credential:
    """Where a provider expects its credential: a header (``authorization``, ``x-api-key``) or
    a query parameter (``key``), and the exact values it accepts there."""

    where: str  # "header" | "query"
    name: str
    values: frozenset[str]

    def found(self, request: Request) -> str | None:
        source = request.headers if self.where == "header" else request.query_params
        return source.get(self.name)

    def accepts(self, request: Request) -> bool:
        return self.found(request) in self.values


def bearer(*tokens: str) -> Credential:
    return Credential("header", "authorization", frozenset(f"Bearer {t}" for t in tokens))


def header(name: str, *values: str) -> Credential:
    return Credential("header", name.lower(), frozenset(values))


def query(name: str, *values: str) -> Credential:
    return Credential("query", name, frozenset(values))


def basic(username: str, password: str) -> Credential:
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return Credential("header", "authorization", frozenset({f"Basic {encoded}"}))


@dataclass
class Call:
    """One request as the emulator received it (the credential left out, its place kept)."""

    method: str
    path: str
    query: dict[str, str | list[str]]
    headers: dict[str, str]  # lower-case names, without the credential's header
    json: Any = None
    form: dict[str, str] | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    credential: str | None = None  # "header:authorization", "query:key", ... (None: none sent)


@dataclass(frozen=True)
class Reply:
    """An answer other than the endpoint's documented success (a 404 from a stateful lookup)."""

    status: int
    body: Any  # JSON, or a str sent as text/plain
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    # The documented success body, or a function of the call giving it (or a ``Reply``).
    response: Any = None
    status: int = 200
    # Dotted paths that must be present (and not empty) in the JSON or form body.
    required: tuple[str, ...] = ()
    required_query: tuple[str, ...] = ()
    # Overrides the API's credentials for this endpoint (e.g. another base's token).
    credentials: tuple[Credential, ...] | None = None


def _default_invalid(missing: list[str]) -> tuple[int, Any]:
    return 400, {"message": f"missing required field(s): {', '.join(missing)}"}


def _present(body: Any, path: str) -> bool:
    value = body
    for key in path.split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return False
    return value not in (None, "", [], {})


class DocumentedAPI:
    """Serves ``endpoints`` (see the module docstring); ``app`` is the ASGI app to serve."""

    def __init__(
        self,
        endpoints: Iterable[Endpoint],
        *,
        credentials: Iterable[Credential],
        unauthorized: tuple[int, Any] = (401, {"message": "Unauthorized"}),
        invalid: Callable[[list[str]], tuple[int, Any]] = _default_invalid,
        rate_limited: Any = None,
        prefix: str = "",
        controls: Controls | None = None,
    ) -> None:
        self.endpoints = list(endpoints)
        self.credentials = tuple(credentials)
        self.unauthorized = unauthorized
        self.invalid = invalid
        self.rate_limited = rate_limited if rate_limited is not None else {"message": "Too Many Requests"}
        self.prefix = prefix.rstrip("/")
        # A stateful emulator passes its own, so one switch rate-limits every route it serves.
        self.controls = controls or Controls()
        self.calls: list[Call] = []
        self._failures: list[Reply] = []
        self.app = Starlette(routes=self.routes())

    def routes(self) -> list[BaseRoute]:
        return [Route(self.prefix + e.path, self._handler(e), methods=[e.method]) for e in self.endpoints]

    def fail_next(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """The next request (after the credential check) answers this error instead."""
        self._failures.append(Reply(status, body, headers or {}))

    async def record(self, request: Request) -> Call:
        """Record a request a stateful emulator's own route answered (an older list route), so
        tests read every call from ``calls``."""
        call = await self._capture(request, self.credentials)
        self.calls.append(call)
        return call

    def last(self) -> Call:
        assert self.calls, "the emulator received no request"
        return self.calls[-1]

    def _handler(self, endpoint: Endpoint) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            self.controls.record(request)
            accepted = endpoint.credentials if endpoint.credentials is not None else self.credentials
            call = await self._capture(request, accepted)
            self.calls.append(call)
            if not any(c.accepts(request) for c in accepted):
                status, body = self.unauthorized
                return JSONResponse(body, status_code=status)
            limited = self.controls.chaos(self.rate_limited)
            if limited is not None:
                return limited
            if self._failures:
                return _respond(self._failures.pop(0))
            body = call.json if call.json is not None else (call.form or {})
            missing = [p for p in endpoint.required if not _present(body, p)]
            missing += [q for q in endpoint.required_query if not call.query.get(q)]
            if missing:
                return _respond(Reply(*self.invalid(missing)))
            answer = endpoint.response(call) if callable(endpoint.response) else endpoint.response
            if isinstance(answer, Reply):
                return _respond(answer)
            if isinstance(answer, Response):  # a documented answer with headers (SendGrid's 202)
                return answer
            if answer is None:  # a documented empty answer (202 Accepted, 204 No Content)
                return Response(status_code=endpoint.status)
            return JSONResponse(answer, status_code=endpoint.status)

        return handle

    async def _capture(self, request: Request, accepted: tuple[Credential, ...]) -> Call:
        sent = next((c for c in accepted if c.found(request) is not None), None)
        hidden = {c.name for c in accepted if c.where == "header"}
        headers = {k: v for k, v in request.headers.items() if k not in hidden}
        params: dict[str, str | list[str]] = {}
        for name in request.query_params:
            if any(c.where == "query" and c.name == name for c in accepted):
                continue
            values = request.query_params.getlist(name)
            params[name] = values[0] if len(values) == 1 else values
        raw = await request.body()
        content_type = headers.get("content-type", "")
        json_body: Any = None
        form_body: dict[str, str] | None = None
        if raw and "json" in content_type:
            json_body = await request.json()
        elif raw and "x-www-form-urlencoded" in content_type:
            # Parsed here rather than with request.form(), which needs python-multipart.
            form_body = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        return Call(
            method=request.method,
            path=request.url.path,
            query=params,
            headers=headers,
            json=json_body,
            form=form_body,
            path_params=dict(request.path_params),
            credential=f"{sent.where}:{sent.name}" if sent else None,
        )


def _respond(reply: Reply) -> Response:
    """A JSON answer; a ``str`` body is sent as text (Dropbox answers bad input in plain text)."""
    if reply.body is None:
        return Response(status_code=reply.status, headers=reply.headers)
    if isinstance(reply.body, str):
        return Response(reply.body, status_code=reply.status, headers=reply.headers, media_type="text/plain")
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)
