"""Asking a provider whether credentials work, through its connector's ``check``.

Connectors get an HTTP client and a base URL (``WEIR_CONNECTOR_<NAME>_BASE_URL`` or the spec's
own) and nothing else. A provider's message may echo what it was sent, so every secret is
scrubbed from it before it reaches an error, a status reason or a log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from server import http as http_clients
from server import outbound
from server.config import Settings
from server.connections import credentials as creds
from server.connectors.base import CheckResult, ConnectorContext, ConnectorSpec
from server.connectors.registry import get_connector
from server.errors import CheckFailed, ValidationFailed


def spec_of(integration_name: str, field: str = "input.integrationName") -> ConnectorSpec:
    """The integration's spec, or ``VALIDATION_FAILED`` on ``field``."""
    module = get_connector(integration_name)
    if module is None:
        raise ValidationFailed.field(field, f"no integration named {integration_name!r}")
    return module.SPEC


def connector_context(
    *,
    settings: Settings,
    integration_name: str,
    http: httpx.AsyncClient,
    credentials: dict[str, Any],
    parameters: Mapping[str, Any] | None = None,
) -> ConnectorContext:
    """What a connector needs to talk to its provider (base URL overridable by configuration),
    with the connection's parameters for the {placeholders} of its URLs."""
    spec = spec_of(integration_name, field="integrationName")
    base_url = settings.connector_base_urls.get(integration_name) or spec.base_url
    return ConnectorContext(
        http=http,
        base_url=base_url,
        credentials=credentials,
        outbound=outbound.Policy.from_settings(settings),
        parameters=dict(parameters or {}),
    )


def check_failed(spec: ConnectorSpec, result: CheckResult) -> CheckFailed:
    """The error for a failed check: the provider's refusal, or that it could not be reached."""
    if not result.reachable:
        return CheckFailed(
            f"could not reach {spec.display_name}: {result.message or 'no answer'}", reachable=False
        )
    return CheckFailed(f"{spec.display_name} refused the credentials: {result.message or 'no reason given'}")


async def run_check(
    *,
    settings: Settings,
    spec: ConnectorSpec,
    auth_type: str,
    credentials: dict[str, Any],
    http: httpx.AsyncClient | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> CheckResult:
    """Ask the provider whether ``credentials`` work; a message never carries a secret."""
    module = get_connector(spec.name)
    assert module is not None  # the spec came from the registry
    secrets = creds.secret_values(auth_type, credentials, spec)
    client = http or http_clients.tenant_client(settings, http_clients.CONNECTOR_CHECK)
    try:
        context = connector_context(
            settings=settings,
            integration_name=spec.name,
            http=client,
            credentials=credentials,
            parameters=parameters,
        )
        result = await module.check(context, credentials)
    except (httpx.HTTPError, OSError, TimeoutError) as exc:
        detail = creds.scrub(str(exc), secrets) or exc.__class__.__name__
        return CheckResult(
            ok=False, message=f"could not reach {spec.display_name}: {detail}", reachable=False
        )
    finally:
        if http is None:
            await client.aclose()
    message = creds.scrub(result.message or "", secrets)
    label = creds.scrub(result.account_label, secrets) if result.account_label else None
    return CheckResult(ok=result.ok, message=message, account_label=label, reachable=result.reachable)
