"""The built-in key-value store (server/actions/kv.py) and the kv_store actions over it, on
SQLite and Postgres: scoping, expiry, limits, and writes that race."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import jsonschema
import pytest

from server import ids
from server.actions import kv
from server.actions.kv import scoped_store
from server.actions.models import KeyValueEntry
from server.config import Settings
from server.connections.deletion import delete_end_user
from server.connectors.base import ActionInputError, ConnectorContext
from server.connectors.builtins import kv_store
from server.errors import Conflict
from server.orgs.models import EndUser, Organization, Workspace
from server.scope import Scope


class Clock:
    """A clock the test moves by hand (TTLs without sleeping)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Tenant:
    organization_id: str
    workspace_id: str
    other_workspace_id: str
    end_user_id: str
    other_end_user_id: str
    clock: Clock

    def store(self, *, workspace_id: str | None = None, end_user_id: str | None = None) -> Any:
        return scoped_store(
            organization_id=self.organization_id,
            workspace_id=workspace_id or self.workspace_id,
            end_user_id=end_user_id,
            clock=self.clock,
        )


async def make_tenant(name: str) -> Tenant:
    organization = await Organization.create(id=ids.new_id("organization"), name=name)
    workspace = await Workspace.create(id=ids.new_id("workspace"), organization=organization, name="prod")
    other = await Workspace.create(id=ids.new_id("workspace"), organization=organization, name="staging")
    users = [
        await EndUser.create(
            id=ids.new_id("end_user"), organization=organization, workspace=workspace, external_id=external
        )
        for external in ("customer-1", "customer-2")
    ]
    return Tenant(organization.id, workspace.id, other.id, users[0].id, users[1].id, Clock())


@pytest.fixture
async def acme(database: Settings) -> Tenant:
    return await make_tenant("Acme")


@pytest.fixture
async def globex(database: Settings) -> Tenant:
    return await make_tenant("Globex")


async def run(store: Any, action: str, input: dict[str, Any]) -> Any:
    """A kv_store action as executeAction runs it: input checked against its schema first,
    output checked against its schema after."""
    spec = kv_store.SPEC.action(action)
    assert spec is not None
    jsonschema.Draft202012Validator(spec.input_schema).validate(input)
    output = await kv_store.run_action(context(store), action, input)
    jsonschema.Draft202012Validator(spec.output_schema).validate(output)
    return output


def context(store: Any) -> ConnectorContext:
    # The built-ins make no HTTP call: no client to open.
    return ConnectorContext(http=cast(httpx.AsyncClient, None), base_url=None, caller="action", store=store)


def schema_refuses(action: str, input: dict[str, Any]) -> bool:
    spec = kv_store.SPEC.action(action)
    assert spec is not None
    return not jsonschema.Draft202012Validator(spec.input_schema).is_valid(input)


# -- the store -------------------------------------------------------------------------------


async def test_put_get_delete_round_trip_any_json(acme):
    store = acme.store()
    for value in ({"a": [1, 2.5, True, "é"]}, [None, {}], "text", 0, False):
        await store.put("k", value)
        assert await store.get("k") == value
    assert await store.delete("k") is True
    assert await store.get("k") is None
    assert await store.delete("k") is False


async def test_a_put_replaces_the_value_and_its_expiry(acme):
    store = acme.store()
    await store.put("k", 1, ttl_seconds=10)
    await store.put("k", 2)  # no ttl now: it no longer expires
    acme.clock.advance(3600)
    assert await store.get("k") == 2
    assert await KeyValueEntry.filter(key="k").count() == 1


async def test_workspace_and_each_end_user_see_only_their_own_keys(acme):
    workspace, user, other_user = (
        acme.store(),
        acme.store(end_user_id=acme.end_user_id),
        acme.store(end_user_id=acme.other_end_user_id),
    )
    await workspace.put("plan", "workspace")
    await user.put("plan", "user-1")
    assert await workspace.get("plan") == "workspace"
    assert await user.get("plan") == "user-1"
    assert await other_user.get("plan") is None
    assert await other_user.list_keys("", 10) == []
    assert await other_user.delete("plan") is False
    assert await workspace.get("plan") == "workspace"  # untouched by the other end user's delete
    row = await KeyValueEntry.get(key="plan", end_user_id="")
    assert row.workspace_id == acme.workspace_id  # the workspace's own keys: end user ""


