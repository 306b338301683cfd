"""The audit log in GraphQL: every mutation recorded as it ends, and the ``auditLog`` query.

``AuditMutations`` is a schema extension: after an operation it reads the mutation's root
fields from the document, and, for each, how it ended (the result's errors under its response
key), the object it acted on (the ``id`` of its result, else its ``id`` or ``...Id`` argument)
and the caller (``server.audit.service.Actor``). Recording after the fact, from the document and
the result, holds for both executors, over HTTP and WebSocket, and for a mutation refused before
it ran (an invalid input is a FAILED entry too). No argument value other than an object id is
read, so a credential or a secret in an input never reaches the log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.types import Info
from strawberry.types.graphql import OperationType

from server import ids
from server.api.context import Context
from server.api.domain import domain_enum, from_row
from server.api.errors import code_of
from server.api.pagination import Connection as Page
from server.api.pagination import to_connection
from server.audit import models, service
from server.connect.service import ConnectScope
from server.errors import Forbidden
from server.scope import Scope

AuditActorKind = domain_enum(
    "AuditActorKind",
    service.ACTOR_KINDS,
    description="Who made a change.",
    described={
        "API_KEY": "An API key (`actorId` is the key's id).",
        "CONNECT_TOKEN": "An end user on the connect page (`actorId` is the connect session's id).",
        "OPERATOR": "An operator on the command line (`weir keys create`...).",
    },
)
AuditOutcome = domain_enum(
    "AuditOutcome",
    service.OUTCOMES,
    description="How a change ended.",
    described={"SUCCEEDED": "It was made.", "FAILED": "It was refused or failed; `errorCode` says why."},
)


@strawberry.type(description="One change: who made it, what it was, on which object, how it ended.")
class AuditEntry:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `aud_`; time-ordered.")
    actor_kind: AuditActorKind = strawberry.field(description="Who made it.")  # type: ignore[valid-type]
    actor_id: strawberry.ID | None = strawberry.field(
        description="The API key or connect session that made it; null for the operator."
    )
    end_user_id: strawberry.ID | None = strawberry.field(description="The end user it was made for.")
    workspace_id: strawberry.ID | None = strawberry.field(description="The workspace, when one is known.")
    operation: str = strawberry.field(description="The mutation, e.g. `deleteConnection`.")
    object_type: str | None = strawberry.field(
        description="The kind of object acted on, from its id: `connection`, `elt_sync`..."
    )
    object_id: strawberry.ID | None = strawberry.field(description="The object acted on, when known.")
    outcome: AuditOutcome = strawberry.field(description="How it ended.")  # type: ignore[valid-type]
    error_code: str | None = strawberry.field(description="The error code of a FAILED change.")
    created_at: datetime = strawberry.field(description="When it ended.")

    @classmethod
    def from_model(cls, row: models.AuditEntry) -> AuditEntry:
        return from_row(
            cls, row, actor_kind=AuditActorKind(row.actor_kind), outcome=AuditOutcome(row.outcome)
        )


@strawberry.input(description="Narrows `auditLog`; every given field must match.")
class AuditLogFilter:
    workspace_id: strawberry.ID | None = strawberry.field(default=None, description="Workspace.")
    actor_id: strawberry.ID | None = strawberry.field(default=None, description="API key or connect session.")
    operation: str | None = strawberry.field(default=None, description="Mutation name.")
    object_id: strawberry.ID | None = strawberry.field(default=None, description="Object acted on.")
    outcome: AuditOutcome | None = strawberry.field(default=None, description="How it ended.")  # type: ignore[valid-type]
    since: datetime | None = strawberry.field(
        default=None, description="At or after this time (UTC when no offset is given)."
    )
    until: datetime | None = strawberry.field(
        default=None, description="Before this time (UTC when no offset is given)."
    )


def _id(value: strawberry.ID | None) -> str | None:
    return None if value is None else str(value)


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Every change made through the API or the command line, oldest first, "
        "narrowed by `filter`. Kept for WEIR_AUDIT_LOG_RETENTION_DAYS. API keys only."
    )
    async def audit_log(
        self,
        info: Info[Context, None],
        filter: AuditLogFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Page[AuditEntry]:
        scope = info.context.scope
        if isinstance(scope, ConnectScope):
            raise Forbidden("a connect token cannot read the audit log")
        given = filter or AuditLogFilter()
        page = await service.list_entries(
            scope=scope,
            workspace_id=_id(given.workspace_id),
            actor_id=_id(given.actor_id),
            operation=given.operation,
            object_id=_id(given.object_id),
            outcome=given.outcome.value if given.outcome else None,
            since=given.since,
            until=given.until,
            first=first,
            after=after,
            max_page_size=info.context.max_page_size,
        )
        return to_connection(page, AuditEntry.from_model)


class AuditMutations(SchemaExtension):
    """Records every mutation root field of an operation once it ended (see the module)."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        execution = self.execution_context
        document = execution.graphql_document
        context = execution.context
        if document is None or not isinstance(context, Context):
            return
        operation = _operation(document, execution.operation_name)
        if operation is None or operation.operation.value != OperationType.MUTATION.value:
            return
        result = execution.result
        data = getattr(result, "data", None) or {}
        errors = list(getattr(result, "errors", None) or execution.pre_execution_errors or [])
        variables = execution.variables if isinstance(execution.variables, dict) else {}
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        changes = []
        for field in _root_fields(operation.selection_set, fragments):
            key = field.alias.value if field.alias else field.name.value
            failure = next((e for e in errors if not e.path or e.path[0] == key), None)
            arguments = _id_arguments(field, variables)
            object_id = _result_id(data.get(key) if isinstance(data, dict) else None) or _object_argument(
                arguments
            )
            changes.append(
                service.Change(
                    operation=field.name.value,
                    outcome=service.FAILED if failure is not None else service.SUCCEEDED,
                    object_id=object_id,
                    workspace_id=_known(arguments.get("workspaceId"), "workspace"),
                    end_user_id=_known(arguments.get("endUserId"), "end_user"),
                    error_code=code_of(failure) if failure is not None else None,
                )
            )
        await service.record(_actor(context.scope), changes)


