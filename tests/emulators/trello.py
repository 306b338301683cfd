"""Trello's REST API (1) as the catalog entry's actions use it, as documented endpoints
(``tests/emulators/documented.py``): the key and token in an ``Authorization: OAuth
oauth_consumer_key="...", oauth_token="..."`` header; ``GET /1/members/me/boards``, ``GET
/1/boards/{id}/lists`` and ``POST /1/cards``, whose fields are query parameters (a card needs an
``idList`` the emulator has). Trello answers its errors as plain words ("invalid token", "invalid
value for idList").
"""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, header

API_KEY = "0123456789abcdef0123456789abcdef"
ACCESS_TOKEN = "ATTA" + "0" * 60
AUTHORIZATION = f'OAuth oauth_consumer_key="{API_KEY}", oauth_token="{ACCESS_TOKEN}"'
BOARD_ID = "5f0c0a0b0c0d0e0f10111213"
LIST_ID = "5f0c0a0b0c0d0e0f10111214"


class TrelloEmulator:
    def __init__(self) -> None:
        self.boards = [
            {
                "id": BOARD_ID,
                "name": "Roadmap",
                "closed": False,
                "url": "https://trello.com/b/abc123/roadmap",
            },
            {
                "id": "5f0c0a0b0c0d0e0f10111299",
                "name": "Archive",
                "closed": True,
                "url": "https://trello.com/b/def456/archive",
            },
        ]
        self.lists = [
            {"id": LIST_ID, "idBoard": BOARD_ID, "name": "To do", "closed": False, "pos": 16384},
            {
                "id": "5f0c0a0b0c0d0e0f10111215",
                "idBoard": BOARD_ID,
                "name": "Done",
                "closed": False,
                "pos": 32768,
            },
        ]
        self.cards: list[dict[str, Any]] = []
        self.api = DocumentedAPI(
            [
                Endpoint("GET", "/members/me/boards", self.member_boards),
                Endpoint("GET", "/boards/{board_id}/lists", self.board_lists),
                Endpoint("POST", "/cards", self.create_card, required_query=("idList",)),
            ],
            credentials=[header("Authorization", AUTHORIZATION)],
            unauthorized=(401, "invalid token"),
            invalid=lambda missing: (400, f"invalid value for {missing[0]}"),
            prefix="/1",
        )
        self.app = self.api.app

    def member_boards(self, call: Call) -> Any:
        wanted = call.query.get("filter", "all")
        rows = [b for b in self.boards if wanted == "all" or (wanted == "open") != b["closed"]]
        fields = str(call.query.get("fields") or "id,name,closed,url").split(",")
        return [{k: b[k] for k in fields if k in b} | {"id": b["id"]} for b in rows]

    def board_lists(self, call: Call) -> Any:
        if not any(b["id"] == call.path_params["board_id"] for b in self.boards):
            return Reply(404, "The requested resource was not found.")
        return [dict(row) for row in self.lists if row["idBoard"] == call.path_params["board_id"]]

    def create_card(self, call: Call) -> Any:
        target = next((row for row in self.lists if row["id"] == call.query["idList"]), None)
        if target is None:
            return Reply(400, "invalid value for idList")
        number = len(self.cards) + 1
        card = {
            "id": f"6a{number:022x}",
            "name": call.query.get("name", ""),
            "desc": call.query.get("desc", ""),
            "idList": target["id"],
            "idBoard": target["idBoard"],
            "due": call.query.get("due"),
            "idMembers": [m for m in str(call.query.get("idMembers", "")).split(",") if m],
            "idLabels": [m for m in str(call.query.get("idLabels", "")).split(",") if m],
            "pos": call.query.get("pos", "bottom"),
            "url": f"https://trello.com/c/card{number}/{number}-card",
            "shortUrl": f"https://trello.com/c/card{number}",
        }
        self.cards.append(card)
        return card
