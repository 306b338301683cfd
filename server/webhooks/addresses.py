"""Where a webhook may go: an http(s) URL whose host passes the outbound guard.

The guard is ``server/outbound.py``, the same for everything Weir connects to on a tenant's
behalf (``WEIR_OUTBOUND_ALLOW`` opens networks or hosts; loopback is open outside production).
A URL is checked when the endpoint is saved and again before every delivery (the name may
resolve elsewhere by then), and the delivery's HTTP client checks once more when it connects,
then connects to the address it checked. ``WEIR_WEBHOOKS_ALLOW_PRIVATE`` is a deprecated switch
that lifts the guard for webhooks only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from server.config import Settings
from server.outbound import AddressRefused, Policy, Resolver

__all__ = ["AddressRefused", "check_url", "policy"]


def policy(settings: Settings, *, resolver: Resolver | None = None) -> Policy:
    return Policy.for_webhooks(settings, resolver=resolver)


async def check_url(settings: Settings, url: str, *, resolver: Resolver | None = None) -> None:
    """Resolve ``url``'s host now and raise ``AddressRefused`` unless the guard allows it."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    await policy(settings, resolver=resolver).resolve(parts.hostname or "", port)
