"""``Weir`` and ``AsyncWeir``: the generated GraphQL clients, authenticated, raising
``WeirError``, plus the HTTP proxy (which is not GraphQL)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import httpx

from ._errors import WeirError
from ._generated.async_base_client import HttpClient as AsyncHttpClient
from ._generated.async_client import AsyncGraphQLClient
from ._generated.base_client import HttpClient, Response
from ._generated.client import GraphQLClient

DEFAULT_TIMEOUT = 30.0


def _auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def _check(response: Response) -> dict[str, Any]:
    """The response's ``data``, or ``WeirError`` for its first error or a failed status."""
    assert isinstance(response, httpx.Response)
    if not 200 <= response.status_code <= 299:
        raise WeirError.from_response(response)
    try:
        body = response.json()
    except ValueError:
        raise WeirError.from_response(response) from None
    if not isinstance(body, dict):
        raise WeirError.from_response(response)
    if body.get("errors"):
        raise WeirError.from_response(response)
    if not isinstance(body.get("data"), dict):
        raise WeirError.from_response(response)
    data: dict[str, Any] = body["data"]
    return data


def _proxy_headers(
    headers: Mapping[str, str] | None,
    *,
    connection_id: str | None,
    integration: str | None,
    workspace_id: str | None,
    end_user_id: str | None,
    end_user_external_id: str | None,
    connection_external_id: str | None,
) -> dict[str, str]:
    named = {
        "X-Weir-Connection-Id": connection_id,
        "X-Weir-Integration": integration,
        "X-Weir-Workspace-Id": workspace_id,
        "X-Weir-End-User-Id": end_user_id,
        "X-Weir-End-User-External-Id": end_user_external_id,
        "X-Weir-Connection-External-Id": connection_external_id,
    }
    return {**(headers or {}), **{name: value for name, value in named.items() if value is not None}}


def _proxied(response: httpx.Response) -> httpx.Response:
    """The provider's answer as it came (any status), or ``WeirError`` for Weir's own refusal."""
    if "x-weir-error" in response.headers:
        response.read()
        raise WeirError.from_response(response)
    return response


class Weir(GraphQLClient):
    """The synchronous client: ``Weir("https://weir.example.com", api_key)``.

    Every GraphQL method (``create_connect_session``, ``list_connections``, ``get_connection``,
    ``delete_connection``, ``resolve_connection``, ``execute_action``, ``create_elt_sync``,
    ``list_elt_syncs``, ``trigger_sync_run``, ``list_sync_runs``, ...) returns typed models and
    raises ``WeirError``; ``proxy`` calls an integration's API through ``/proxy``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = _auth(api_key)
        self._http = http_client or httpx.Client(timeout=timeout)
        # The generated HttpClient protocol spells httpx.Client's post more narrowly than httpx.
        super().__init__(url=f"{self.base_url}/graphql", http_client=cast(HttpClient, self._http))

    def execute(
        self,
        query: str,
        operation_name: str | None = None,
        variables: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Response:
        kwargs["headers"] = {**self._auth, **kwargs.get("headers", {})}
        return super().execute(query, operation_name, variables, **kwargs)

    def get_data(self, response: Response) -> dict[str, Any]:
        return _check(response)

    def close(self) -> None:
        self._http.close()

    def proxy(
        self,
        method: str,
        path: str,
        *,
        connection_id: str | None = None,
        integration: str | None = None,
        workspace_id: str | None = None,
        end_user_id: str | None = None,
        end_user_external_id: str | None = None,
        connection_external_id: str | None = None,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send ``method path`` to the integration's API with the connection's credential.

        Name the connection as ``/proxy`` does (docs/proxy.md): ``connection_id`` alone, or
        ``integration`` with the workspace and end user. The provider's answer comes back as it
        is, whatever its status; Weir's own refusals raise ``WeirError``.
        """
        response = self._http.request(
            method,
            f"{self.base_url}/proxy/{path.lstrip('/')}",
            params=params,
            headers={
                **_proxy_headers(
                    headers,
                    connection_id=connection_id,
                    integration=integration,
                    workspace_id=workspace_id,
                    end_user_id=end_user_id,
                    end_user_external_id=end_user_external_id,
                    connection_external_id=connection_external_id,
                ),
                **self._auth,
            },
            content=content,
            json=json,
            timeout=timeout if timeout is not None else self._http.timeout,
        )
        return _proxied(response)


class AsyncWeir(AsyncGraphQLClient):
    """The asynchronous client: the same methods as ``Weir``, awaited;
    ``async with AsyncWeir(url, key) as weir: ...``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = _auth(api_key)
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        super().__init__(url=f"{self.base_url}/graphql", http_client=cast(AsyncHttpClient, self._http))

    async def execute(
        self,
        query: str,
        operation_name: str | None = None,
        variables: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Response:
        kwargs["headers"] = {**self._auth, **kwargs.get("headers", {})}
        return await super().execute(query, operation_name, variables, **kwargs)

    def get_data(self, response: Response) -> dict[str, Any]:
        return _check(response)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def proxy(
        self,
        method: str,
        path: str,
        *,
        connection_id: str | None = None,
        integration: str | None = None,
        workspace_id: str | None = None,
        end_user_id: str | None = None,
        end_user_external_id: str | None = None,
        connection_external_id: str | None = None,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        json: Any = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpx's per-request timeout, as in Weir.proxy)
    ) -> httpx.Response:
        """See ``Weir.proxy``."""
        response = await self._http.request(
            method,
            f"{self.base_url}/proxy/{path.lstrip('/')}",
            params=params,
            headers={
                **_proxy_headers(
                    headers,
                    connection_id=connection_id,
                    integration=integration,
                    workspace_id=workspace_id,
                    end_user_id=end_user_id,
                    end_user_external_id=end_user_external_id,
                    connection_external_id=connection_external_id,
                ),
                **self._auth,
            },
            content=content,
            json=json,
            timeout=timeout if timeout is not None else self._http.timeout,
        )
        if "x-weir-error" in response.headers:
            await response.aread()
        return _proxied(response)
