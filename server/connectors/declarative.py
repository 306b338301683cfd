"""A connector described as data (``connector.schema.json``), run by one engine.

A ``DeclarativeConnector`` has what a Python connector module has (``SPEC``, ``check``,
``read``; see ``base.py``), so the registry, checks and syncs treat both alike. It is built by
``server.connectors.definition.parse_definition``, which has already validated the definition.

Every call goes through ``server.connectors.http.request`` (refresh on 401, rate-limit waits,
retries). Values from end users reach URLs only through ``templates.render``: a per-connection
parameter must match its pattern (a host-name label by default) and can never change the host a
URL points at; a path value is one percent-encoded segment; a header or query value cannot hold a
line break. Next-page links must stay on the base URL's origin. A provider that repeats a page
token (or a page) ends the read with an error instead of a loop.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import httpx

from server.connectors import templates
from server.connectors.base import (
    ActionInputError,
    CheckResult,
    ConnectorContext,
    ConnectorSpec,
    RecordBatch,
    StateCheckpoint,
)
from server.connectors.http import (
    BodyErrors,
    HttpTarget,
    ProviderError,
    RateLimitHeaders,
    dig,
    next_link,
    oauth_or_token,
    request,
    run_check,
    same_origin,
)
from server.connectors.templates import TemplateError, Where

# A parameter without a pattern must be one host-name label, so it can never move a URL's host.
DEFAULT_PARAMETER_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
MAX_PARAMETER = 255  # characters of a parameter value (the connect form's limit too)
MAX_URL = 2000
# An action body that is exactly this string sends the whole input.
WHOLE_INPUT = "{input}"
# A template that is exactly one input value: it keeps its JSON type, or is left out when absent.
_ONE_INPUT = re.compile(r"\{(input(?:\.[a-z][a-z0-9_]*)+|idempotency_key)\}")
# An action template may pass the call's idempotency key on to the provider (Stripe's
# Idempotency-Key header): a value derived from the host's key, absent when it sent none.
IDEMPOTENCY_KEY = "idempotency_key"
MAX_TEXT_OUTPUT = 65_536  # characters of a non-JSON answer an action returns
# A token-response URL (Salesforce's instance_url): https, a host name, an optional port and path.
_HTTPS_URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?")


def credential_names(auth: Mapping[str, Any]) -> set[str]:
    """The credential fields a definition's templates may name, by auth type."""
    kind = auth["type"]
    if kind == "api_key":
        return {"api_key"}
    if kind == "basic":
        return {"username", "password"}
    if kind == "custom":
        return set(auth["fields"])
    if kind == "oauth2":
        return {"access_token", *(("api_key",) if "field" in auth else ())}
    return set()


def credential_values(auth: Mapping[str, Any], credentials: Mapping[str, Any]) -> dict[str, Any]:
    """The credentials of a connection under the names templates use (``{api_key}`` is a
    SECRET_TEXT connection's ``secret_text``)."""
    kind = auth["type"]
    if kind == "api_key":
        return {"api_key": credentials.get("secret_text")}
    if kind == "basic":
        return {"username": credentials.get("username"), "password": credentials.get("password")}
    if kind == "custom":
        return {name: credentials.get(name) for name in auth["fields"]}
    if kind == "oauth2":
        token = oauth_or_token(credentials) or str(credentials.get(auth.get("field_name") or "") or "")
        return {"access_token": token, "api_key": credentials.get("secret_text")}
    return {}


