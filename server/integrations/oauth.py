"""The OAuth client of a workspace integration: which app (client id and secret) to use, and
the token endpoint (code exchange and refresh alike).

``oauth_client`` picks the workspace integration's own app, else the deployment's platform app;
the caller gives it the connection's (or the flow's) parameters with ``dataclasses.replace``,
and ``endpoint`` fills the spec's URL templates with them (``https://{subdomain}.zendesk.com``).
``request_token`` posts a grant, with the spec's ``extra_token_params`` and the client
authentication it asks for (``client_secret_post``, or HTTP Basic for
``client_secret_basic``), and raises ``TokenError`` with the RFC 6749 code; the connect
flow (``server.connect.oauth``) exchanges codes with it and token refresh
(``server.integrations.refresh``) refreshes with it. No token is ever put in an exception
message or a log.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote

import httpx
from authlib.oauth2.rfc6749 import OAuth2Token
from authlib.oauth2.rfc6749.parameters import prepare_token_request

from server.config import Secret, Settings
from server.connections.models import Connection
from server.connectors.base import ConnectorSpec
from server.connectors.parameters import fill_url
from server.crypto import KeyRing
from server.errors import NotFound, ValidationFailed
from server.integrations import catalog
from server.integrations.models import WorkspaceIntegration
from server.integrations.service import load_oauth_client_secret

log = logging.getLogger("weir.oauth")

TOKEN_TIMEOUT_SECONDS = 20.0


class TokenError(Exception):
    """The token endpoint refused a grant; ``error`` is the RFC 6749 code (``invalid_grant``)."""

    def __init__(self, error: str, description: str | None = None) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class OAuthClient:
    """The OAuth app one connection uses, and the provider it talks to."""

    spec: ConnectorSpec
    auth_type: str
    client_id: str
    client_secret: Secret
    scopes: tuple[str, ...]
    # The connection's parameters, for the {placeholders} of the OAuth URLs.
    parameters: dict[str, Any] = field(default_factory=dict)


def endpoint(client: OAuthClient, template: str) -> str:
    """One of the spec's OAuth URLs filled with the client's parameters; ``VALIDATION_FAILED``
    naming ``input.parameters.<name>`` when one is missing or may not go there."""
    return fill_url(template, client.parameters)


def _basic_authorization(client: OAuthClient) -> str:
    # RFC 6749 section 2.3.1: the id and secret are form-encoded before they are joined.
    pair = f"{quote(client.client_id, safe='')}:{quote(client.client_secret.reveal(), safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def authenticated_form(client: OAuthClient, fields: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers and form fields of a POST to the provider's token or revocation endpoint, with
    the client authentication its spec asks for: HTTP Basic (``client_secret_basic``), else
    the id and secret in the form (``client_secret_post``)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    assert client.spec.oauth is not None  # oauth_client refuses a spec without it
    if client.spec.oauth.client_authentication == "client_secret_basic":
        headers["Authorization"] = _basic_authorization(client)
        return headers, fields
    return headers, {"client_id": client.client_id, "client_secret": client.client_secret.reveal(), **fields}


async def oauth_client(
    *,
    settings: Settings,
    key_ring: KeyRing,
    organization_id: str,
    workspace_id: str | None,
    integration_name: str,
    auth_type: str | None = None,
) -> OAuthClient:
    """The OAuth app to use: the workspace integration's, else the deployment's platform app.

    Its spec is the integration as ``connector_for`` resolves it here: a custom integration of
    the organization, with the deployment's and the workspace's endpoint overrides."""
    try:
        spec = await catalog.get_integration(
            settings=settings,
            organization_id=organization_id,
            workspace_id=workspace_id,
            name=integration_name,
        )
    except NotFound:
        raise ValidationFailed.field(
            "input.integrationName", f"no integration named {integration_name!r}"
        ) from None
    if spec.oauth is None:
        raise ValidationFailed.field(
            "input.integrationName", f"{spec.display_name} does not connect with OAuth"
        )
    row = None
    if workspace_id is not None and auth_type != "PLATFORM_OAUTH2":
        row = await WorkspaceIntegration.get_or_none(
            organization_id=organization_id, workspace_id=workspace_id, integration_name=integration_name
        )
    secret = load_oauth_client_secret(key_ring=key_ring, integration=row) if row else None
    if row is not None and row.oauth_client_id and secret:
        scopes = tuple(row.scopes) if row.scopes else spec.oauth.default_scopes
        return OAuthClient(
            spec=spec,
            auth_type="OAUTH2",
            client_id=row.oauth_client_id,
            client_secret=Secret(secret),
            scopes=scopes,
        )
    platform = settings.platform_oauth.get(integration_name)
    if platform is not None and auth_type != "OAUTH2" and integration_name in catalog.CONNECTORS:
        # The deployment's app serves every tenant: its secret goes only to the endpoints the
        # operator chose (the catalog's, with WEIR_CONNECTOR_* overrides), never to a
        # workspace's endpoint override, which would hand it to that tenant.
        trusted = await catalog.base_connector(
            settings=settings, organization_id=None, workspace_id=None, name=integration_name
        )
        return OAuthClient(
            spec=trusted.SPEC,
            auth_type="PLATFORM_OAUTH2",
            client_id=platform[0],
            client_secret=platform[1],
            scopes=spec.oauth.default_scopes,
        )
    raise ValidationFailed.field(
        "input.integrationName",
        f"no OAuth app is configured for {spec.display_name} in this workspace "
        "(configureWorkspaceIntegration with a client id and secret)",
    )


async def connection_client(*, settings: Settings, key_ring: KeyRing, connection: Connection) -> OAuthClient:
    """The OAuth app a connection's tokens belong to, with the connection's parameters for the
    URLs' placeholders (the tenant's token endpoint: ``https://{subdomain}.zendesk.com/...``)."""
    client = await oauth_client(
        settings=settings,
        key_ring=key_ring,
        organization_id=connection.organization_id,
        workspace_id=connection.workspace_id,
        integration_name=connection.integration_name,
        auth_type=connection.auth_type,
    )
    return replace(client, parameters=dict(connection.parameters or {}))


