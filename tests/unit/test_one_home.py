"""Concepts with one home each (docs/architecture.md): every outgoing HTTP client is built by
``server.http``, and ``server.unset.UNSET`` is the only "not given" sentinel."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest
import strawberry

from server import http as http_clients
from server.outbound import Policy

SERVER = Path(__file__).resolve().parents[2] / "server"


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (str(path.relative_to(SERVER.parent)), ast.parse(path.read_text()))
        for path in sorted(SERVER.rglob("*.py"))
    ]


def _builds_httpx_client(node: ast.AST) -> bool:
    """``httpx.AsyncClient(...)``/``httpx.Client(...)``, or the bare names imported from httpx."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id == "httpx" and func.attr in ("AsyncClient", "Client")
    return isinstance(func, ast.Name) and func.id in ("AsyncClient", "Client")


def test_only_server_http_builds_an_httpx_client():
    builders = {
        name for name, tree in _modules() if any(_builds_httpx_client(node) for node in ast.walk(tree))
    }
    assert builders == {"server/http.py"}


@pytest.mark.parametrize(
    "name",
    ["DEFAULT", "CONNECTOR_CHECK", "DISCOVERY", "SYNC_RUN", "TOKEN_REFRESH", "CONNECT_FLOW", "WEBHOOKS"],
)
async def test_every_preset_builds_a_client_that_ignores_the_environment(name, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    preset: http_clients.Preset = getattr(http_clients, name)
    async with http_clients.client(Policy(), preset) as client:
        assert client.trust_env is False
        assert client.timeout == httpx.Timeout(preset.timeout)
        assert client.follow_redirects is preset.follow_redirects
        for header, value in preset.headers:
            assert client.headers[header] == value


def test_redact_cuts_secrets_and_their_pieces():
    credentials = {"api_key": "sk_live_abcdef123456", "host": "db.example.com"}
    text = "key sk_live_abcdef123456 rejected (sk_l****3456) on db.example.com"
    assert http_clients.redact(text, credentials) == ("key [redacted] rejected [redacted] on db.example.com")


def test_one_unset_sentinel_for_every_service():
    from server.integrations import service as integrations
    from server.orgs import service as orgs
    from server.syncs import service as syncs
    from server.unset import UNSET
    from server.webhooks import service as webhooks

    assert all(module.UNSET is UNSET for module in (orgs, syncs, integrations, webhooks))
    assert repr(UNSET) == "UNSET"
    defined = [
        name
        for name, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        and any(
            isinstance(target, ast.Name) and target.id in ("UNSET", "_MISSING")
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
    ]
    assert defined == ["server/unset.py"]


def test_the_api_turns_strawberrys_unset_into_weirs():
    from server.api.unset import given
    from server.unset import UNSET

    assert given(strawberry.UNSET) is UNSET
    assert given(None) is None
    assert given("x", str.upper) == "X"
    assert given(None, str.upper) is None
