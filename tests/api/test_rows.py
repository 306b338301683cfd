"""Rows (server/rows.py) hold exactly what the models hold, on both databases, and
``RowReader.select`` filters like the querysets it replaces."""

from __future__ import annotations

import dataclasses
import pkgutil
from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any

import pytest
from tortoise import fields
from tortoise.models import Model

import server
from server import ids
from server.models import OrganizationOwned, Timestamped
from server.orgs import rows
from server.orgs.models import ApiKey, EndUser, Organization, Workspace
from server.rows import RowReader, row_class


def assert_same(reader: RowReader[Any], found: list[Any], models: list[Model]) -> None:
    assert [row.id for row in found] == [model.pk for model in models]
    for row, model in zip(found, models, strict=True):
        for name in reader.names:
            value, expected = getattr(row, name), getattr(model, name)
            assert value == expected, (name, value, expected)
            assert type(value) is type(expected), (name, value, expected)
            if isinstance(expected, datetime):
                # Equal instants may still differ in zone; the API prints them.
                assert value.isoformat() == expected.isoformat(), name
                assert value.tzinfo == expected.tzinfo, name


async def seed() -> tuple[Organization, Workspace, Workspace]:
    organization = await Organization.create(id=ids.new_id("organization"), name="Rows")
    plain = await Workspace.create(id=ids.new_id("workspace"), organization=organization, name="plain")
    branded = await Workspace.create(
        id=ids.new_id("workspace"),
        organization=organization,
        name="branded",
        display_name="Branded",
        logo_url="https://logo.test/a.png",
        primary_color="#ff6600",
        theme="DARK",
        allowed_origins=["https://app.test", "https://b.test"],
        allowed_redirect_uris=["https://app.test/done"],
        warehouse_url_encrypted="sealed",
    )
    for n in range(5):
        await EndUser.create(
            id=ids.new_id("end_user"),
            organization=organization,
            workspace=branded if n % 2 else plain,
            external_id=f"user-{n}",
            display_name=f"User {n}" if n % 3 else None,
            email=f"user{n}@example.test" if n % 2 else None,
        )
    await ApiKey.create(
        id=ids.new_id("api_key"),
        organization=organization,
        name="all",
        prefix="weir_sk_aaaaaa",
        secret_hash=ids.new_id("api_key").ljust(64, "a"),
    )
    await ApiKey.create(
        id=ids.new_id("api_key"),
        organization=organization,
        workspace=branded,
        name="restricted",
        prefix="weir_sk_bbbbbb",
        secret_hash=ids.new_id("api_key").ljust(64, "b"),
        last_used_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        revoked_at=datetime.now(UTC) - timedelta(days=1),
    )
    return organization, plain, branded


async def test_rows_hold_what_models_hold(database) -> None:
    organization, _, _ = await seed()
    where = [("organization_id", organization.id)]
    for reader, model in ((rows.workspaces, Workspace), (rows.end_users, EndUser), (rows.api_keys, ApiKey)):
        expected = await model.filter(organization_id=organization.id).order_by("id")
        assert_same(reader, await reader.select(where), expected)


async def test_select_filters_like_a_queryset(database) -> None:
    organization, plain, branded = await seed()
    await seed()  # another organization's rows must never show up
    users = await EndUser.filter(organization_id=organization.id).order_by("id")
    org = ("organization_id", organization.id)

    found = await rows.end_users.select([org, ("workspace_id", branded.id)])
    assert_same(rows.end_users, found, [u for u in users if u.workspace_id == branded.id])

    found = await rows.end_users.select([org], after_id=users[1].id, limit=2)
    assert_same(rows.end_users, found, users[2:4])

    wanted = [users[4].id, users[0].id, "eu_missing"]
    found = await rows.end_users.select([org], ids=wanted)
    assert_same(rows.end_users, found, [users[0], users[4]])

    # Conditions on one field all hold, as chained filters do: none match both workspaces.
    assert await rows.end_users.select([org, ("workspace_id", plain.id), ("workspace_id", branded.id)]) == []
    assert await rows.end_users.select([org], ids=[]) == []
    assert await rows.end_users.select([("organization_id", "org_other")]) == []


def every_reader() -> list[RowReader[Any]]:
    """Every ``RowReader`` of a ``rows`` module anywhere under ``server``."""
    readers = []
    for module in pkgutil.walk_packages(server.__path__, "server."):
        if module.name.rsplit(".", 1)[-1] == "rows":
            readers += [
                value for value in vars(import_module(module.name)).values() if isinstance(value, RowReader)
            ]
    return readers


async def test_rows_hold_every_column_of_their_model_but_those_left_out(database) -> None:
    readers = every_reader()
    assert {reader.model for reader in readers} >= {Workspace, EndUser, ApiKey}
    for reader in readers:
        # Once Tortoise has linked the models, this map holds every column, foreign keys too.
        columns = set(reader.model._meta.fields_db_projection)
        assert set(reader.names) == columns - reader.leave_out, reader.model
        assert reader.leave_out <= columns, reader.model
    assert "secret_hash" not in rows.api_keys.names


def test_a_field_added_to_a_model_is_in_its_rows() -> None:
    class Gadget(OrganizationOwned, Timestamped):
        id = fields.CharField(max_length=32, primary_key=True)
        workspace = fields.ForeignKeyField("weir.Workspace", related_name=False)
        colour = fields.CharField(max_length=16)
        secret = fields.TextField()

        class Meta:
            table = "gadgets"

    names = [field.name for field in dataclasses.fields(row_class(Gadget, leave_out={"secret"}))]
    assert names[0] == "id"
    assert sorted(names) == ["colour", "created_at", "id", "organization_id", "updated_at", "workspace_id"]
    with pytest.raises(ValueError, match="colur"):
        row_class(Gadget, leave_out={"colur"})
