"""Per-request DataLoaders, so a list of N items with a relation costs two queries, not N+1."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from server.connections import service as connections
from server.connections.models import Connection
from server.orgs import service as orgs
from server.orgs.models import EndUser, Workspace
from server.scope import Scope


class Loaders:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.workspace: DataLoader[str, Workspace | None] = DataLoader(load_fn=self._workspaces)
        self.end_user: DataLoader[str, EndUser | None] = DataLoader(load_fn=self._end_users)
        self.connection: DataLoader[str, Connection | None] = DataLoader(
            load_fn=self._connections
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
