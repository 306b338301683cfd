"""An OAuth2 authorization server on loopback, per RFC 6749 and RFC 7636, for tests.

``/authorize`` shows a consent page with Approve and Deny buttons (and refuses to be framed, as
real providers do); ``/token`` accepts the ``authorization_code`` grant (checking the client
secret, the exact redirect URI and the PKCE verifier against the S256 challenge) and the
``refresh_token`` grant (rotating refresh tokens when asked); ``/api/me`` is a protected
resource answering 401 to a stale access token. Knobs on ``OAuthProvider`` make it answer with a
form-encoded body, leave out ``expires_in`` or ``refresh_token``, send ``iss`` (RFC 9207),
refuse every refresh with ``invalid_grant``, require HTTP Basic client authentication
(``require_basic_auth``), refuse PKCE as some providers do (``refuse_pkce``), or add fields to
every token response (``token_extra``, e.g. Salesforce's ``instance_url``). ``/revoke`` is an
RFC 7009 revocation endpoint (``revoke_status`` makes it fail; ``revocations`` records calls).

Every route is also served under ``/t/<tenant>/`` (a provider with one host per customer, like
``https://{subdomain}.zendesk.com``, seen as a path segment on loopback); a code is only good
at the tenant that issued it, and ``token_tenants`` records which tenant each token request
reached (None for the plain routes).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.serving import serve


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    scope: str
    tenant: str | None = None


@dataclass
class OAuthProvider:
    client_id: str = "weir-test-client"
    client_secret: str = "weir-test-secret"
    redirect_uris: list[str] = field(default_factory=list)
    issuer: str = ""
    # Behaviour knobs
    form_encoded: bool = False
    send_expires_in: bool = True
    send_refresh_token: bool = True
    rotate_refresh_tokens: bool = True
    send_iss: bool = False
    wrong_iss: bool = False
    refuse_refresh: bool = False
    unavailable: bool = False  # its API answers 503 (an outage), its token endpoint still works
    expires_in: int = 3600
    refresh_delay: float = 0.0
    require_basic_auth: bool = False
    refuse_pkce: bool = False
    token_extra: dict[str, Any] = field(default_factory=dict)
    revoke_status: int = 200  # what /revoke answers a good client (503: unavailable)
    # Cross-Origin-Opener-Policy on the consent page, as some providers send: the popup that
    # shows it is cut off from its opener, which then sees it as closed.
    opener_policy: str | None = None
    # What happened
    token_requests: list[dict[str, str]] = field(default_factory=list)
    token_tenants: list[str | None] = field(default_factory=list)
    token_authorizations: list[str | None] = field(default_factory=list)
    revocations: list[dict[str, str]] = field(default_factory=list)
    codes: dict[str, Grant] = field(default_factory=dict)
    access_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)

    def app(self) -> Starlette:
        routes = []
        for prefix in ("", "/t/{tenant}"):
            routes += [
                Route(f"{prefix}/authorize", self.authorize, methods=["GET"]),
                Route(f"{prefix}/authorize/decision", self.decision, methods=["POST"]),
                Route(f"{prefix}/token", self.token, methods=["POST"]),
                Route(f"{prefix}/revoke", self.revoke, methods=["POST"]),
                Route(f"{prefix}/api/me", self.me),
            ]
        return Starlette(routes=routes)

    def revoke_access_tokens(self) -> None:
        self.access_tokens.clear()

    # -- authorization endpoint ---------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != self.client_id:
            return HTMLResponse("unknown client_id", status_code=400)
        if q.get("redirect_uri") not in self.redirect_uris:
            return HTMLResponse("redirect_uri is not registered", status_code=400)
        if q.get("response_type") != "code":
            return self._redirect_error(q, "unsupported_response_type")
        if self.refuse_pkce:
            if q.get("code_challenge") or q.get("code_challenge_method"):
                return self._redirect_error(q, "invalid_request")
        elif q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return self._redirect_error(q, "invalid_request")
        tenant = request.path_params.get("tenant")
        action = f"/t/{tenant}/authorize/decision" if tenant else "/authorize/decision"
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(q.get(name, ""))}">'
            for name in ("client_id", "redirect_uri", "state", "scope", "code_challenge")
        )
        page = f"""<!doctype html><html><head><title>Emulated provider: consent</title></head>
