"""What Weir's tables have in common: an owning organization, and when a row was written.

The domain models (``server/*/models.py``) inherit these abstract bases instead of repeating
the fields. They change no column: the migrations in ``server/migrations/`` describe the same
tables, and tests/unit/test_cli.py fails when the models and the migrations part ways.

Tortoise hands the *same* field object to every model that inherits it (fine for plain
columns, whose field objects hold no per-model state); a foreign key holds its model and its
reverse relation, so ``OrganizationOwned`` gives each model its own copy.
"""

from __future__ import annotations

from copy import copy
from typing import Any

from tortoise import fields
from tortoise.models import Model


class Created(Model):
    """A row that records when it was created."""

    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        abstract = True


class Timestamped(Created):
    """A row that records when it was created and when it last changed."""

    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True


class OrganizationOwned(Model):
    """A row of one tenant: deleting the organization deletes it.

    The organization's reverse relation is named after the table (``organization.connections``
    for the ``connections`` table), as every model named it by hand before.
    """

    # The foreign key's column, which Tortoise sets on every instance (typed for mypy only).
    organization_id: str
    organization: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "weir.Organization", on_delete=fields.CASCADE
    )

    class Meta:
        abstract = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        meta = cls._meta
        if meta.abstract:
            return
        owner: Any = copy(meta.fields_map["organization"])
        owner.related_name = meta.db_table
        meta.fields_map["organization"] = owner
