"""API keys that authenticated recently, remembered for ``AUTH_CACHE_SECONDS``.

One cache per ``Authenticator`` (one per process, owned by the services container), so a test's
app starts with an empty one. Revoking a key forgets it here at once and, through the event bus,
in every other API process (``server.auth.revocation``); the lifetime is the bound when that
event is lost (Redis away, or ``weir keys revoke`` on the embedded default).
"""

from __future__ import annotations

import time

from server.scope import Scope

AUTH_CACHE_SECONDS = 2.0
# Past this many keys the cache starts afresh rather than growing (keys are cheap to re-check).
MAX_ENTRIES = 10_000


class ApiKeyCache:
    def __init__(self, *, seconds: float = AUTH_CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._entries: dict[str, tuple[float, Scope]] = {}

    def get(self, secret_hash: str) -> Scope | None:
        entry = self._entries.get(secret_hash)
        if entry is None or entry[0] < time.monotonic():
            self._entries.pop(secret_hash, None)
            return None
        return entry[1]

    def put(self, secret_hash: str, scope: Scope) -> None:
        if len(self._entries) > MAX_ENTRIES:
            self._entries.clear()
        self._entries[secret_hash] = (time.monotonic() + self.seconds, scope)

    def forget_key(self, api_key_id: str) -> None:
        # Revocations are rare and the cache is small: a scan beats keeping a second index.
        for secret_hash, (_, scope) in list(self._entries.items()):
            if scope.api_key_id == api_key_id:
                self._entries.pop(secret_hash, None)

    def clear(self) -> None:
        self._entries.clear()