<body style="font-family:sans-serif;padding:2em">
<h1>Allow Weir test app to access your account?</h1><p>Scopes: {html.escape(q.get("scope", ""))}</p>
<form method="post" action="{html.escape(action)}">{hidden}
<button name="decision" value="approve" id="approve">Approve</button>
<button name="decision" value="deny" id="deny">Deny</button></form></body></html>"""
        headers = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
        if self.opener_policy:
            headers["Cross-Origin-Opener-Policy"] = self.opener_policy
        return HTMLResponse(page, headers=headers)

    def _redirect_error(self, params: Any, error: str) -> Response:
        query = {"error": error, "state": params.get("state", "")}
        return RedirectResponse(f"{params.get('redirect_uri')}?{urlencode(query)}", 303)

    async def decision(self, request: Request) -> Response:
        form = await _form(request)
        redirect_uri = str(form.get("redirect_uri"))
        if redirect_uri not in self.redirect_uris:
            return HTMLResponse("redirect_uri is not registered", status_code=400)
        query: dict[str, str] = {"state": str(form.get("state", ""))}
        if form.get("decision") == "approve":
            code = secrets.token_urlsafe(24)
            self.codes[code] = Grant(
                client_id=str(form.get("client_id")),
                redirect_uri=redirect_uri,
                code_challenge=str(form.get("code_challenge") or ""),
                scope=str(form.get("scope", "")),
                tenant=request.path_params.get("tenant"),
            )
            query["code"] = code
        else:
            query["error"] = "access_denied"
            query["error_description"] = "The user denied access"
        if self.send_iss:
            query["iss"] = "https://evil.example" if self.wrong_iss else self.issuer
        return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", 303)

    # -- token endpoint -----------------------------------------------------------------

    def _client_ok(self, request: Request, form: Any) -> bool:
        authorization = request.headers.get("authorization", "")
        if self.require_basic_auth and (
            not authorization.lower().startswith("basic ") or "client_secret" in form
        ):
            return False
        if authorization.lower().startswith("basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            client_id, _, secret = decoded.partition(":")
        else:
            client_id, secret = form.get("client_id"), form.get("client_secret")
        return client_id == self.client_id and secret == self.client_secret

    def _error(self, error: str, status: int = 400) -> Response:
        return JSONResponse({"error": error}, status_code=status, headers={"Cache-Control": "no-store"})

    def _tokens(self, scope: str) -> Response:
        access = "at_" + secrets.token_urlsafe(16)
        self.access_tokens.add(access)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            "scope": scope,
            **self.token_extra,
        }
        if self.send_expires_in:
            body["expires_in"] = self.expires_in
        if self.send_refresh_token:
            refresh = "rt_" + secrets.token_urlsafe(16)
            self.refresh_tokens.add(refresh)
            body["refresh_token"] = refresh
        headers = {"Cache-Control": "no-store"}
        if self.form_encoded:
            return Response(urlencode(body), media_type="application/x-www-form-urlencoded", headers=headers)
        return JSONResponse(body, headers=headers)

    async def token(self, request: Request) -> Response:
        form = await _form(request)
        self.token_requests.append({key: str(value) for key, value in form.items()})
        tenant = request.path_params.get("tenant")
        self.token_tenants.append(tenant)
        self.token_authorizations.append(request.headers.get("authorization"))
        if not self._client_ok(request, form):
            return self._error("invalid_client", 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = self.codes.pop(str(form.get("code")), None)  # codes are single-use
            if grant is None or grant.client_id != self.client_id or grant.tenant != tenant:
                return self._error("invalid_grant")
            if form.get("redirect_uri") != grant.redirect_uri:
                return self._error("invalid_grant")
            if self.refuse_pkce:
                if "code_verifier" in form:
                    return self._error("invalid_request")
                return self._tokens(grant.scope)
            verifier = str(form.get("code_verifier") or "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if not verifier or challenge != grant.code_challenge:
                return self._error("invalid_grant")
            return self._tokens(grant.scope)
        if grant_type == "refresh_token":
            if self.refresh_delay:
                await asyncio.sleep(self.refresh_delay)
            refresh = str(form.get("refresh_token"))
            if self.refuse_refresh or refresh not in self.refresh_tokens:
                return self._error("invalid_grant")
            if self.rotate_refresh_tokens:
                self.refresh_tokens.discard(refresh)
            else:
                self.send_refresh_token, was = False, self.send_refresh_token
                try:
                    return self._tokens("")
                finally:
                    self.send_refresh_token = was
            return self._tokens("")
        return self._error("unsupported_grant_type")

    # -- revocation endpoint (RFC 7009) -----------------------------------------------------

    async def revoke(self, request: Request) -> Response:
        form = await _form(request)
        if not self._client_ok(request, form):
            return self._error("invalid_client", 401)
        self.revocations.append({key: str(value) for key, value in form.items() if key != "client_secret"})
        if self.revoke_status != 200:
            return self._error("temporarily_unavailable", self.revoke_status)
        # An unknown or already revoked token is answered 200 all the same (section 2.2).
        token = str(form.get("token"))
        self.refresh_tokens.discard(token)
        self.access_tokens.discard(token)
        return Response(status_code=200)

    async def me(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if self.unavailable:
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
        if token not in self.access_tokens:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"id": 1, "login": "emulated-user", "tenant": request.path_params.get("tenant")})


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (no multipart needed here)."""
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))


serve_app = serve  # the name the connect and browser tests use
