"""Files at rest: a tenant's SQLite warehouse stays in its directory of the data directory, and
the data directory is 0700 with every file Weir creates in it 0600, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from server import ids
from server.config import Settings
from server.crypto import load_key_ring
from server.db import close_database, migrate, open_database
from server.events import InMemoryEventBus
from server.orgs import warehouse
from server.orgs.models import Organization, Workspace
from server.scope import Scope
from server.syncs.runner import RunEnvironment
from server.syncs.service import StreamChoice
from tests.syncs.conftest import make_sync, run_once

CONTACTS = [StreamChoice(name="contacts", sync_mode="INCREMENTAL")]


async def set_warehouse(env: RunEnvironment, scope: Scope, url: str) -> None:
    """Store a URL as it is (as one set before names were required would be)."""
    sealed = warehouse.seal(key_ring=env.key_ring, workspace_id=scope.workspace_id or "", url=url)
    await Workspace.filter(id=scope.workspace_id).update(warehouse_url_encrypted=sealed)


async def test_a_symlink_out_of_the_workspace_directory_is_refused_at_run_time(
    env: RunEnvironment, scope: Scope, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.db"
    directory = env.settings.data_dir / "warehouses" / (scope.workspace_id or "")
    directory.mkdir(parents=True)
    (directory / "acme.db").symlink_to(outside)
    await set_warehouse(env, scope, "sqlite://acme.db")
    sync = await make_sync(env, scope, settings={"contacts": 3}, streams=CONTACTS)

    run = await run_once(env, scope, sync)

    assert run.status == "FAILED" and "outside Weir's data directory" in (run.error or "")
    assert not outside.exists()


async def test_a_stored_sqlite_path_is_refused_at_run_time(
    env: RunEnvironment, scope: Scope, tmp_path: Path
) -> None:
    target = tmp_path / "anywhere.db"
    await set_warehouse(env, scope, f"sqlite://{target}")
    sync = await make_sync(env, scope, settings={"contacts": 3}, streams=CONTACTS)

    run = await run_once(env, scope, sync)

    assert run.status == "FAILED" and "set it again as a name" in (run.error or "")
    assert str(target) not in (run.error or "") and not target.exists()


async def test_a_stored_postgres_url_naming_a_file_is_refused_at_run_time(
    env: RunEnvironment, scope: Scope
) -> None:
    await set_warehouse(
        env, scope, "postgres://loader:hunter2@127.0.0.1:1/analytics?sslkey=/etc/ssl/private/weir.key"
    )
    sync = await make_sync(env, scope, settings={"contacts": 3}, streams=CONTACTS)

    run = await run_once(env, scope, sync)

    assert run.status == "FAILED" and "sslkey" in (run.error or "")
    assert "hunter2" not in (run.error or "")


def modes(root: Path) -> dict[str, str]:
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


async def test_the_data_directory_is_private_whatever_the_umask(tmp_path: Path) -> None:
    from server.worker.broker import install_broker

    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # as an older Weir (or a careless operator) left it
    settings = Settings(data_dir=data)  # the embedded default: everything in the data dir
    previous = os.umask(0)
    try:
        env = RunEnvironment(settings=settings, key_ring=load_key_ring(settings), bus=InMemoryEventBus())
        await migrate(settings)
        install_broker(settings)
        ctx = await open_database(settings)
        try:
            organization = await Organization.create(id=ids.new_id("organization"), name="A")
            workspace = await Workspace.create(
                id=ids.new_id("workspace"), organization=organization, name="default"
            )
            shared = Scope(organization_id=organization.id, workspace_id=workspace.id)
            sync = await make_sync(env, shared, settings={"contacts": 3}, streams=CONTACTS)
            assert (await run_once(env, shared, sync)).status == "SUCCEEDED"
            own = await Workspace.create(id=ids.new_id("workspace"), organization=organization, name="own")
            scope = Scope(organization_id=organization.id, workspace_id=own.id)
            await set_warehouse(env, scope, "sqlite://analytics.db")
            mine = await make_sync(env, scope, settings={"contacts": 3}, streams=CONTACTS)
            assert (await run_once(env, scope, mine)).status == "SUCCEEDED"
            found: dict[str, Any] = modes(data)  # while the database is open: -wal, -shm
        finally:
            await close_database(ctx)
    finally:
        os.umask(previous)

    expected_files = {
        "weir.db",
        "weir.db-wal",
        "weir.db-shm",
        "encryption.key",
        "warehouse.db",
        f"warehouses/{own.id}/analytics.db",
    }
    assert expected_files <= found.keys(), found
    directories = {name for name in found if (data / name).is_dir()}
    assert {".", "warehouses", f"warehouses/{own.id}"} <= directories
    assert {name: mode for name, mode in found.items() if name in directories} == dict.fromkeys(
        directories, "0o700"
    )
    assert {name: mode for name, mode in found.items() if name not in directories} == {
        name: "0o600" for name in found if name not in directories
    }
