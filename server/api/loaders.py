"""Per-request DataLoaders of GraphQL nodes: a list of N items with a relation costs two queries,
not N+1, and an object many items share (their workspace) becomes a node once, not N times."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.dataloader import DataLoader

from server.api.connections import ConnectionNode
from server.api.org_types import EndUser, Workspace
from server.api.sync_types import SourceStream, SyncRun
from server.connections import service as connections
from server.orgs import service as orgs
from server.scope import Scope
from server.syncs import runs as sync_runs
from server.syncs import service as syncs


class Loaders:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.workspace: DataLoader[str, Workspace | None] = DataLoader(load_fn=self._workspaces)
        # Workspaces already loaded, by id: a page's items read theirs without a future each.
        self.workspaces: dict[str, Workspace | None] = {}
        self.end_user: DataLoader[str, EndUser | None] = DataLoader(load_fn=self._end_users)
        self.connection: DataLoader[str, ConnectionNode | None] = DataLoader(load_fn=self._connections)
        self.sync_streams: DataLoader[str, list[SourceStream]] = DataLoader(load_fn=self._sync_streams)
        self.last_run: DataLoader[str, SyncRun | None] = DataLoader(load_fn=self._last_runs)
        self.active_run: DataLoader[str, SyncRun | None] = DataLoader(load_fn=self._active_runs)

    async def prime_workspaces(self, workspace_ids: Iterable[str]) -> None:
        """Load the workspaces of a page's items now, in one query, so that each item's
        ``workspace`` answers synchronously. Straight through the service rather than the
        loader's next batch, which would cost a task and a few turns of the event loop."""
        keys = [key for key in set(workspace_ids) if key not in self.workspaces]
        if keys:
            await self._workspaces(keys)

    async def _workspaces(self, keys: list[str]) -> list[Workspace | None]:
        found = await orgs.get_workspaces_by_ids(scope=self.scope, workspace_ids=list(set(keys)))
        nodes = {key: Workspace.from_model(row) for key, row in found.items()}
        for key in keys:
            self.workspaces.setdefault(key, nodes.get(key))
        return [self.workspaces[key] for key in keys]

    async def _end_users(self, keys: list[str]) -> list[EndUser | None]:
        found = await orgs.get_end_users_by_ids(scope=self.scope, end_user_ids=list(set(keys)))
        nodes = {key: EndUser.from_model(row) for key, row in found.items()}
        return [nodes.get(key) for key in keys]

    async def _connections(self, keys: list[str]) -> list[ConnectionNode | None]:
        found = await connections.get_connections_by_ids(scope=self.scope, connection_ids=list(set(keys)))
        nodes = {key: ConnectionNode.from_model(row) for key, row in found.items()}
        return [nodes.get(key) for key in keys]

    async def _sync_streams(self, keys: list[str]) -> list[list[SourceStream]]:
        found = await syncs.streams_of_syncs(scope=self.scope, sync_ids=list(set(keys)))
        nodes = {key: [SourceStream.from_model(row) for row in rows] for key, rows in found.items()}
        return [nodes.get(key, []) for key in keys]

    async def _last_runs(self, keys: list[str]) -> list[SyncRun | None]:
        found = await sync_runs.latest_runs_of_syncs(scope=self.scope, sync_ids=list(set(keys)))
        nodes = {key: SyncRun.from_model(row) for key, row in found.items()}
        return [nodes.get(key) for key in keys]

    async def _active_runs(self, keys: list[str]) -> list[SyncRun | None]:
        found = await sync_runs.active_runs_of_syncs(scope=self.scope, sync_ids=list(set(keys)))
        nodes = {key: SyncRun.from_model(row) for key, row in found.items()}
        return [nodes.get(key) for key in keys]
