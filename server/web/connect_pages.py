"""The connect flow's HTTP pages: ``/connect``, ``/connect/check``, ``/oauth/authorize`` and
``/oauth/callback``.

Each page is a server-rendered shell: the session's data as JSON, and the plain JavaScript and
CSS of ``widget/`` that draw it. ``Content-Security-Policy: frame-ancestors`` lists exactly the
workspace's allowed origins, so any other site's frame is refused by the browser. Responses carry
``Cache-Control: no-store`` and a referrer policy that never sends a URL to another origin:
``no-referrer``, except the connect page's ``same-origin``, so that its form post to
``/oauth/authorize`` carries an ``Origin`` header (``no-referrer`` turns it into ``null``), which is
how that endpoint tells Weir's own page from a cross-site form.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from server.api.context import Services
from server.connect import flow, oauth
from server.connect import service as sessions
from server.connect.models import ConnectSession
from server.connectors.base import ConnectorSpec
from server.crypto import DecryptionError
from server.errors import Conflict, Unauthenticated, WeirError
from server.integrations import catalog
from server.orgs.models import Workspace
from server.validation import check_origin
from server.web import locales

MODES = ("modal", "inline", "popup", "redirect", "page")
ASSET_VERSION = "v1"
FORM_LIMIT_BYTES = 4096
LOCALE_COOKIE = "weir_locale"
RETURN_URL_LIMIT = 2000


def _csp(frame_ancestors: list[str]) -> str:
    # Origins are checked at input; one stored before that check (a CR, LF or space in it)
    # must still never split this header or add a source expression.
    clean = [origin for origin in frame_ancestors if check_origin("", origin) is None]
    ancestors = " ".join(clean) if clean else "'none'"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "img-src 'self' https: http: data:; connect-src 'self'; form-action 'self'; "
        f"base-uri 'none'; frame-ancestors {ancestors}"
    )


def _headers(frame_ancestors: list[str], referrer_policy: str = "no-referrer") -> dict[str, str]:
    return {
        "Content-Security-Policy": _csp(frame_ancestors),
        "Referrer-Policy": referrer_policy,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def _services(request: Request) -> Services:
    return request.app.state.runtime.services


def _branding(workspace: Workspace | None) -> dict[str, Any]:
    if workspace is None:
        return {"displayName": "Weir", "logoUrl": None, "primaryColor": None, "theme": "LIGHT"}
    return {
        "displayName": workspace.display_name or workspace.name,
        "logoUrl": workspace.logo_url,
        "primaryColor": workspace.primary_color,
        "theme": workspace.theme,
    }


def _integration(spec: ConnectorSpec, public_url: str, oauth_ready: set[str]) -> dict[str, Any]:
    supports_oauth = spec.oauth is not None and any(a.endswith("OAUTH2") for a in spec.auth_types)
    return {
        "name": spec.name,
        "displayName": spec.display_name,
        "category": spec.category,
        "description": spec.description,
        "logoUrl": catalog.logo_url(spec, public_url),
        # OAuth is offered when the workspace (or the deployment) has an app for it.
        "oauth": supports_oauth and spec.name in oauth_ready,
        "formAuthType": flow.form_auth_type(spec.auth_types),
        "authFieldsSchema": spec.auth_fields_schema,
        # Per-connection parameters (a Shopify shop, a Zendesk subdomain), asked before signing in.
        "parametersSchema": spec.parameters_schema,
    }


def _preset_parameters(session: ConnectSession) -> dict[str, str]:
    # Checked as strings when the session was created; the page shows them as text either way.
    preset = session.parameters or {}
    return {str(name): str(value) for name, value in preset.items()} if isinstance(preset, dict) else {}


def _session_data(session: ConnectSession) -> dict[str, Any]:
    return {
        "sessionId": session.id,
        "status": session.status,
        "selected": session.integration_name,
        "connectionId": session.connection_id,
        "errorCode": session.error_code,
        "errorMessage": session.error_message,
        "redirectUrl": sessions.redirect_target(session),
        # Parameters the host set on the session: shown, never asked again.
        "presetParameters": _preset_parameters(session),
        # Which account the new connection is, in the host's terms (the success event says so).
        "account": {"displayName": session.connection_name, "externalId": session.external_id},
    }


def render(
    data: dict[str, Any],
    title: str,
    frame_ancestors: list[str],
    status: int = 200,
    theme: str = "LIGHT",
    referrer_policy: str = "no-referrer",
    lang: str = locales.DEFAULT,
) -> HTMLResponse:
    # The page's texts come from the language's catalog (widget/locales/<lang>.json).
    messages = locales.catalog(lang)
    data = {**data, "locale": lang, "messages": messages}
    # JSON inside <script> must not be able to close the element.
    payload = (
        json.dumps(data, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    root = f'lang="{html.escape(lang)}" dir="{html.escape(messages["dir"])}"'
    body = f"""<!doctype html>
