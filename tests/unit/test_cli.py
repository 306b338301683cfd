"""The ``weir`` command line: init, keys, migrate, schema, and the compose file's commands."""

import shlex
import sqlite3
from pathlib import Path

import pytest
import yaml

from server import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def embedded(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith("WEIR_") and not name.startswith("WEIR_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WEIR_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_init_prints_a_key_once_and_is_idempotent(embedded, capsys):
    assert cli.main(["init", "--organization", "Acme"]) == 0
    first = capsys.readouterr().out
    assert "organization: Acme" in first
    key_line = next(line for line in first.splitlines() if "API key:" in line)
    assert key_line.split()[-1].startswith("weir_sk_")
    assert (embedded / "weir.db").exists() and (embedded / "encryption.key").exists()
    assert cli.main(["init"]) == 0
    second = capsys.readouterr().out
    assert "already initialised" in second and "weir_sk_" not in second


def test_keys_create_list_and_revoke(embedded, capsys):
    cli.main(["init"])
    capsys.readouterr()
    assert cli.main(["keys", "create", "--name", "deploy bot"]) == 0
    created = capsys.readouterr().out
    secret = next(line for line in created.splitlines() if "secret:" in line).split()[-1]
    key_id = created.split()[3]
    assert cli.main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "deploy bot" in listing and key_id in listing and secret not in listing
    assert cli.main(["keys", "revoke", key_id]) == 0
    assert "revoked API key" in capsys.readouterr().out
    cli.main(["keys", "list"])
    assert "revoked" in capsys.readouterr().out
    assert cli.main(["keys", "revoke", "key_unknown"]) == 1
    # Both changes are in the audit log as the operator's, and the secret is not.
    with sqlite3.connect(embedded / "weir.db") as database:
        rows = database.execute(
            "SELECT actor_kind, operation, object_id FROM audit_log ORDER BY id"
        ).fetchall()
        dump = "\n".join(database.iterdump())
    assert rows == [("OPERATOR", "createApiKey", key_id), ("OPERATOR", "revokeApiKey", key_id)]
    assert secret not in dump


def test_migrate_applies_then_has_nothing_to_do(embedded, capsys):
    assert cli.main(["migrate"]) == 0
    assert "0001_initial" in capsys.readouterr().out
    assert cli.main(["migrate"]) == 0
    assert "applied 0 migration(s)" in capsys.readouterr().out


def test_generate_encryption_key_prints_a_usable_ring_entry(capsys):
    from server.crypto import parse_key_ring

    assert cli.main(["keys", "generate-encryption-key", "--key-id", "k7"]) == 0
    spec = capsys.readouterr().out.strip()
    assert parse_key_ring(spec).primary_key_id == "k7"


def test_the_committed_schema_matches_the_code(capsys):
    assert cli.main(["schema", "--check", str(ROOT / "schema.graphql")]) == 0, (
        "schema.graphql is stale: run `weir schema > schema.graphql`"
    )


def test_every_type_and_field_of_the_schema_has_a_description():
    from server.api.schema import build_schema

    schema = build_schema()._schema
    missing = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or name in ("String", "Boolean", "Int", "Float", "ID"):
            continue
        if not graphql_type.description:
            missing.append(name)
        for field_name, field in getattr(graphql_type, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
    assert not missing, missing


def test_no_model_change_lacks_a_migration():
    import asyncio

    from tortoise.context import TortoiseContext
    from tortoise.migrations.autodetector import MigrationAutodetector

    from server.db import tortoise_config

    async def pending() -> list:
        config = tortoise_config("sqlite://:memory:")
        async with TortoiseContext() as ctx:
            await ctx.init(config=config)
            detector = MigrationAutodetector(ctx.apps, config["apps"])
            return await detector.changes()

    assert asyncio.run(pending()) == [], (
        "models changed: run tortoise -c server.db.TORTOISE_ORM makemigrations"
    )


def test_every_compose_command_is_a_real_weir_subcommand():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    parser = cli.build_parser()
    commands = []
    for service in compose["services"].values():
        command = service.get("command")
        if isinstance(command, str):
            command = shlex.split(command)
        if command and command[0] == "weir":
            commands.append(command)
            parser.parse_args(command[1:])  # exits with an error on an unknown command or flag
    names = {command[1] for command in commands}
    assert {"serve", "worker", "scheduler", "migrate"} <= names
    assert {"postgres", "redis", "api", "worker", "scheduler"} <= set(compose["services"])
