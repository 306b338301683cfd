"""OAuth2 for the connect flow: authorization code with PKCE (S256), done on the server.

``start`` (the ``startOAuth`` mutation) creates a single-use ``state`` (kept only as a hash) and
a PKCE verifier (kept encrypted, the session id as associated data). The browser then reaches the
provider through ``launch`` (``POST /oauth/authorize``, a top-level navigation from the connect
page), which sets the cookie binding the flow to that browser (``server.connect.binding``) and
rebuilds the provider's authorize URL. ``finish`` handles the provider's redirect to
``<public url>/oauth/callback``: it finds the session by the state's hash, refuses a browser
without the binding cookie (without touching the session, so a forged request burns nothing),
consumes the verifier atomically (so a replayed state fails), checks ``iss`` (RFC 9207), and
exchanges the code with the workspace integration's client id and secret (its OAuth client,
``server.integrations.oauth``, is shared with token refresh). No token is ever put in a URL, a
page, an exception message or a log.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from server.config import Settings
from server.connect import binding, flow
from server.connect import service as sessions
from server.connect.models import ConnectSession
from server.connectors.parameters import merge_parameters, token_parameters
from server.crypto import KeyRing
from server.errors import Conflict, Unauthenticated, ValidationFailed
from server.events import EventBus
from server.integrations import catalog
from server.integrations.oauth import (
    OAuthClient,
    TokenError,
    endpoint,
    oauth_client,
    request_token,
    token_credentials,
)
from server.scope import Scope

CALLBACK_PATH = "/oauth/callback"
# The state's last two characters say where consent happens, so the callback page knows whom
# to report to: ".p" a popup opened by a framed connect page, ".t" the connect page's own tab.
POPUP_SUFFIX, TAB_SUFFIX = ".p", ".t"


def callback_url(settings: Settings) -> str:
    """The one redirect URI registered with every provider."""
    return settings.effective_public_url + CALLBACK_PATH


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# -- starting: the authorize URL ------------------------------------------------------------


def _authorize_url(*, settings: Settings, client: OAuthClient, state: str, verifier: str) -> str:
    """The provider's (tenant's) authorize URL; without PKCE when the spec turns it off (a few
    providers refuse a ``code_challenge``)."""
    oauth = client.spec.oauth
    assert oauth is not None  # oauth_client refuses a spec without it
    challenge = (
        {"code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}
        if oauth.pkce
        else {}
    )
    return prepare_grant_uri(
        endpoint(client, oauth.authorize_url),
        client.client_id,
        "code",
        callback_url(settings),
        scope=oauth.scope_separator.join(client.scopes) or None,
        state=state,
        **challenge,
        **dict(oauth.extra_authorize_params),
    )


async def start(
    *,
    scope: Scope,
    settings: Settings,
    key_ring: KeyRing,
    consent_in_popup: bool,
    bus: EventBus | None,
    parameters: Any = None,
) -> tuple[ConnectSession, str]:
    """Begin OAuth for the session's integration; return the provider's authorize URL.

    ``parameters`` are what the end user typed (a shop, a subdomain): with the host's presets,
    which win, they fill the provider's URLs and are kept for the callback and the connection.

    The browser must reach that URL through ``launch`` (``POST /oauth/authorize``), which binds
    the flow to it; a callback in a browser that went straight to the provider is refused.
    """
    session = await sessions.own_session(scope=scope, bus=bus)
    if session.status != "CONNECTING" or not session.integration_name:
        raise Conflict(f"this connect session is {session.status}; select an integration first")
    client = await oauth_client(
        settings=settings,
        key_ring=key_ring,
        organization_id=session.organization_id,
        workspace_id=session.workspace_id,
        integration_name=session.integration_name,
    )
    values = merge_parameters(client.spec, session.parameters or {}, parameters)
    client = replace(client, parameters=values)
    state = generate_token(43) + (POPUP_SUFFIX if consent_in_popup else TAB_SUFFIX)
    # Made even without PKCE: consuming it is what makes a state single-use.
    verifier = generate_token(64)
    url = _authorize_url(settings=settings, client=client, state=state, verifier=verifier)
    session = await sessions.transition(
        session=session,
        status="CONNECTING",
        bus=bus,
        oauth_state_hash=_hash(state),
        oauth_verifier_encrypted=key_ring.encrypt(verifier.encode(), associated_data=session.id),
        oauth_parameters=values,
    )
    return session, url


# -- launching: the browser goes to the provider, bound to the flow --------------------------


@dataclass(frozen=True)
class Launch:
    session: ConnectSession
    authorize_url: str
    cookie: binding.BindingCookie
    max_age: int  # seconds: no longer than the session lives


async def launch(
    *,
    settings: Settings,
    key_ring: KeyRing,
    token: str | None,
    state: str | None,
    bus: EventBus | None,
) -> Launch:
    """The provider's authorize URL for the flow ``state`` of the token's session, and the
    cookie that binds the flow to the browser sent there.

    Only the holder of the connect token can bind a browser, and only to the flow in flight.
    """
    scope = await sessions.authenticate_token(token, bus=bus)
    session = await sessions.own_session(scope=scope, bus=bus)
    in_flight = (
        session.status == "CONNECTING"
        and session.integration_name
        and session.oauth_state_hash
        and session.oauth_verifier_encrypted
    )
    if (
        not state
        or len(state) > 100
        or not in_flight
        or not hmac.compare_digest(_hash(state), session.oauth_state_hash or "")
    ):
        raise Conflict("this sign-in is no longer in progress; start again")
    client = await oauth_client(
        settings=settings,
        key_ring=key_ring,
        organization_id=session.organization_id,
        workspace_id=session.workspace_id,
        integration_name=session.integration_name,
    )
    client = replace(client, parameters=dict(session.oauth_parameters or {}))
    verifier = key_ring.decrypt(session.oauth_verifier_encrypted, associated_data=session.id).decode()
    remaining = (session.expires_at - datetime.now(UTC)).total_seconds()
    if remaining < 1:
        raise Unauthenticated("the connect token has expired; ask the app for a new link")
    url = _authorize_url(settings=settings, client=client, state=state, verifier=verifier)
    return Launch(
        session=session,
        authorize_url=url,
        max_age=int(remaining),
        cookie=binding.cookie_for(key_ring=key_ring, state=state),
    )


# -- finishing: the provider's redirect -----------------------------------------------------


@dataclass(frozen=True)
class CallbackResult:
    session: ConnectSession | None
    consent_in_popup: bool
    error_message: str | None = None
    error_code: str | None = None


async def _fail(
    session: ConnectSession, code: str, message: str, bus: EventBus | None, popup: bool
) -> CallbackResult:
    if "FAILED" in sessions.ALLOWED_MOVES[session.status]:
        try:
            session = await sessions.transition(
                session=session, status="FAILED", bus=bus, error_code=code, error_message=message
            )
        except Conflict:
            await session.refresh_from_db()
    return CallbackResult(session=session, consent_in_popup=popup, error_message=message, error_code=code)


async def finish(
    *,
    settings: Settings,
    key_ring: KeyRing,
    params: dict[str, str],
    cookies: Mapping[str, str],
    http: httpx.AsyncClient,
    bus: EventBus | None,
) -> CallbackResult:
    """Handle ``/oauth/callback``: check state, browser and issuer, exchange the code, store
    the tokens."""
    state = params.get("state") or ""
    popup = state.endswith(POPUP_SUFFIX)
    session = await ConnectSession.get_or_none(oauth_state_hash=_hash(state)) if state else None
    if session is None:
        return CallbackResult(
            session=None,
            consent_in_popup=popup,
            error_code="STATE_UNKNOWN",
            error_message=(
                "This sign-in response does not belong to a connect session. Start again from the app."
            ),
        )
    if not binding.is_bound(key_ring=key_ring, state=state, cookies=cookies):
        # Another browser (a replayed or forwarded URL): it learns nothing about the session
        # and changes nothing, so the browser that started the flow can still finish it.
        return CallbackResult(
            session=None,
            consent_in_popup=popup,
            error_code="BROWSER_MISMATCH",
            error_message=(
                "This sign-in was finished in a different browser from the one that started it, "
                "or the browser refused Weir's cookie. Start again from the app, in this "
                "browser."
            ),
        )
    session = await sessions.expire_if_due(session=session, bus=bus)
    if session.status == "EXPIRED":
        return CallbackResult(
            session=session,
            consent_in_popup=popup,
            error_code="EXPIRED",
            error_message="This connect link has expired.",
        )
    verifier_sealed = session.oauth_verifier_encrypted
    # Consume the state exactly once: only the request that clears the verifier goes on.
    consumed = verifier_sealed is not None and await ConnectSession.filter(
        id=session.id, oauth_verifier_encrypted=verifier_sealed
    ).update(oauth_verifier_encrypted=None)
    if not consumed:
        return await _fail(
            session, "STATE_REUSED", "This sign-in response was already used. Start again.", bus, popup
        )
    spec = await catalog.get_integration(
        settings=settings,
        organization_id=session.organization_id,
        workspace_id=session.workspace_id,
        name=session.integration_name,
    )
    name = spec.display_name
    issuer = params.get("iss")
    if issuer is not None and spec.oauth.issuer and issuer != spec.oauth.issuer:
        return await _fail(
            session, "ISSUER_MISMATCH", f"The sign-in response did not come from {name}.", bus, popup
        )
    if params.get("error"):
        if params["error"] == "access_denied":
            return await _fail(
                session, "ACCESS_DENIED", f"Access to {name} was denied. You can try again.", bus, popup
            )
        detail = (params.get("error_description") or params["error"])[:200]
        return await _fail(session, "OAUTH_ERROR", f"{name} returned an error: {detail}", bus, popup)
    code = params.get("code")
    if not code:
        return await _fail(session, "OAUTH_ERROR", f"{name} returned no authorization code.", bus, popup)
    try:
        client = await oauth_client(
            settings=settings,
            key_ring=key_ring,
            organization_id=session.organization_id,
            workspace_id=session.workspace_id,
            integration_name=session.integration_name,
        )
        client = replace(client, parameters=dict(session.oauth_parameters or {}))
        oauth = client.spec.oauth
        assert oauth is not None  # oauth_client refuses a spec without it
        verifier = key_ring.decrypt(verifier_sealed, associated_data=session.id).decode()
        token = await request_token(
            http=http,
            client=client,
            grant_type="authorization_code",
            code=code,
            redirect_uri=callback_url(settings),
            code_verifier=verifier if oauth.pkce else None,
        )
    except ValidationFailed as exc:
        return await _fail(session, "OAUTH_NOT_CONFIGURED", exc.errors[0].message, bus, popup)
    except TokenError as exc:
        return await _fail(
            session,
            "TOKEN_EXCHANGE_FAILED",
            f"Could not finish signing in to {name} ({exc.error}). Try again.",
            bus,
            popup,
        )
    try:
        # Fields of the token response kept as parameters (Salesforce's instance_url): they
        # will fill URLs, so a value that is not an https URL or a host-name label fails here.
        parameters = {**client.parameters, **token_parameters(oauth, token)}
    except ValidationFailed as exc:
        problem = exc.errors[0]
        return await _fail(
            session,
            "INVALID_TOKEN_RESPONSE",
            f"{name} answered with an unusable {problem.field.removeprefix('token.')}: {problem.message}.",
            bus,
            popup,
        )
    credentials, expires_at = token_credentials(token)
    try:
        connection = await flow.store_credentials(
            session=session,
            settings=settings,
            key_ring=key_ring,
            auth_type=client.auth_type,
            credentials=credentials,
            expires_at=expires_at,
            check=False,
            http=http,
            bus=bus,
            parameters=parameters,
        )
    except Conflict as exc:
        return await _fail(session, "CONFLICT", exc.message, bus, popup)
    except ValidationFailed as exc:
        # The integration changed since startOAuth checked the parameters: start again.
        return await _fail(session, "INVALID_PARAMETERS", exc.message, bus, popup)
    session = await sessions.transition(
        session=session, status="COMPLETED", bus=bus, connection_id=connection.id
    )
    return CallbackResult(session=session, consent_in_popup=popup)