def _actor(scope: Scope) -> service.Actor:
    if isinstance(scope, ConnectScope):
        return service.Actor(
            service.CONNECT_TOKEN,
            scope.organization_id,
            id=scope.connect_session_id,
            workspace_id=scope.workspace_id,
            end_user_id=scope.end_user_id,
        )
    return service.Actor(
        service.API_KEY,
        scope.organization_id,
        id=scope.api_key_id,
        workspace_id=scope.workspace_id,
    )


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((d for d in operations if d.name is not None and d.name.value == name), None)


def _root_fields(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> Iterator[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if not selection.name.value.startswith("__"):
                yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and fragment.name.value not in seen:
                yield from _root_fields(fragment.selection_set, fragments, seen | {fragment.name.value})


def _id_arguments(field: FieldNode, variables: dict[str, Any]) -> dict[str, Any]:
    """The field's arguments named ``id`` or ``...Id``, at the top level and one input object
    down (``input: {connectionId}``), with variables resolved; nothing else is read."""
    found: dict[str, Any] = {}

    def take(name: str, value: Any) -> None:
        if (name == "id" or name.endswith("Id")) and name not in found:
            found[name] = value

    for argument in field.arguments or ():
        value = _value(argument.value, variables)
        if isinstance(value, dict):
            for name, inner in value.items():
                take(name, inner)
        else:
            take(argument.name.value, value)
    return found


def _value(node: ValueNode, variables: dict[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, ObjectValueNode):
        return {
            field.name.value: _value(field.value, variables)
            for field in node.fields
            if isinstance(field.value, StringValueNode | VariableNode)
        }
    return None


def _result_id(value: Any) -> str | None:
    """The id of a mutation's result: its own ``id``, or that of the object it wraps."""
    if not isinstance(value, dict):
        return None
    for candidate in (value, *(inner for inner in value.values() if isinstance(inner, dict))):
        found = candidate.get("id")
        if isinstance(found, str) and ids.kind_of(found):
            return found
    return None


def _object_argument(arguments: dict[str, Any]) -> str | None:
    for name in ("id", *sorted(name for name in arguments if name not in ("id", "workspaceId"))):
        value = arguments.get(name)
        if isinstance(value, str) and ids.kind_of(value):
            return value
    return _known(arguments.get("workspaceId"), "workspace")


def _known(value: Any, kind: str) -> str | None:
    """``value`` when it is an id of ``kind`` (never an arbitrary string a caller sent)."""
    return value if isinstance(value, str) and ids.looks_like(kind, value) else None