<html {root} data-theme="{html.escape(theme.lower())}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="{referrer_policy}">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="/widget/{ASSET_VERSION}/connect.css">
<script id="weir-data" type="application/json">{payload}</script>
<script src="/widget/{ASSET_VERSION}/connect.js" defer></script>
</head>
<body>
<main id="weir-app" class="weir-card">
<noscript>{html.escape(messages["noscript"])}</noscript>
</main>
</body>
</html>
"""
    # #weir-app is no live region: each view moves focus to its heading, errors are alerts and
    # the picker's result count is its own status, so a filtered list of 60 rows is not read out.
    return HTMLResponse(body, status_code=status, headers=_headers(frame_ancestors, referrer_policy))


async def connect_page(request: Request) -> Response:
    """``GET /connect?token=...&mode=...&origin=...``: the hosted connect page."""
    services = _services(request)
    settings = services.settings
    mode = request.query_params.get("mode", "page")
    mode = mode if mode in MODES else "page"
    origin = request.query_params.get("origin")
    lang = _lang(request, request.query_params.get("locale"))
    context = await flow.page_context(
        token=request.query_params.get("token"), settings=settings, bus=services.bus
    )
    if context is None:
        data = {
            "view": "error",
            "errorCode": "TOKEN_INVALID",
            "mode": mode,
            "errorMessage": locales.text(lang, "link_invalid"),
            "workspace": _branding(None),
        }
        return render(data, locales.text(lang, "brand"), [], status=401, lang=lang)
    session, workspace = context.session, context.workspace
    allowed = list(workspace.allowed_origins or [])
    # What the session's workspace sees: the catalog and its organization's custom integrations.
    visible = {
        spec.name: spec
        for spec in await catalog.list_integrations(
            settings=settings, organization_id=session.organization_id, workspace_id=session.workspace_id
        )
    }
    host_origin = origin if origin in allowed else None
    data: dict[str, Any] = {
        "view": "connect",
        "mode": mode,
        "hostOrigin": host_origin,
        "returnUrl": _return_url(request.query_params.get("return"), host_origin, mode),
        "weirOrigin": settings.effective_public_url,
        "graphqlUrl": "/graphql",
        "workspace": _branding(workspace),
        **_session_data(session),
        "integrations": [
            _integration(visible[name], settings.effective_public_url, context.oauth_ready)
            for name in session.allowed_integrations or []
            # A built-in needs no connection: never offered, even by a session made before
            # sessions refused them.
            if name in visible and visible[name].requires_connection
        ],
    }
    status = 200
    if origin is not None and host_origin is None:
        data.update(
            view="error",
            errorCode="ORIGIN_NOT_ALLOWED",
            errorMessage=locales.text(lang, "origin_not_allowed"),
        )
        status = 403
    elif session.status == "EXPIRED":
        data.update(
            view="error",
            errorCode=session.error_code or "EXPIRED",
            errorMessage=session.error_message or locales.text(lang, "session_expired"),
        )
        status = 410
    title = locales.text(lang, "page_title", name=data["workspace"]["displayName"])
    # same-origin: the form post to /oauth/authorize must carry this page's Origin.
    return render(
        data, title, allowed, status=status, theme=workspace.theme, referrer_policy="same-origin", lang=lang
    )


def _lang(request: Request, requested: str | None) -> str:
    return locales.choose(requested, request.headers.get("accept-language"))


def _return_url(value: str | None, host_origin: str | None, mode: str) -> str | None:
    """Where a redirect-mode page returns when the session has no ``redirectUri``.

    The widget sends its page's address when a blocked popup falls back to this tab; it is
    used only when it is on the host origin the workspace allows (checked above), so the page
    can never send a browser anywhere the workspace did not allow.
    """
    if not value or host_origin is None or mode != "redirect" or len(value) > RETURN_URL_LIMIT:
        return None
    if any(ord(char) < 33 for char in value):
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}" != host_origin:
        return None
    return value


async def connect_check(request: Request) -> Response:
    """``POST /connect/check`` (body: the token): may the calling origin embed this session?

    The widget asks before showing the page, so it can report ``ORIGIN_NOT_ALLOWED`` or
    ``TOKEN_EXPIRED`` as an error event instead of a frame the browser silently refuses.
    """
    services = _services(request)
    token = (await request.body())[:300].decode("utf-8", "replace").strip()
    context = await flow.page_context(token=token, settings=services.settings, bus=services.bus)
    origin = request.headers.get("origin")
    result: dict[str, Any] = {"ok": True, "code": None}
    if context is not None:
        # The widget follows the session here while a popup looks closed (a provider's
        # Cross-Origin-Opener-Policy hides an open popup from its opener).
        session = context.session
        status_fields = {
            "sessionId": session.id,
            "status": session.status,
            "connectionId": session.connection_id,
            "errorCode": session.error_code,
        }
    else:
        status_fields = {}
    if context is None:
        result = {"ok": False, "code": "TOKEN_INVALID"}
    elif context.session.status == "EXPIRED":
        result = {"ok": False, "code": "TOKEN_EXPIRED"}
    elif context.session.status == "COMPLETED":
        result = {"ok": False, "code": "SESSION_COMPLETED"}
    elif origin not in (context.workspace.allowed_origins or []):
        result = {"ok": False, "code": "ORIGIN_NOT_ALLOWED"}
    return JSONResponse(
        {**result, **status_fields}, headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
    )


def _from_weir(request: Request, public_url: str) -> bool:
    """True when a browser says this request comes from a page of Weir's own origin.

    ``Origin`` is sent with every form post (``null`` under a ``no-referrer`` policy); where it
    is missing or ``null``, ``Sec-Fetch-Site`` (sent to https and loopback origins) decides.
    Neither is forgeable by a web page, so another site cannot make a browser post here.
    """
    parts = urlsplit(public_url)
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return origin.rstrip("/") == f"{parts.scheme}://{parts.netloc}"
    return request.headers.get("sec-fetch-site") == "same-origin"


async def _small_form(request: Request) -> dict[str, str] | None:
    """An urlencoded body of at most ``FORM_LIMIT_BYTES``, first value per name; else None."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != (
        "application/x-www-form-urlencoded"
    ):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT_BYTES:
            return None
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[0] for name, values in fields.items()}