class DeclarativeConnector:
    """The connector a definition describes: ``SPEC``, ``check`` and ``read``."""

    def __init__(self, definition: Mapping[str, Any], spec: ConnectorSpec) -> None:
        self.definition: dict[str, Any] = copy.deepcopy(dict(definition))
        self.SPEC = spec
        self._auth: dict[str, Any] = self.definition["auth"]
        self._api: dict[str, Any] = self.definition["api"]
        rate = self._api.get("rate_limit") or {}
        defaults = RateLimitHeaders()
        self._rate_limit = RateLimitHeaders(
            retry_after=rate.get("retry_after_header", defaults.retry_after),
            remaining=rate.get("remaining_header", defaults.remaining),
            limit=rate.get("limit_header", defaults.limit),
            reset=rate.get("reset_header", defaults.reset),
            reset_kind=rate.get("reset", defaults.reset_kind),
        )
        error = self._api.get("error")
        self._body_errors = (
            BodyErrors(
                ok_path=error.get("ok_path", ""),
                message_path=error.get("message_path", ""),
                expired_values=tuple(error.get("expired_values") or ()),
                errors_path=error.get("errors_path", ""),
            )
            if error
            else None
        )

    def __repr__(self) -> str:
        return f"<DeclarativeConnector {self.SPEC.name}>"

    # -- values and URLs -----------------------------------------------------------------

    def _parameters(self, context: ConnectorContext) -> dict[str, Any]:
        """The connection's parameters (defaults filled), each checked against its pattern."""
        values: dict[str, Any] = {}
        for name, parameter in (self.definition.get("parameters") or {}).items():
            value = context.parameters.get(name, parameter.get("default"))
            if value is None:
                continue
            pattern = parameter.get("pattern") or DEFAULT_PARAMETER_PATTERN
            # The length bound comes first: it also bounds the work of a custom pattern.
            if not isinstance(value, str) or len(value) > MAX_PARAMETER or not re.fullmatch(pattern, value):
                raise ProviderError(0, f"the connection's parameter {name} is not valid")
            values[name] = value
        for name in self._auth.get("token_response_parameters") or ():
            value = context.parameters.get(name)
            if value is None:
                continue
            # From the provider's token response: an https URL (no user info) or a host label.
            if not isinstance(value, str) or not (
                _HTTPS_URL.fullmatch(value) or re.fullmatch(DEFAULT_PARAMETER_PATTERN, value)
            ):
                raise ProviderError(0, f"the connection's parameter {name} is not valid")
            values[name] = value
        return values

    def _credentials(self, credentials: Mapping[str, Any]) -> dict[str, Any]:
        values = credential_values(self._auth, credentials)
        # A credential field that builds the base URL (Freshsales' base_url) must match its
        # pattern here too, not only when the connection was saved.
        in_url = set(templates.names(self._api["base_url"]))
        for name, spec in (self._auth.get("fields") or {}).items():
            value, pattern = values.get(name), spec.get("pattern")
            if name not in in_url or not pattern or not isinstance(value, str):
                continue
            if len(value) > MAX_URL or not re.search(pattern, value):
                raise ProviderError(0, f"the credential field {name} is not valid")
        return values

    def _values(self, context: ConnectorContext, credentials: Mapping[str, Any]) -> dict[str, Any]:
        return {**self._credentials(credentials), **self._parameters(context)}

    def _root(self, context: ConnectorContext, values: Mapping[str, Any]) -> str:
        template = context.base_url or self.SPEC.base_url or ""
        return _render(template, values, Where.URL).rstrip("/")

    def _url(self, root: str, path: str, values: Mapping[str, Any]) -> str:
        url = root + _render(path, values, Where.PATH)
        if not same_origin(url, root):  # definitions' paths start with /; this is the guarantee
            raise ProviderError(0, "a path would leave the provider's host")
        return url

    # -- auth ----------------------------------------------------------------------------

    def _headers(self, values: Mapping[str, Any]) -> dict[str, str]:
        return {
            name: _render(value, values, Where.TEXT)
            for name, value in (self._api.get("headers") or {}).items()
        }

    def _auth_headers(self, context: ConnectorContext) -> Any:
        """``http.request``'s ``auth``: headers from the current credentials (after a refresh
        too)."""
        auth = self._auth
        parameters = self._parameters(context)

        def headers(credentials: Mapping[str, Any]) -> dict[str, str]:
            values = {**credential_values(auth, credentials), **parameters}
            kind = auth["type"]
            if kind == "oauth2":
                placement = auth.get("token_placement") or {}
                if placement.get("in", "header") != "header":
                    return {}
                prefix = placement.get("prefix", "Bearer ")
                token = _render("{access_token}", values, Where.TEXT)
                return {placement.get("name", "Authorization"): f"{prefix}{token}"}
            if kind == "api_key" and auth.get("in", "header") == "header":
                value = _render(auth.get("value", "Bearer {api_key}"), values, Where.TEXT)
                return {auth.get("name", "Authorization"): value}
            if kind == "basic":
                return {"Authorization": _basic(values.get("username"), values.get("password"))}
            if kind == "custom":
                sent = {k: _render(v, values, Where.TEXT) for k, v in (auth.get("headers") or {}).items()}
                basic = auth.get("basic")
                if basic:
                    user = _render(basic["username"], values, Where.TEXT)
                    password = _render(basic["password"], values, Where.TEXT)
                    sent["Authorization"] = _basic(user, password)
                return sent
            return {}

        return lambda credentials: _guarded(lambda: headers(credentials))

    def _auth_query(self, context: ConnectorContext) -> Any:
        auth = self._auth
        parameters = self._parameters(context)

        def query(credentials: Mapping[str, Any]) -> dict[str, str]:
            values = {**credential_values(auth, credentials), **parameters}
            kind = auth["type"]
            if kind == "oauth2":
                placement = auth.get("token_placement") or {}
                if placement.get("in") == "query":
                    return {
                        placement.get("name", "access_token"): _render("{access_token}", values, Where.TEXT)
                    }
            if kind == "api_key" and auth.get("in") == "query":
                # In a query the default value is the bare key (a header's is "Bearer {api_key}").
                return {
                    auth.get("name", "api_key"): _render(auth.get("value", "{api_key}"), values, Where.TEXT)
                }
            if kind == "custom":
                return {
                    k: _render(_string(v), values, Where.TEXT) for k, v in (auth.get("query") or {}).items()
                }
            return {}

        return lambda credentials: _guarded(lambda: query(credentials))

    async def _call(
        self,
        context: ConnectorContext,
        credentials: Mapping[str, Any],
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return await request(
            context,
            method,
            url,
            auth=self._auth_headers(context),
            auth_query=self._auth_query(context),
            credentials=credentials,
            params=params,
            json=json,
            headers=headers,
            rate_limit=self._rate_limit,
            body_errors=self._body_errors,
        )

    # -- check ---------------------------------------------------------------------------

    async def check(self, context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
        """The definition's ``check`` call; the account label from its dotted path."""
        check = self.definition["check"]

        async def call() -> CheckResult:
            values = _guarded(lambda: self._values(context, credentials))
            root = _guarded(lambda: self._root(context, values))
            url = _guarded(lambda: self._url(root, check["path"], values))
            params = _guarded(lambda: _params(check.get("params"), values))
            headers = _guarded(lambda: self._headers(values))
            method = check.get("method", "GET")
            body = copy.deepcopy(check.get("body")) if method == "POST" else None
            response = await self._call(
                context, credentials, method, url, params=params or None, json=body, headers=headers
            )
            answer = _json(response)
            for expected in check.get("expect") or ():
                found = dig(answer, expected["path"])
                if not isinstance(found, (list, str)) or expected["contains"] not in found:
                    return CheckResult(ok=False, message=expected["message"])
            label = dig(answer, check["account_label"]) if check.get("account_label") else None
            return CheckResult(
                ok=True,
                message="the credentials are valid",
                account_label=str(label)[:200] if label not in (None, "") else None,
            )

        return await run_check(credentials, call)

    # -- actions -------------------------------------------------------------------------

    async def run_action(self, context: ConnectorContext, action: str, input: Mapping[str, Any]) -> Any:
        """Make the call the definition's action describes with ``input`` (already checked
        against its ``input_schema``) and return the output: the answer's JSON at
        ``result_path``, ``{}`` for an empty answer, ``{"text": ...}`` for one that is not JSON.

        A template naming an input value the input lacks is an ``ActionInputError`` on that
        value (a definition should mark such values ``required``).
        """
        definition = (self.definition.get("actions") or {}).get(action)
        if definition is None:
            raise ValueError(f"unknown action {action!r}")
        request_spec = definition["request"]
        credentials = context.credentials
        values = _guarded(lambda: self._values(context, credentials))
        values.update(_input_values(input))
        values[IDEMPOTENCY_KEY] = context.idempotency_key
        root = _guarded(lambda: self._root(context, values))
        url = _for_input(lambda: self._url(root, request_spec["path"], values))
        params = _for_input(lambda: _query(request_spec.get("query"), values))
        headers = _guarded(lambda: self._headers(values))
        headers.update(
            _for_input(
                lambda: {
                    name: _render(value, values, Where.TEXT)
                    for name, value in (request_spec.get("headers") or {}).items()
                    if not _absent_input(value, values)
                }
            )
        )
        method = request_spec.get("method", "GET")
        json_body: Any = None
        form_body: dict[str, Any] | None = None
        if "body" in request_spec:
            body = _for_input(lambda: _fill(request_spec["body"], values, input))
            if request_spec.get("body_format") == "form":
                form_body = _form(body if isinstance(body, dict) else {})
            else:
                json_body = {} if body is _ABSENT else body
        response = await request(
            context,
            method,
            url,
            auth=self._auth_headers(context),
            auth_query=self._auth_query(context),
            credentials=credentials,
            params=params or None,
            json=json_body,
            data=form_body,
            headers=headers,
            rate_limit=self._rate_limit,
            body_errors=self._body_errors,
            # A write is sent once: a 5xx may come after the provider did it. PUT and DELETE
            # are idempotent in HTTP's own terms.
            replay_safe=definition.get("read_only", False) or method in ("GET", "PUT", "DELETE"),
        )
        if not response.content.strip():
            return {}
        try:
            answer = response.json()
        except ValueError:
            return {"text": response.text[:MAX_TEXT_OUTPUT]}
        return dig(answer, definition.get("result_path", ""))

    # -- read ----------------------------------------------------------------------------

    async def read(
        self,
        context: ConnectorContext,
        stream: str,
        settings: dict[str, Any],
        state: dict[str, Any] | None,
    ) -> AsyncIterator[RecordBatch | StateCheckpoint]:
        """Every record of ``stream`` (after ``state``'s cursor, when incremental), page by page.

        A stream sorted by its cursor checkpoints after every page; any other checkpoints once,
        with the largest cursor value seen, after the last page.
        """
        definition = next((s for s in self.definition.get("streams") or () if s["name"] == stream), None)
        if definition is None:
            raise ValueError(f"unknown stream {stream!r}")
        credentials = context.credentials
        values = _guarded(lambda: self._values(context, credentials))
        values.update({f"settings.{k}": v for k, v in settings.items() if not isinstance(v, (dict, list))})
        root = _guarded(lambda: self._root(context, values))
        url = _guarded(lambda: self._url(root, definition["path"], values))
        params = _guarded(lambda: _params(definition.get("params"), values))
        headers = _guarded(lambda: self._headers(values))
        method = definition.get("method", "GET")
        body = copy.deepcopy(definition.get("body") or {}) if method == "POST" else None

        cursor = definition.get("cursor")
        saved = (state or {}).get("cursor") if cursor else None
        if cursor and saved is not None:
            value = _cursor_value(saved, cursor.get("format", "as_is"))
            if "value" in cursor:  # an expression around the value (a filter language)
                value = cursor["value"].replace("{cursor}", str(value))
            _place(params, body, cursor["param"], value)
        newest = saved
        sorted_stream = bool(cursor and cursor.get("sorted"))
        checkpointed = False

        pages = _Pages(self, context, definition, root, url, method, params, body, headers)
        async for records in pages:
            if not records:
                continue
            if cursor:
                for record in records:
                    newest = _later(newest, dig(record, cursor["field"]))
            yield RecordBatch(stream=stream, records=records)
            if sorted_stream and newest is not None:
                yield StateCheckpoint(stream=stream, state={"cursor": newest})
                checkpointed = True
        # Unsorted lists can only move the cursor once all of them was read; a read that found
        # nothing new keeps the cursor it started from.
        if cursor and newest is not None and not checkpointed:
            yield StateCheckpoint(stream=stream, state={"cursor": newest})

    # -- the proxy -----------------------------------------------------------------------

    def http_target(self, context: ConnectorContext) -> HttpTarget:
        """The API the proxy may call with this connection: the base URL as ``check`` and
        ``read`` build it (parameters and credential fields filled, each checked against its
        pattern), and the credential exactly as the definition places it."""
        values = _guarded(lambda: self._values(context, context.credentials))
        return HttpTarget(
            base_url=_guarded(lambda: self._root(context, values)),
            auth=self._auth_headers(context),
            auth_query=self._auth_query(context),
            rate_limit=self._rate_limit,
        )


class _Pages:
    """The pages of one stream's list, as lists of records, following its pagination."""

    def __init__(
        self,
        connector: DeclarativeConnector,
        context: ConnectorContext,
        stream: Mapping[str, Any],
        root: str,
        url: str,
        method: str,
        params: dict[str, Any],
        body: dict[str, Any] | None,
        headers: dict[str, str],
    ) -> None:
        self.connector, self.context, self.stream = connector, context, stream
        self.root, self.url, self.method = root, url, method
        self.params, self.body, self.headers = params, body, headers
        self.pagination: dict[str, Any] = stream.get("pagination") or {"type": "none"}

    async def _fetch(self, url: str, params: Mapping[str, Any] | None) -> tuple[httpx.Response, list[Any]]:
        response = await self.connector._call(
            self.context,
            self.context.credentials,
            self.method,
            url,
            params=params or None,
            json=copy.deepcopy(self.body) if self.body is not None else None,
            headers=self.headers,
        )
        page = _json(response)
        selector = self.stream.get("record_selector", "")
        found = dig(page, selector)
        if found is None:
            records: list[Any] = []
        elif isinstance(found, list):
            records = found
        else:
            raise ProviderError(0, f"the provider's answer has no list at {selector or 'its top level'}")
        if any(not isinstance(record, dict) for record in records):
            raise ProviderError(0, "the provider's list holds values that are not objects")
        self.page = page
        return response, records

    def __aiter__(self) -> AsyncIterator[list[dict[str, Any]]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[list[dict[str, Any]]]:
        kind = self.pagination["type"]
        size_param, page_size = self.pagination.get("size_param"), self.pagination.get("page_size")
        if size_param and page_size:
            _place(self.params, self.body, size_param, page_size)
        if kind == "none":
            yield (await self._fetch(self.url, self.params))[1]
        elif kind == "cursor":
            async for records in self._by_cursor():
                yield records
        elif kind in ("next_link", "link_header"):
            async for records in self._by_link(kind):
                yield records
        else:
            async for records in self._by_number(kind, page_size):
                yield records

    async def _by_cursor(self) -> AsyncIterator[list[dict[str, Any]]]:
        pagination = self.pagination
        seen: set[str] = set()
        while True:
            _, records = await self._fetch(self.url, self.params)
            yield records
            has_more = pagination.get("has_more_path")
            if has_more and not dig(self.page, has_more):
                return
            if "cursor_path" in pagination:
                token = dig(self.page, pagination["cursor_path"])
            else:
                token = dig(records[-1], pagination["last_record_field"]) if records else None
            if token in (None, "", False):
                return
            if not isinstance(token, (str, int, float)):
                raise ProviderError(0, "the provider's page token is not a string or a number")
            key = str(token)
            if key in seen:
                raise ProviderError(0, "the provider repeated a page token")
            seen.add(key)
            _place(self.params, self.body, pagination["param"], token)

    async def _by_link(self, kind: str) -> AsyncIterator[list[dict[str, Any]]]:
        url: str = self.url
        params: dict[str, Any] | None = self.params
        seen = {url}
        while True:
            response, records = await self._fetch(url, params)
            yield records
            if kind == "link_header":
                following = next_link(response, self.root)
            else:
                link = dig(self.page, self.pagination["next_path"])
                if link in (None, ""):
                    return
                if not isinstance(link, str):
                    raise ProviderError(0, "the provider's next-page link is not a string")
                following = str(response.url.join(link))
                if not same_origin(following, self.root):
                    raise ProviderError(0, "the provider sent a next-page link to another host")
            if following is None:
                return
            if following in seen:
                raise ProviderError(0, "the provider repeated a page token (a next-page link)")
            seen.add(following)
            url, params = following, None  # the link carries every parameter

    async def _by_number(self, kind: str, page_size: int | None) -> AsyncIterator[list[dict[str, Any]]]:
        param = self.pagination["param"]
        position = 0 if kind == "offset" else self.pagination.get("start", 1)
        previous: list[Any] | None = None
        while True:
            _place(self.params, self.body, param, position)
            _, records = await self._fetch(self.url, self.params)
            if not records:
                return
            keys = [tuple(_key(record.get(k)) for k in self.stream["primary_key"]) for record in records]
            if keys == previous:
                # A provider that ignores the page parameter would be read forever.
                raise ProviderError(0, "the provider repeated a page token (the same page again)")
            previous = keys
            yield records
            if page_size and len(records) < page_size:
                return
            position += (page_size or len(records)) if kind == "offset" else 1


def _key(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)


def _guarded(make: Any) -> Any:
    """``make()``, with a template refusal turned into a provider error naming the value."""
    try:
        return make()
    except TemplateError as exc:
        raise ProviderError(0, f"the connector could not build a request: {exc}") from None


def _render(template: str, values: Mapping[str, Any], where: Where) -> str:
    return templates.render(template, values, where)


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _params(params: Mapping[str, Any] | None, values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: _render(value, values, Where.TEXT) if isinstance(value, str) else _string(value)
        for name, value in (params or {}).items()
    }


class _Absent:
    """An optional input value the input does not have: its key is left out."""


_ABSENT = _Absent()


def _input_values(value: Any, prefix: str = "input") -> dict[str, Any]:
    """``{"input.channel": ..., "input.meta.owner": ...}``: every value of an action's input
    under the name templates use, nested objects included."""
    found: dict[str, Any] = {}
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{prefix}.{key}"
            found[name] = item
            found.update(_input_values(item, name))
    return found


def _for_input(make: Any) -> Any:
    """``make()``, with a template refusal about an input value turned into an
    ``ActionInputError`` naming it (one about anything else is the connector's problem)."""
    try:
        return make()
    except TemplateError as exc:
        if exc.name.startswith("input."):
            problem = str(exc).removeprefix(f"{{{exc.name}}} ")
            if problem == "has no value":
                problem = "is required by this action"
            raise ActionInputError(exc.name.removeprefix("input."), problem) from None
        raise ProviderError(0, f"the connector could not build a request: {exc}") from None


def _fill(template: Any, values: Mapping[str, Any], input: Mapping[str, Any]) -> Any:
    """An action's JSON body template filled from the input (see ACTION templates in
    connector-format.md): exact ``"{input.x}"`` keeps x's type, absent values drop their key."""
    if isinstance(template, str):
        if template == WHOLE_INPUT:
            return dict(input)
        exact = _ONE_INPUT.fullmatch(template)
        if exact:
            value = values.get(exact.group(1))
            return _ABSENT if value is None else value
        return _render(template, values, Where.BODY)
    if isinstance(template, dict):
        filled = {key: _fill(item, values, input) for key, item in template.items()}
        return {key: item for key, item in filled.items() if item is not _ABSENT}
    if isinstance(template, list):
        items = [_fill(item, values, input) for item in template]
        return [item for item in items if item is not _ABSENT]
    return copy.deepcopy(template)


def _absent_input(template: str, values: Mapping[str, Any]) -> bool:
    """Whether ``template`` is exactly one input value that the input does not have (such a
    query parameter or header is left out)."""
    exact = _ONE_INPUT.fullmatch(template)
    return exact is not None and values.get(exact.group(1)) is None


def _query(query: Mapping[str, Any] | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """An action's query parameters; one that is exactly an absent input value is left out."""
    params: dict[str, Any] = {}
    for name, template in (query or {}).items():
        if not isinstance(template, str):
            params[name] = _string(template)
            continue
        exact = _ONE_INPUT.fullmatch(template)
        if exact is None:
            params[name] = _render(template, values, Where.TEXT)
            continue
        value = values.get(exact.group(1))
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        params[name] = [_render(template, {exact.group(1): item}, Where.TEXT) for item in items]
    return params


def _form(body: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A filled body as form fields: ``metadata[plan]=pro`` for an object, the name once per
    item for a list (Stripe's and Twilio's encoding)."""
    fields: dict[str, Any] = {}
    for key, value in body.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            fields.update(_form(value, name))
        elif isinstance(value, list):
            fields[name] = [_string(item) for item in value if not isinstance(item, (dict, list))]
        elif value is not None:
            fields[name] = _string(value)
    return fields


def _basic(username: Any, password: Any) -> str:
    raw = f"{username or ''}:{password or ''}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ProviderError(response.status_code, "the provider's answer is not JSON") from None


def _place(params: dict[str, Any], body: dict[str, Any] | None, name: str, value: Any) -> None:
    """Set a paging or cursor value: a query parameter, or in a POST body, where dots name
    nested fields (GraphQL's ``variables.after``)."""
    if body is None:
        params[name] = _string(value)
        return
    target = body
    *parents, last = name.split(".")
    for part in parents:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[last] = value


def _order(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, str(value))


def _later(current: Any, candidate: Any) -> Any:
    if candidate is None or isinstance(candidate, (dict, list)):
        return current
    if current is None or _order(candidate) > _order(current):
        return candidate
    return current


def _cursor_value(value: Any, kind: str) -> Any:
    """The saved cursor as the provider wants it sent."""
    if kind == "as_is":
        return value
    moment = _moment(value)
    if moment is None:
        return value
    if kind == "epoch_seconds":
        return int(moment.timestamp())
    if kind == "epoch_millis":
        return int(moment.timestamp() * 1000)
    if kind == "date":
        return moment.date().isoformat()
    return moment.isoformat().replace("+00:00", "Z")


def _moment(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 10**11 else value  # milliseconds since 1973
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
            except ValueError:
                return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
