"""CORS on /graphql for the origins of WEIR_CORS_ORIGINS, and for nobody else."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.config import ConfigError, Settings
from server.embedded import create_app

ALLOWED = "http://127.0.0.1:8080"
PREFLIGHT = {
    "Origin": ALLOWED,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture
async def cors_client(settings: Settings) -> Any:
    application = create_app(settings.replace(cors_origins=(ALLOWED,)))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://weir.test") as http:
            yield http


async def test_a_listed_origin_passes_the_preflight_and_reads_the_answer(cors_client):
    preflight = await cors_client.options("/graphql", headers=PREFLIGHT)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    answer = await cors_client.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": ALLOWED})
    assert answer.headers["access-control-allow-origin"] == ALLOWED


async def test_another_origin_gets_no_cors_headers(cors_client):
    preflight = await cors_client.options("/graphql", headers={**PREFLIGHT, "Origin": "http://evil.test"})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers


async def test_without_the_setting_graphql_sends_no_cors_headers(client):
    answer = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in answer.headers


def test_cors_origins_must_be_origins() -> None:
    settings = Settings.from_env({"WEIR_CORS_ORIGINS": "http://a.test:8080, https://b.test/"})
    assert settings.cors_origins == ("http://a.test:8080", "https://b.test")
    with pytest.raises(ConfigError, match="WEIR_CORS_ORIGINS"):
        Settings.from_env({"WEIR_CORS_ORIGINS": "http://a.test/dashboard"})