async def test_another_workspace_or_organization_sees_nothing(acme, globex):
    await acme.store().put("secret", {"token": "abc"})
    assert await acme.store(workspace_id=acme.other_workspace_id).get("secret") is None
    assert await globex.store().get("secret") is None
    assert await globex.store().list_keys("", 10) == []
    # Even a store made with Acme's workspace id under Globex's organization finds nothing.
    crossed = scoped_store(
        organization_id=globex.organization_id, workspace_id=acme.workspace_id, end_user_id=None
    )
    assert await crossed.get("secret") is None
    assert await crossed.delete("secret") is False
    assert await acme.store().get("secret") == {"token": "abc"}


async def test_an_expired_key_reads_as_absent_everywhere(acme):
    store = acme.store()
    await store.put("session", "s1", ttl_seconds=60)
    await store.put("forever", "f")
    acme.clock.advance(59)
    assert await store.get("session") == "s1"
    acme.clock.advance(1)  # expires_at is exclusive: at 60 s it is gone
    assert await store.get("session") is None
    assert await store.list_keys("", 10) == ["forever"]
    assert await store.delete("session") is False
    assert await store.increment("session") == 1  # counts from 0 again, without the old expiry
    acme.clock.advance(10**6)
    assert await store.get("session") == 1


async def test_list_keys_is_case_sensitive_in_order_and_pages(acme):
    store = acme.store()
    for key in ("user:2", "user:1", "User:3", "user_%x", "userX", "other", "user:10"):
        await store.put(key, True)
    assert await store.list_keys("user:", 10) == ["user:1", "user:10", "user:2"]
    # % and _ are characters, not wildcards.
    assert await store.list_keys("user_", 10) == ["user_%x"]
    assert await store.list_keys("user_%", 10) == ["user_%x"]
    assert await store.list_keys("User", 10) == ["User:3"]
    first = await store.list_keys("user:", 2)
    assert first == ["user:1", "user:10"]
    assert await store.list_keys("user:", 2, after=first[-1]) == ["user:2"]
    assert len(await store.list_keys("", 1000)) == 7


async def test_increment_counts_from_zero_and_refuses_a_non_integer(acme):
    store = acme.store()
    assert await store.increment("hits") == 1
    assert await store.increment("hits", 41) == 42
    assert await store.increment("hits", -50) == -8
    await store.put("name", "Ada")
    with pytest.raises(ActionInputError) as refused:
        await store.increment("name")
    assert refused.value.path == "key"
    await store.put("flag", True)  # a boolean is not a number here, whatever Python thinks
    with pytest.raises(ActionInputError):
        await store.increment("flag")
    await store.put("big", kv_store.MAX_SAFE_INTEGER - 1)
    assert await store.increment("big") == kv_store.MAX_SAFE_INTEGER
    with pytest.raises(ActionInputError) as overflow:
        await store.increment("big")
    assert overflow.value.path == "by"
    assert await store.get("big") == kv_store.MAX_SAFE_INTEGER


async def test_increment_with_ttl_sets_a_new_expiry_and_without_keeps_it(acme):
    store = acme.store()
    await store.increment("rate", ttl_seconds=60)
    acme.clock.advance(30)
    assert await store.increment("rate") == 2  # keeps the 60 s window
    acme.clock.advance(30)
    assert await store.get("rate") is None
    await store.increment("rate", ttl_seconds=60)
    acme.clock.advance(50)
    await store.increment("rate", ttl_seconds=60)  # a new expiry: 60 s from now
    acme.clock.advance(50)
    assert await store.get("rate") == 2


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.put("", 1), "key"),
        (lambda s: s.put("k" * 256, 1), "key"),
        (lambda s: s.put("a\x00b", 1), "key"),
        (lambda s: s.put("line\nbreak", 1), "key"),
        (lambda s: s.get("\ud800"), "key"),
        (lambda s: s.put("k", None), "value"),
        (lambda s: s.put("k", "x" * (64 * 1024)), "value"),  # 64 KB of text plus its quotes
        (lambda s: s.put("k", {"text": "nul\x00"}), "value"),
        (lambda s: s.put("k", {"\x00": 1}), "value"),
        (lambda s: s.put("k", ["\udc00"]), "value"),
        (lambda s: s.put("k", float("nan")), "value"),
        (lambda s: s.put("k", {"a": object()}), "value"),
        (lambda s: s.put("k", 1, ttl_seconds=0), "ttl_seconds"),
        (lambda s: s.put("k", 1, ttl_seconds=kv_store.MAX_TTL_SECONDS + 1), "ttl_seconds"),
        (lambda s: s.increment("k", True), "by"),
        (lambda s: s.increment("k", 2**53), "by"),
        (lambda s: s.list_keys("", 0), "limit"),
        (lambda s: s.list_keys("", 1002), "limit"),
        (lambda s: s.list_keys("p\x01", 10), "prefix"),
        (lambda s: s.list_keys("", 10, after=""), "after"),
    ],
)
async def test_bad_input_is_refused_with_its_field(acme, call, field):
    with pytest.raises(ActionInputError) as refused:
        await call(acme.store())
    assert refused.value.path == field
    assert await KeyValueEntry.all().count() == 0