def _launch_error(request: Request, code: str, key: str, status: int) -> HTMLResponse:
    lang = _lang(request, None)
    data = {
        "view": "error",
        "mode": "page",
        "errorCode": code,
        "errorMessage": locales.text(lang, key),
        "workspace": _branding(None),
    }
    return render(data, locales.text(lang, "brand"), [], status=status, lang=lang)


async def oauth_authorize(request: Request) -> Response:
    """``POST /oauth/authorize`` (form: ``token``, ``state``): send this browser to the provider.

    The connect page posts here as a top-level navigation (its own tab, or the consent popup of
    a framed page) after ``startOAuth``. The answer sets the cookie that binds the flow to this
    browser, first-party even when the connect page itself is a third-party frame, and moves on
    to the provider from a page rather than a redirect, because the connect page's CSP
    (``form-action 'self'``) also applies to redirects that follow a form post.
    """
    services = _services(request)
    settings = services.settings
    if not _from_weir(request, settings.effective_public_url):
        return _launch_error(request, "CROSS_SITE_REQUEST", "cross_site", 403)
    form = await _small_form(request)
    if form is None:
        return _launch_error(request, "BAD_REQUEST", "bad_request", 400)
    try:
        started = await oauth.launch(
            settings=settings,
            key_ring=services.key_ring,
            token=form.get("token"),
            state=form.get("state"),
            bus=services.bus,
        )
    except Unauthenticated:
        return _launch_error(request, "TOKEN_EXPIRED", "link_expired", 401)
    except (Conflict, DecryptionError):
        return _launch_error(request, "STATE_UNKNOWN", "state_unknown", 409)
    except WeirError:  # the workspace's OAuth app was removed meanwhile
        return _launch_error(request, "OAUTH_NOT_CONFIGURED", "oauth_not_configured", 409)
    workspace = await Workspace.get(id=started.session.workspace_id)
    data = {
        "view": "launch",
        "mode": "page",
        "authorizeUrl": started.authorize_url,
        "workspace": _branding(workspace),
    }
    # The page's language rides along (form field ``locale``) to the callback, in a cookie.
    lang = _lang(request, form.get("locale"))
    response = render(data, locales.text(lang, "connecting"), [], theme=workspace.theme, lang=lang)
    response.set_cookie(
        LOCALE_COOKIE, lang, max_age=started.max_age, path=oauth.CALLBACK_PATH, samesite="lax", httponly=True
    )
    response.set_cookie(
        started.cookie.name,
        started.cookie.value,
        max_age=started.max_age,
        path=oauth.CALLBACK_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.effective_public_url.startswith("https://"),
    )
    return response


async def oauth_callback(request: Request) -> Response:
    """``GET /oauth/callback``: the provider's redirect after consent."""
    services = _services(request)
    settings = services.settings
    params = dict(request.query_params)
    result = await oauth.finish(
        settings=settings,
        key_ring=services.key_ring,
        params=params,
        cookies=request.cookies,
        http=services.connect_http(),
        bus=services.bus,
    )
    data: dict[str, Any] = {
        "view": "callback",
        "consentInPopup": result.consent_in_popup,
        "weirOrigin": settings.effective_public_url,
        "graphqlUrl": "/graphql",
    }
    workspace = None
    if result.session is not None:
        context = await flow.session_page_context(session=result.session, settings=settings, bus=services.bus)
        workspace = context.workspace
        data.update(_session_data(context.session), allowedOrigins=list(workspace.allowed_origins or []))
    if result.error_message:
        data.update(
            status="FAILED",
            errorMessage=result.error_message,
            errorCode=result.error_code or data.get("errorCode") or "OAUTH_ERROR",
        )
    data["workspace"] = _branding(workspace)
    # The callback is never framed: consent always happens in a tab or a popup.
    # The binding cookie is left to expire: a reload of this page in the same browser then
    # says "already used", not "another browser".
    status = 403 if result.error_code == "BROWSER_MISMATCH" else 200
    lang = _lang(request, request.cookies.get(LOCALE_COOKIE))
    return render(
        data,
        locales.text(lang, "connecting"),
        [],
        status=status,
        theme=workspace.theme if workspace else "LIGHT",
        lang=lang,
    )
