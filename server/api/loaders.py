"""Per-request DataLoaders, so a list of N items with a relation costs two queries, not N+1."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from server.connections import service as connections
from server.connections.models import Connection
from server.orgs import service as orgs
from server.orgs.models import EndUser, Workspace
from server.scope import Scope
from server.syncs import service as syncs
from server.syncs.models import SourceStream


class Loaders:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.workspace: DataLoader[str, Workspace | None] = DataLoader(load_fn=self._workspaces)
        self.end_user: DataLoader[str, EndUser | None] = DataLoader(load_fn=self._end_users)
        self.connection: DataLoader[str, Connection | None] = DataLoader(
            load_fn=self._connections
        )
        self.sync_streams: DataLoader[str, list[SourceStream]] = DataLoader(
            load_fn=self._sync_streams
        )

    async def _workspaces(self, keys: list[str]) -> list[Workspace | None]:
        found = await orgs.get_workspaces_by_ids(scope=self.scope, workspace_ids=list(set(keys)))
        return [found.get(key) for key in keys]

    async def _end_users(self, keys: list[str]) -> list[EndUser | None]:
        found = await orgs.get_end_users_by_ids(scope=self.scope, end_user_ids=list(set(keys)))
        return [found.get(key) for key in keys]

    async def _connections(self, keys: list[str]) -> list[Connection | None]:
        found = await connections.get_connections_by_ids(
            scope=self.scope, connection_ids=list(set(keys))
        )
        return [found.get(key) for key in keys]

    async def _sync_streams(self, keys: list[str]) -> list[list[SourceStream]]:
        found = await syncs.streams_of_syncs(scope=self.scope, sync_ids=list(set(keys)))
        return [found.get(key, []) for key in keys]
