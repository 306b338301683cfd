"""Who is calling, for HTTP and WebSocket alike.

- ``authenticator``: ``Authenticator.authenticate`` turns the secret a request presents (an API
  key or a connect token; from HTTP headers or a WebSocket ``connection_init`` payload) into a
  ``Scope``, or raises ``Unauthenticated``. One per process, owned by the services container.
- ``key_cache``: the authenticator's memory of recently authenticated API keys.
- ``connect_token``: what a connect token's scope may run (its own session's operations).
- ``revocation``: a revoked credential is forgotten and its open sockets closed, in every process.

Layering: above the domains (keys and connect sessions are stored by ``server.orgs`` and
``server.connect``, which ``auth`` reads), below ``server.api`` and ``server.web``, which call it.
"""
