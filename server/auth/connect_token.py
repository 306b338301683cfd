"""The whole API of a connect token: its own session's operations and nothing else.

Over HTTP, the connect page's mutations and ``connectSessionState``; over WebSocket, only
``connectSessionUpdated`` (whose resolver accepts the token's own session id and no other).
Checked on the document's root fields before anything runs, fragments included. The document
is the one ``DocumentCache.prepare`` gave (server.api.documents): parsed once, within the limits.
"""

from __future__ import annotations

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from server.connect.service import ConnectScope
from server.scope import Scope

CONNECT_TOKEN_FIELDS = frozenset(
    {"selectIntegration", "startOAuth", "submitCredentials", "connectSessionState", "__typename"}
)
CONNECT_TOKEN_SUBSCRIPTIONS = frozenset({"connectSessionUpdated"})


def scope_may_run(scope: Scope, document: DocumentNode | None, *, subscription: bool = False) -> bool:
    """Whether ``scope`` may run ``document`` (``None``: it did not parse). Only a connect
    token's scope is limited, to ``connect_token_may_run``; HTTP and WebSocket both ask here."""
    if not isinstance(scope, ConnectScope):
        return True
    return document is not None and connect_token_may_run(document, subscription=subscription)


def connect_token_may_run(document: DocumentNode, *, subscription: bool = False) -> bool:
    """True when every root field of every operation in ``document`` is a connect-token
    field: of a query or mutation over HTTP, of a subscription over WebSocket
    (``subscription``)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def root_fields(selection_set: SelectionSetNode, seen: frozenset[str]) -> list[str]:
        names: list[str] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                names.append(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                names += root_fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is None or fragment.name.value in seen:
                    return ["(unknown fragment)"]
                names += root_fields(fragment.selection_set, seen | {fragment.name.value})
        return names

    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        return False
    allowed = CONNECT_TOKEN_SUBSCRIPTIONS if subscription else CONNECT_TOKEN_FIELDS
    for operation in operations:
        if (operation.operation.value == "subscription") != subscription:
            return False
        if not set(root_fields(operation.selection_set, frozenset())) <= allowed:
            return False
    return True
