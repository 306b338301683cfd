from typing import Any, Optional, Union

from .base_client import BaseClient
from .base_model import UNSET, UnsetType
from .cancel_connect_session import CancelConnectSession
from .cancel_sync_run import CancelSyncRun
from .create_connect_session import CreateConnectSession
from .create_elt_sync import CreateEltSync
from .delete_connection import DeleteConnection
from .delete_elt_sync import DeleteEltSync
from .execute_action import ExecuteAction
from .get_connect_session import GetConnectSession
from .get_connection import GetConnection
from .get_elt_sync import GetEltSync
from .get_sync_run import GetSyncRun
from .input_types import (
    ConnectionFilter,
    CreateConnectSessionInput,
    CreateEltSyncInput,
    EltSyncFilter,
    ExecuteActionInput,
    ResolveConnectionInput,
    SyncRunFilter,
)
from .list_connections import ListConnections
from .list_elt_syncs import ListEltSyncs
from .list_sync_runs import ListSyncRuns
from .resolve_connection import ResolveConnection
from .trigger_sync_run import TriggerSyncRun


def gql(q: str) -> str:
    return q


class GraphQLClient(BaseClient):
    def execute_action(self, input: ExecuteActionInput, **kwargs: Any) -> ExecuteAction:
        query = gql("""
            mutation ExecuteAction($input: ExecuteActionInput!) {
              executeAction(input: $input) {
                output
                connectionId
                resolvedBy
                replayed
                durationMs
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = self.execute(
            query=query, operation_name="ExecuteAction", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return ExecuteAction.model_validate(data)

    def create_connect_session(
        self, input: CreateConnectSessionInput, **kwargs: Any
    ) -> CreateConnectSession:
        query = gql("""
            mutation CreateConnectSession($input: CreateConnectSessionInput!) {
              createConnectSession(input: $input) {
                token
                connectUrl
                expiresAt
                session {
                  ...ConnectSessionFields
                }
              }
            }

            fragment ConnectSessionFields on ConnectSession {
              id
              status
              allowedIntegrations
              integrationName
              connectionId
              errorCode
              errorMessage
              expiresAt
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = self.execute(
            query=query,
            operation_name="CreateConnectSession",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return CreateConnectSession.model_validate(data)

    def get_connect_session(self, id: str, **kwargs: Any) -> GetConnectSession:
        query = gql("""
            query GetConnectSession($id: ID!) {
              connectSession(id: $id) {
                ...ConnectSessionFields
              }
            }

            fragment ConnectSessionFields on ConnectSession {
              id
              status
              allowedIntegrations
              integrationName
              connectionId
              errorCode
              errorMessage
              expiresAt
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = self.execute(
            query=query,
            operation_name="GetConnectSession",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return GetConnectSession.model_validate(data)

    def cancel_connect_session(self, id: str, **kwargs: Any) -> CancelConnectSession:
        query = gql("""
            mutation CancelConnectSession($id: ID!) {
              cancelConnectSession(id: $id) {
                ...ConnectSessionFields
              }
            }

            fragment ConnectSessionFields on ConnectSession {
              id
              status
              allowedIntegrations
              integrationName
              connectionId
              errorCode
              errorMessage
              expiresAt
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = self.execute(
            query=query,
            operation_name="CancelConnectSession",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return CancelConnectSession.model_validate(data)

    def list_connections(
        self,
        filter_: Union[Optional[ConnectionFilter], UnsetType] = UNSET,
        first: Union[Optional[int], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> ListConnections:
        query = gql("""
            query ListConnections($filter: ConnectionFilter, $first: Int, $after: String) {
              connections(filter: $filter, first: $first, after: $after) {
                edges {
                  node {
                    ...ConnectionFields
                  }
                }
                pageInfo {
                  ...PageInfoFields
                }
              }
            }

            fragment ConnectionFields on Connection {
              id
              integrationName
              authType
              scope
              externalId
              displayName
              status
              statusReason
              health
              credentialPreview
              expiresAt
              parameters
              createdAt
              updatedAt
              workspace {
                id
              }
              endUser {
                id
                externalId
              }
            }

            fragment PageInfoFields on PageInfo {
              hasNextPage
              endCursor
            }
            """)
        variables: dict[str, object] = {
            "filter": filter_,
            "first": first,
            "after": after,
        }
        response = self.execute(
            query=query, operation_name="ListConnections", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return ListConnections.model_validate(data)

    def get_connection(self, id: str, **kwargs: Any) -> GetConnection:
        query = gql("""
            query GetConnection($id: ID!) {
              connection(id: $id) {
                ...ConnectionFields
              }
            }

            fragment ConnectionFields on Connection {
              id
              integrationName
              authType
              scope
              externalId
              displayName
              status
              statusReason
              health
              credentialPreview
              expiresAt
              parameters
              createdAt
              updatedAt
              workspace {
                id
              }
              endUser {
                id
                externalId
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = self.execute(
            query=query, operation_name="GetConnection", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return GetConnection.model_validate(data)

    def delete_connection(self, id: str, **kwargs: Any) -> DeleteConnection:
        query = gql("""
            mutation DeleteConnection($id: ID!) {
              deleteConnection(id: $id) {
                deletedId
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = self.execute(
            query=query,
            operation_name="DeleteConnection",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return DeleteConnection.model_validate(data)

    def resolve_connection(
        self, input: ResolveConnectionInput, **kwargs: Any
    ) -> ResolveConnection:
        query = gql("""
            mutation ResolveConnection($input: ResolveConnectionInput!) {
              resolveConnection(input: $input) {
                resolvedBy
                connection {
                  ...ConnectionFields
                }
              }
            }

            fragment ConnectionFields on Connection {
              id
              integrationName
              authType
              scope
              externalId
              displayName
              status
              statusReason
              health
              credentialPreview
              expiresAt
              parameters
              createdAt
              updatedAt
              workspace {
                id
              }
              endUser {
                id
                externalId
              }
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = self.execute(
            query=query,
            operation_name="ResolveConnection",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return ResolveConnection.model_validate(data)

    def create_elt_sync(
        self, input: CreateEltSyncInput, **kwargs: Any
    ) -> CreateEltSync:
        query = gql("""
            mutation CreateEltSync($input: CreateEltSyncInput!) {
              createEltSync(input: $input) {
                ...EltSyncFields
              }
            }

            fragment EltSyncFields on EltSync {
              id
              connectionId
              workspaceId
              destinationSchemaName
              settings
              syncInterval
              timezone
              schemaChangePolicy
              enabled
              nextRunAt
              sourceStreams {
                name
                syncMode
              }
              lastRun {
                ...SyncRunFields
              }
            }

            fragment SyncRunFields on SyncRun {
              id
              syncId
              trigger
              status
              fullRefresh
              attempt
              error
              queuedAt
              startedAt
              finishedAt
              rowsLoaded
              rowsInserted
              rowsUpdated
            }
            """)
        variables: dict[str, object] = {"input": input}
        response = self.execute(
            query=query, operation_name="CreateEltSync", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return CreateEltSync.model_validate(data)

    def list_elt_syncs(
        self,
        filter_: Union[Optional[EltSyncFilter], UnsetType] = UNSET,
        first: Union[Optional[int], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> ListEltSyncs:
        query = gql("""
            query ListEltSyncs($filter: EltSyncFilter, $first: Int, $after: String) {
              eltSyncs(filter: $filter, first: $first, after: $after) {
                edges {
                  node {
                    ...EltSyncFields
                  }
                }
                pageInfo {
                  ...PageInfoFields
                }
              }
            }

            fragment EltSyncFields on EltSync {
              id
              connectionId
              workspaceId
              destinationSchemaName
              settings
              syncInterval
              timezone
              schemaChangePolicy
              enabled
              nextRunAt
              sourceStreams {
                name
                syncMode
              }
              lastRun {
                ...SyncRunFields
              }
            }

            fragment PageInfoFields on PageInfo {
              hasNextPage
              endCursor
            }

            fragment SyncRunFields on SyncRun {
              id
              syncId
              trigger
              status
              fullRefresh
              attempt
              error
              queuedAt
              startedAt
              finishedAt
              rowsLoaded
              rowsInserted
              rowsUpdated
            }
            """)
        variables: dict[str, object] = {
            "filter": filter_,
            "first": first,
            "after": after,
        }
        response = self.execute(
            query=query, operation_name="ListEltSyncs", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return ListEltSyncs.model_validate(data)

    def get_elt_sync(self, id: str, **kwargs: Any) -> GetEltSync:
        query = gql("""
            query GetEltSync($id: ID!) {
              eltSync(id: $id) {
                ...EltSyncFields
              }
            }

            fragment EltSyncFields on EltSync {
              id
              connectionId
              workspaceId
              destinationSchemaName
              settings
              syncInterval
              timezone
              schemaChangePolicy
              enabled
              nextRunAt
              sourceStreams {
                name
                syncMode
              }
              lastRun {
                ...SyncRunFields
              }
            }

            fragment SyncRunFields on SyncRun {
              id
              syncId
              trigger
              status
              fullRefresh
              attempt
              error
              queuedAt
              startedAt
              finishedAt
              rowsLoaded
              rowsInserted
              rowsUpdated
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = self.execute(
            query=query, operation_name="GetEltSync", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return GetEltSync.model_validate(data)

    def trigger_sync_run(
        self,
        sync_id: str,
        full_refresh: Union[Optional[bool], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> TriggerSyncRun:
        query = gql("""
            mutation TriggerSyncRun($syncId: ID!, $fullRefresh: Boolean) {
              triggerSyncRun(syncId: $syncId, fullRefresh: $fullRefresh) {
                ...SyncRunFields
              }
            }

            fragment SyncRunFields on SyncRun {
              id
              syncId
              trigger
              status
              fullRefresh
              attempt
              error
              queuedAt
              startedAt
              finishedAt
              rowsLoaded
              rowsInserted
              rowsUpdated
            }
            """)
        variables: dict[str, object] = {"syncId": sync_id, "fullRefresh": full_refresh}
        response = self.execute(
            query=query, operation_name="TriggerSyncRun", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return TriggerSyncRun.model_validate(data)

    def list_sync_runs(
        self,
        sync_id: Union[Optional[str], UnsetType] = UNSET,
        filter_: Union[Optional[SyncRunFilter], UnsetType] = UNSET,
        first: Union[Optional[int], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> ListSyncRuns:
        query = gql("""
            query ListSyncRuns($syncId: ID, $filter: SyncRunFilter, $first: Int, $after: String) {
              syncRuns(syncId: $syncId, filter: $filter, first: $first, after: $after) {
                edges {
                  node {
                    ...SyncRunFields
                  }
                }
                pageInfo {
                  ...PageInfoFields
                }
              }
            }

            fragment PageInfoFields on PageInfo {
              hasNextPage
              endCursor
            }

            fragment SyncRunFields on SyncRun {
              id
              syncId
              trigger
              status
              fullRefresh
              attempt
              error
              queuedAt
              startedAt
              finishedAt
              rowsLoaded
              rowsInserted
              rowsUpdated
            }
            """)
        variables: dict[str, object] = {
            "syncId": sync_id,
            "filter": filter_,
            "first": first,
            "after": after,
        }
        response = self.execute(
            query=query, operation_name="ListSyncRuns", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return ListSyncRuns.model_validate(data)

    def get_sync_run(self, id: str, **kwargs: Any) -> GetSyncRun:
        query = gql("""
            query GetSyncRun($id: ID!) {
              syncRun(id: $id) {
                ...SyncRunFields
              }
            }

            fragment SyncRunFields on SyncRun {
              id
              syncId
              trigger
              status
              fullRefresh
              attempt
              error
              queuedAt
              startedAt
              finishedAt
              rowsLoaded
              rowsInserted
              rowsUpdated
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = self.execute(
            query=query, operation_name="GetSyncRun", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return GetSyncRun.model_validate(data)

    def delete_elt_sync(self, id: str, **kwargs: Any) -> DeleteEltSync:
        query = gql("""
            mutation DeleteEltSync($id: ID!) {
              deleteEltSync(id: $id) {
                deletedId
              }
            }
            """)
        variables: dict[str, object] = {"id": id}
        response = self.execute(
            query=query, operation_name="DeleteEltSync", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return DeleteEltSync.model_validate(data)

    def cancel_sync_run(self, run_id: str, **kwargs: Any) -> CancelSyncRun:
        query = gql("""
            mutation CancelSyncRun($runId: ID!) {
              cancelSyncRun(runId: $runId) {
                ...SyncRunFields
              }
            }

            fragment SyncRunFields on SyncRun {
              id
              syncId
              trigger
              status
              fullRefresh
              attempt
              error
              queuedAt
              startedAt
              finishedAt
              rowsLoaded
              rowsInserted
              rowsUpdated
            }
            """)
        variables: dict[str, object] = {"runId": run_id}
        response = self.execute(
            query=query, operation_name="CancelSyncRun", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return CancelSyncRun.model_validate(data)