async def test_values_up_to_64_kb_and_nesting_up_to_the_limit_are_kept(acme):
    store = acme.store()
    largest = "x" * (kv_store.MAX_VALUE_BYTES - 2)  # with its two quotes: exactly 64 KB
    await store.put("large", largest)
    assert await store.get("large") == largest
    nested: Any = 1
    for _ in range(kv.MAX_DEPTH - 1):
        nested = [nested]
    await store.put("deep", nested)
    with pytest.raises(ActionInputError):
        await store.put("deeper", [nested])


async def test_a_workspace_holds_at_most_its_key_limit(acme, monkeypatch):
    assert kv_store.MAX_KEYS_PER_WORKSPACE == 10_000
    monkeypatch.setattr(kv, "MAX_KEYS_PER_WORKSPACE", 3)
    workspace, user = acme.store(), acme.store(end_user_id=acme.end_user_id)
    await workspace.put("a", 1)
    await user.put("b", 1)  # an end user's keys count toward their workspace's limit
    await workspace.put("c", 1, ttl_seconds=10)
    with pytest.raises(Conflict) as full:
        await user.put("d", 1)
    assert "10,000" not in full.value.message and "3 keys" in full.value.message
    with pytest.raises(Conflict):
        await workspace.increment("e")
    await workspace.put("a", 2)  # replacing a key needs no room
    assert await workspace.increment("a") == 3
    # Another workspace of the organization has its own limit.
    await acme.store(workspace_id=acme.other_workspace_id).put("d", 1)
    acme.clock.advance(10)  # "c" expires, which frees its place
    await user.put("d", 1)
    assert sorted(
        await KeyValueEntry.filter(workspace_id=acme.workspace_id).values_list("key", flat=True)
    ) == [
        "a",
        "b",
        "d",
    ]


async def test_a_deleted_end_users_keys_stop_counting_and_are_removed(acme, monkeypatch):
    monkeypatch.setattr(kv, "MAX_KEYS_PER_WORKSPACE", 2)
    user = acme.store(end_user_id=acme.end_user_id)
    await user.put("a", 1)
    await user.put("b", 1)
    await delete_end_user(scope=Scope(organization_id=acme.organization_id), end_user_id=acme.end_user_id)
    await acme.store().put("c", 1)
    assert await KeyValueEntry.filter(end_user_id=acme.end_user_id).count() == 0


async def test_concurrent_puts_of_a_new_key_leave_one_entry(acme):
    """Every racing put succeeds; the unique key on the scope leaves one row with one of the
    values (a losing create becomes an update)."""
    stores = [acme.store() for _ in range(8)]
    await asyncio.gather(*(store.put("race", index) for index, store in enumerate(stores)))
    rows = await KeyValueEntry.filter(key="race")
    assert len(rows) == 1 and await stores[0].get("race") in range(8)


async def test_a_put_that_loses_the_race_to_create_replaces_the_winners_value(acme):
    """The race made certain: another put adds the key between this put's look-up (absent)
    and its insert; the unique key refuses the insert and the put becomes an update."""
    store, rival = acme.store(), acme.store()
    add = store._add

    async def add_after_the_rival(*args: Any) -> None:
        if not await rival.get("race"):
            await rival.put("race", "rival")
        await add(*args)

    store._add = add_after_the_rival  # type: ignore[method-assign]
    await store.put("race", "mine")
    assert await rival.get("race") == "mine"
    assert await KeyValueEntry.filter(key="race").count() == 1


async def test_an_increment_that_loses_the_race_to_create_adds_to_the_winners_value(acme):
    store, rival = acme.store(), acme.store()
    add = store._add

    async def add_after_the_rival(*args: Any) -> None:
        if await rival.get("hits") is None:
            await rival.increment("hits", 5)
        await add(*args)

    store._add = add_after_the_rival  # type: ignore[method-assign]
    assert await store.increment("hits") == 6


