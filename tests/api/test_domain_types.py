"""GraphQL enums and objects made from the domain (server/api/domain.py) follow it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.api.connections import ConnectionScope, ConnectionStatus
from server.api.domain import domain_enum, from_row
from server.api.org_types import EndUser
from server.api.sync_types import SchemaChangePolicy, SyncRunStatus
from server.api.webhooks import WebhookDeliveryStatus, WebhookEventType
from server.api.workspace_integrations import ConnectionStrategy
from server.connections import service as connections
from server.connections import status as connection_status
from server.destinations.base import POLICIES
from server.integrations.service import STRATEGIES
from server.orgs.rows import EndUserRow
from server.syncs import transitions
from server.webhooks.payloads import EVENT_TYPES
from server.webhooks.service import DELIVERY_STATUSES


def test_enums_hold_exactly_the_domain_values_in_order() -> None:
    for enum, values in (
        (SyncRunStatus, transitions.STATUSES),
        (SchemaChangePolicy, POLICIES),
        (ConnectionScope, connections.SCOPES),
        (ConnectionStatus, connection_status.STATUSES),
        (ConnectionStrategy, STRATEGIES),
        (WebhookDeliveryStatus, DELIVERY_STATUSES),
        (WebhookEventType, EVENT_TYPES),
    ):
        assert tuple(member.value for member in enum) == tuple(values), enum


def test_a_domain_value_without_its_description_fails_at_import() -> None:
    with pytest.raises(ValueError, match="must describe exactly"):
        domain_enum("Colour", ("RED", "GREEN"), description="A colour.", described={"RED": "Like a tomato."})


def test_a_graphql_object_copies_what_it_is_not_given_from_the_row() -> None:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    row = EndUserRow(
        id="eu_1",
        organization_id="org_1",
        created_at=when,
        workspace_id="ws_1",
        external_id="user-1",
        display_name="Ada",
        email=None,
    )
    user = from_row(EndUser, row, email="given@example.test")
    assert (user.id, user.external_id, user.display_name, user.email, user.created_at, user.workspace_id) == (
        "eu_1",
        "user-1",
        "Ada",
        "given@example.test",
        when,
        "ws_1",
    )
