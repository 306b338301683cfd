"""monday.com's GraphQL API as the catalog entry's actions use it: ``POST /v2`` with the token
itself as ``Authorization`` (no scheme), recorded as a documented endpoint
(``tests/emulators/documented.py``) and run by a real GraphQL executor (graphql-core) over the
part of monday's schema the actions ask for: ``boards(limit, page)`` and the ``create_item``
mutation (``board_id``, ``item_name``, ``group_id``, ``column_values`` as a JSON string), so a
query naming a field monday does not have fails here too. An unknown board is a GraphQL error
with HTTP 200, as monday answers it.
"""

from __future__ import annotations

import json
from typing import Any

from graphql import build_schema, graphql_sync

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, header

TOKEN = "eyJhbGciOiJIUzI1NiJ9.weir-emulated-monday-token"
BOARD_ID = "1234567890"

SCHEMA = build_schema(
    """
    scalar JSON
    type Board { id: ID! name: String! state: String! board_kind: String! workspace_id: ID items_count: Int }
    type Group { id: ID! title: String! }
    type Item { id: ID! name: String! board: Board group: Group column_values_json: JSON }
    type User { id: ID! name: String! email: String! }
    type Query { me: User boards(limit: Int, page: Int, ids: [ID!]): [Board] }
    type Mutation {
      create_item(board_id: ID!, item_name: String!, group_id: String, column_values: JSON): Item
    }
    """
)


class MondayEmulator:
    def __init__(self) -> None:
        self.boards = [
            {
                "id": BOARD_ID,
                "name": "Launch plan",
                "state": "active",
                "board_kind": "public",
                "workspace_id": "55",
                "items_count": 0,
                "groups": [{"id": "topics", "title": "Topics"}],
            },
            {
                "id": "1234567891",
                "name": "Hiring",
                "state": "active",
                "board_kind": "private",
                "workspace_id": None,
                "items_count": 0,
                "groups": [{"id": "topics", "title": "Topics"}],
            },
        ]
        self.items: list[dict[str, Any]] = []
        self.api = DocumentedAPI(
            [Endpoint("POST", "/v2", self.graphql, required=("query",))],
            credentials=[header("Authorization", TOKEN)],
            unauthorized=(
                401,
                {"errors": [{"message": "Not Authenticated", "extensions": {"code": "UNAUTHENTICATED"}}]},
            ),
        )
        self.app = self.api.app

    def _boards(
        self, info: Any, limit: int = 25, page: int = 1, ids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        rows = [b for b in self.boards if ids is None or b["id"] in ids]
        return rows[(page - 1) * limit : page * limit]

    def _create_item(
        self, info: Any, board_id: str, item_name: str, group_id: str | None = None, column_values: Any = None
    ) -> dict[str, Any]:
        board = next((b for b in self.boards if b["id"] == board_id), None)
        if board is None:
            raise ValueError(f"Board not found: {board_id}")
        group = next((g for g in board["groups"] if group_id in (None, g["id"])), None)
        if group is None:
            raise ValueError(f"Group not found: {group_id}")
        values = json.loads(column_values) if isinstance(column_values, str) else column_values
        item = {
            "id": str(9000000000 + len(self.items) + 1),
            "name": item_name,
            "board": board,
            "group": group,
            "column_values_json": values or {},
        }
        self.items.append(item)
        board["items_count"] += 1
        return item

    def graphql(self, call: Call) -> Any:
        body = call.json
        if not isinstance(body.get("query"), str):
            return Reply(400, {"errors": [{"message": "Must provide query string."}]})
        root = {
            "boards": self._boards,
            "create_item": self._create_item,
            "me": {"id": "1", "name": "Ada", "email": "ada@example.com"},
        }
        result = graphql_sync(SCHEMA, body["query"], root_value=root, variable_values=body.get("variables"))
        answer: dict[str, Any] = {"data": result.data, "account_id": 55}
        if result.errors:
            answer["errors"] = [
                {"message": e.message, "locations": [], "path": e.path} for e in result.errors
            ]
        # A query that cannot run at all (bad syntax, unknown field) is a 400; a failing
        # resolver is an error beside the data, with 200, as monday answers.
        return Reply(400, answer) if result.data is None else answer