def parse_token_body(response: httpx.Response) -> dict[str, Any]:
    """A token endpoint's body as a dict, whether JSON or form-encoded (GitHub's default)."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    text = response.text
    if content_type == "application/x-www-form-urlencoded" or (
        not content_type.endswith("json") and "=" in text and not text.lstrip().startswith("{")
    ):
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        body = json.loads(text)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def request_token(
    *, http: httpx.AsyncClient, client: OAuthClient, grant_type: str, **params: Any
) -> dict[str, Any]:
    """POST a grant to the (tenant's) token endpoint; raise ``TokenError``."""
    oauth = client.spec.oauth
    assert oauth is not None  # oauth_client refuses a spec without it
    try:
        url = endpoint(client, oauth.token_url)
    except ValidationFailed as exc:
        raise TokenError("invalid_parameters", exc.errors[0].message[:300]) from None
    headers, fields = authenticated_form(client, {**dict(oauth.extra_token_params), **params})
    body = prepare_token_request(grant_type, **fields)
    try:
        response = await http.post(url, content=body, timeout=TOKEN_TIMEOUT_SECONDS, headers=headers)
    except httpx.HTTPError:
        # One message for every network failure (refused by the outbound guard, closed,
        # timed out, unknown name): the page shows it to the end user.
        raise TokenError("unreachable", "could not connect to the token endpoint") from None
    token = parse_token_body(response)
    if response.status_code >= 400 or "error" in token:
        error = str(token.get("error") or f"http_{response.status_code}")
        description = token.get("error_description")
        log.warning("token endpoint of %s refused a %s grant: %s", client.spec.name, grant_type, error)
        raise TokenError(error, str(description)[:300] if description else None)
    if not token.get("access_token"):
        raise TokenError("invalid_response", "the token response has no access_token")
    return token


def token_credentials(
    token: dict[str, Any], previous: dict[str, Any] | None = None
) -> tuple[dict[str, Any], datetime | None]:
    """Stored credentials from a token response; a refresh token not rotated is kept."""
    parsed = OAuth2Token.from_dict(dict(token))
    expires_in = token.get("expires_in")
    expires_at = None
    if expires_in not in (None, ""):
        try:
            expires_at = datetime.fromtimestamp(time.time() + int(expires_in), UTC)
        except (TypeError, ValueError):
            expires_at = None
    refresh_token = token.get("refresh_token") or (previous or {}).get("refresh_token")
    credentials = {
        "access_token": parsed["access_token"],
        "refresh_token": refresh_token,
        "expires_at": expires_at.isoformat() if expires_at else None,
        "token_type": token.get("token_type") or "Bearer",
        "scope": token.get("scope") or (previous or {}).get("scope"),
    }
    return credentials, expires_at
