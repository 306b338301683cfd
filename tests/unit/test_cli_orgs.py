"""``weir orgs create`` and ``weir orgs list``: another tenant without touching the database."""

from __future__ import annotations

import asyncio
import os

import pytest

from server import cli
from server.config import Settings
from tests.conftest import TEST_ENCRYPTION_KEYS, client_for

VIEWER = (
    "query { viewer { organization { id name } workspace { id } } workspaces { edges { node { name } } } }"
)


@pytest.fixture
def weir_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The ``weir`` command pointed at this test's database (SQLite, then Postgres)."""
    for name in list(os.environ):
        if name.startswith("WEIR_") and not name.startswith("WEIR_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WEIR_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("WEIR_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("WEIR_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEYS)
    return settings


def _printed_key(output: str) -> str:
    return next(line for line in output.splitlines() if "API key:" in line).split()[-1]


async def _viewer(settings: Settings, key: str) -> dict:
    async with client_for(settings) as http:
        response = await http.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {key}"}
        )
        return response.json()


def test_orgs_create_makes_a_separate_tenant_with_an_unrestricted_key_shown_once(weir_env, capsys):
    assert cli.main(["init", "--organization", "Acme"]) == 0
    acme_key = _printed_key(capsys.readouterr().out)

    assert cli.main(["orgs", "create", "  Globex Corp  "]) == 0
    created = capsys.readouterr().out
    globex_key = _printed_key(created)

    assert "created organization Globex Corp (org_" in created
    assert globex_key.startswith("weir_sk_") and globex_key != acme_key
    globex = asyncio.run(_viewer(weir_env, globex_key))["data"]
    acme = asyncio.run(_viewer(weir_env, acme_key))["data"]
    assert globex["viewer"]["organization"]["name"] == "Globex Corp"
    assert globex["viewer"]["workspace"] is None  # unrestricted
    assert [edge["node"]["name"] for edge in globex["workspaces"]["edges"]] == ["default"]
    assert acme["viewer"]["organization"]["id"] != globex["viewer"]["organization"]["id"]

    assert cli.main(["orgs", "list"]) == 0
    listing = capsys.readouterr().out
    lines = listing.splitlines()
    assert lines[0].split() == ["ID", "CREATED", "NAME"]
    assert [line.split(None, 2)[2] for line in lines[1:]] == ["Acme", "Globex Corp"]
    assert globex["viewer"]["organization"]["id"] in listing
    assert "weir_sk_" not in listing


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "name: must not be empty"),
        ("   ", "name: must not be empty"),
        ("x" * 201, "name: must be at most 200 characters"),
        ("Evil\r\nCorp", "name: must not contain control characters"),
    ],
)
def test_orgs_create_refuses_a_bad_name_and_creates_nothing(weir_env, capsys, name, message):
    assert cli.main(["orgs", "create", name]) == 1

    assert message in capsys.readouterr().err
    assert cli.main(["orgs", "list"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1  # the header only


def test_keys_create_needs_an_organization_once_there_are_several(weir_env, capsys):
    cli.main(["init", "--organization", "Acme"])
    cli.main(["orgs", "create", "Globex"])
    capsys.readouterr()

    assert cli.main(["keys", "create", "--name", "bot"]) == 1
    assert "--organization" in capsys.readouterr().err

    cli.main(["orgs", "list"])
    globex_id = capsys.readouterr().out.splitlines()[2].split()[0]
    assert cli.main(["keys", "create", "--name", "bot", "--organization", globex_id]) == 0
    secret = next(line for line in capsys.readouterr().out.splitlines() if "secret:" in line).split()[-1]
    assert asyncio.run(_viewer(weir_env, secret))["data"]["viewer"]["organization"]["id"] == (globex_id)
    assert cli.main(["keys", "create", "--name", "bot", "--organization", "x" * 40]) == 1
    assert "not found" in capsys.readouterr().err
