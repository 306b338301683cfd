"""Binding an OAuth flow to the browser that started it (RFC 9700 §4.7, CSRF).

A ``state`` proves that a callback belongs to a connect session, not that it arrives in the
browser that began the flow: a callback URL replayed from another client, or an authorize URL
sent to someone else, would finish the session with whatever account consented. So the browser
that starts the flow also receives a cookie on Weir's origin whose value is an HMAC of the state
(``KeyRing.sign``, a key derived for this purpose only), and the callback is accepted only with
it. The binding is stateless: nothing is stored, and a cookie is worthless for any other state.

The cookie is named after the state (a prefix of its SHA-256) so that two flows running at once
in one browser do not overwrite each other's; it is HttpOnly, SameSite=Lax (sent on the
provider's top-level GET redirect, never on a cross-site subresource), Secure when Weir's public
URL is https, limited to the callback's path, and lives no longer than the session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from server.crypto import KeyRing

PURPOSE = "oauth-browser-binding"
COOKIE_PREFIX = "weir_oauth_"


@dataclass(frozen=True)
class BindingCookie:
    name: str
    value: str


def cookie_name(state: str) -> str:
    """The cookie of one flow: a prefix of the state's SHA-256 (the state itself stays secret)."""
    return COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


def cookie_for(*, key_ring: KeyRing, state: str) -> BindingCookie:
    """The cookie that binds the flow of ``state`` to the browser receiving it."""
    return BindingCookie(name=cookie_name(state), value=key_ring.sign(state, purpose=PURPOSE))


def is_bound(*, key_ring: KeyRing, state: str, cookies: Mapping[str, str]) -> bool:
    """True when the request carries the cookie of ``state`` (compared in constant time)."""
    presented = cookies.get(cookie_name(state))
    if not presented or len(presented) > 100:
        return False
    return key_ring.verify(state, presented, purpose=PURPOSE)
