"""Key rotation reaches the hash salts inside sync settings: after rotating and dropping the old
key, a sync with hashed columns still runs and hashes exactly as before."""

from __future__ import annotations

from typing import Any

from server import vault
from server.config import Secret
from server.crypto import generate_key_spec, parse_key_ring
from server.events import InMemoryEventBus
from server.scope import Scope
from server.syncs.hashing import hash_salt
from server.syncs.models import EltSync
from server.syncs.runner import RunEnvironment
from server.syncs.service import StreamChoice
from tests.syncs.conftest import make_sync, run_once, table

OLD = generate_key_spec("old")
NEW = generate_key_spec("new")


def _environment(env: RunEnvironment, spec: str) -> RunEnvironment:
    return RunEnvironment(
        settings=env.settings.replace(encryption_keys=Secret(spec)),
        key_ring=parse_key_ring(spec),
        bus=InMemoryEventBus(),
    )


async def test_a_hashed_column_sync_hashes_identically_after_rotation_and_dropping_the_old_key(
    env: RunEnvironment, scope: Scope
) -> None:
    before = _environment(env, OLD)
    sync = await make_sync(
        before,
        scope,
        settings={"contacts": 6},
        streams=[StreamChoice(name="contacts", sync_mode="FULL_REFRESH", hashed_columns=["email"])],
    )
    assert (await run_once(before, scope, sync)).status == "SUCCEEDED"
    hashed_before = {row["id"]: row["email"] for row in await table(before, "contacts", sync)}
    salt = hash_salt(key_ring=before.key_ring, sync=await EltSync.get(id=sync.id))

    counts = await vault.rotate_all(key_ring=parse_key_ring(f"{NEW},{OLD}"), batch_size=1)

    assert counts.rotated >= 1 and counts.remaining == 0
    after = _environment(env, NEW)  # the old key is gone
    await vault.verify_key_ring(key_ring=after.key_ring)
    stored = await EltSync.get(id=sync.id)
    assert hash_salt(key_ring=after.key_ring, sync=stored) == salt
    run = await run_once(after, scope, stored, full_refresh=True)
    assert run.status == "SUCCEEDED", run.error
    hashed_after = {row["id"]: row["email"] for row in await table(after, "contacts", stored)}
    assert hashed_after == hashed_before and len(hashed_after) == 6


async def test_start_up_verification_reads_sync_salts(env: RunEnvironment, scope: Scope) -> None:
    import pytest

    from server.config import ConfigError

    before = _environment(env, OLD)
    await make_sync(
        before,
        scope,
        settings={"contacts": 1},
        streams=[StreamChoice(name="contacts", sync_mode="FULL_REFRESH", hashed_columns=["email"])],
    )

    with pytest.raises(ConfigError, match=r"elt_syncs\.settings\.__weir_hash_salt.*'old'"):
        await vault.verify_key_ring(key_ring=parse_key_ring(NEW))
    impostor = parse_key_ring(generate_key_spec("old"))
    with pytest.raises(ConfigError, match="key material is wrong"):
        await vault.verify_key_ring(key_ring=impostor)


async def test_rotation_leaves_a_salt_rewritten_meanwhile_alone(env: RunEnvironment, scope: Scope) -> None:
    before = _environment(env, OLD)
    sync = await make_sync(
        before,
        scope,
        settings={"contacts": 1},
        streams=[StreamChoice(name="contacts", sync_mode="FULL_REFRESH", hashed_columns=["email"])],
    )
    salts = [value for value in vault.ENCRYPTED if value.member is not None]
    stale = [(sync.id, (await EltSync.get(id=sync.id)).settings["__weir_hash_salt"])]
    both = parse_key_ring(f"{NEW},{OLD}")
    fresh = both.encrypt(b"another salt", associated_data=f"{sync.id}:hash-salt")
    stored = await EltSync.get(id=sync.id)
    await EltSync.filter(id=sync.id).update(settings={**stored.settings, "__weir_hash_salt": fresh})

    assert await vault._rotate_batch(salts[0], stale, both) == (0, 1)

    assert (await EltSync.get(id=sync.id)).settings == {"contacts": 1, "__weir_hash_salt": fresh}


async def test_updating_a_sync_during_rotation_keeps_the_rotated_salt(
    env: RunEnvironment, scope: Scope, monkeypatch: Any
) -> None:
    from server.syncs import service
    from server.syncs.service import SyncChanges

    before = _environment(env, OLD)
    sync = await make_sync(
        before,
        scope,
        settings={"contacts": 1},
        streams=[StreamChoice(name="contacts", sync_mode="FULL_REFRESH", hashed_columns=["email"])],
    )
    read_before_rotation = await EltSync.get(id=sync.id)
    await vault.rotate_all(key_ring=parse_key_ring(f"{NEW},{OLD}"))

    # The update read the sync before the rotation; its save must not restore the old salt.
    async def stale_read(**kwargs: Any) -> EltSync:
        return read_before_rotation

    monkeypatch.setattr(service, "get_sync", stale_read)
    await service.update_sync(
        scope=scope,
        settings=env.settings,
        bus=None,
        sync_id=sync.id,
        changes=SyncChanges(settings={"contacts": 2}, sync_interval="30 * * * *"),
    )

    assert await vault.count_not_current(key_ring=parse_key_ring(NEW)) == 0
    stored = await EltSync.get(id=sync.id)
    assert (stored.settings["contacts"], stored.sync_interval) == (2, "30 * * * *")