async def test_concurrent_increments_lose_no_update(acme):
    stores = [acme.store(end_user_id=acme.end_user_id) for _ in range(12)]
    results = await asyncio.gather(*(store.increment("counter") for store in stores))
    assert sorted(results) == list(range(1, 13))
    assert await stores[0].get("counter") == 12


async def test_racing_puts_cannot_pass_the_key_limit(acme, monkeypatch):
    monkeypatch.setattr(kv, "MAX_KEYS_PER_WORKSPACE", 3)
    outcomes = await asyncio.gather(
        *(acme.store().put(f"key-{index}", index) for index in range(6)), return_exceptions=True
    )
    assert sum(1 for outcome in outcomes if outcome is None) == 3
    assert all(isinstance(outcome, Conflict) for outcome in outcomes if outcome is not None)
    assert await KeyValueEntry.filter(workspace_id=acme.workspace_id).count() == 3


def test_a_store_needs_an_organization_and_a_workspace():
    with pytest.raises(ValueError):
        scoped_store(organization_id="", workspace_id="ws_1", end_user_id=None)
    with pytest.raises(ValueError):
        scoped_store(organization_id="or_1", workspace_id="", end_user_id="eu_1")


# -- the kv_store actions --------------------------------------------------------------------


async def test_kv_store_actions_round_trip(acme):
    store = acme.store(end_user_id=acme.end_user_id)
    assert await run(store, "get", {"key": "prefs"}) == {"key": "prefs", "found": False, "value": None}
    assert await run(store, "put", {"key": "prefs", "value": {"theme": "dark"}, "ttl_seconds": 60}) == {
        "key": "prefs",
        "ttl_seconds": 60,
    }
    assert await run(store, "put", {"key": "empty", "value": ""}) == {"key": "empty", "ttl_seconds": None}
    assert await run(store, "get", {"key": "prefs"}) == {
        "key": "prefs",
        "found": True,
        "value": {"theme": "dark"},
    }
    assert await run(store, "increment", {"key": "visits"}) == {"key": "visits", "value": 1}
    assert await run(store, "increment", {"key": "visits", "by": 9}) == {"key": "visits", "value": 10}
    assert await run(store, "delete", {"key": "empty"}) == {"key": "empty", "deleted": True}
    assert await run(store, "delete", {"key": "empty"}) == {"key": "empty", "deleted": False}


async def test_list_keys_action_pages_with_next_after(acme):
    store = acme.store()
    for index in range(5):
        await store.put(f"job:{index}", index)
    await store.put("other", 0)
    first = await run(store, "list_keys", {"prefix": "job:", "limit": 2})
    assert first == {"keys": ["job:0", "job:1"], "next_after": "job:1"}
    second = await run(store, "list_keys", {"prefix": "job:", "limit": 2, "after": "job:1"})
    assert second == {"keys": ["job:2", "job:3"], "next_after": "job:3"}
    last = await run(store, "list_keys", {"prefix": "job:", "limit": 2, "after": "job:3"})
    assert last == {"keys": ["job:4"], "next_after": None}
    assert (await run(store, "list_keys", {}))["keys"] == [
        "job:0",
        "job:1",
        "job:2",
        "job:3",
        "job:4",
        "other",
    ]
    exactly = await run(store, "list_keys", {"prefix": "job:", "limit": 5})
    assert exactly["next_after"] is None


@pytest.mark.parametrize(
    ("action", "input"),
    [
        ("get", {}),
        ("get", {"key": ""}),
        ("get", {"key": "k" * 256}),
        ("get", {"key": "tab\there"}),
        ("get", {"key": "k", "extra": 1}),
        ("put", {"key": "k"}),
        ("put", {"key": "k", "value": None}),
        ("put", {"key": "k", "value": 1, "ttl_seconds": 0}),
        ("put", {"key": "k", "value": 1, "ttl_seconds": 1.5}),
        ("list_keys", {"limit": 1001}),
        ("list_keys", {"limit": 0}),
        ("increment", {"key": "k", "by": 0.5}),
        ("increment", {"key": "k", "by": 2**53}),
    ],
)
def test_the_schemas_refuse_bad_input(action, input):
    assert schema_refuses(action, input)


async def test_the_actions_need_the_store_executeaction_gives_them():
    with pytest.raises(RuntimeError):
        await kv_store.run_action(context(None), "get", {"key": "k"})
