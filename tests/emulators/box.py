"""Box's API (``/2.0``) for the catalog's read-only actions: ``GET /folders/{id}/items``,
``GET /search`` (``query`` required) and ``GET /files/{id}``, behind an OAuth bearer token, with
Box's ``{"type": "error", "status": ..., "code": ..., "message": ...}`` bodies
(https://developer.box.com/reference/get-folders-id-items/, https://developer.box.com/reference/get-search/)."""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "WeirEmulatorBoxAccessToken000000001"
FILES = {
    "1001": {
        "type": "file",
        "id": "1001",
        "name": "Q3 report.pdf",
        "size": 52133,
        "parent": {"type": "folder", "id": "0"},
    },
    "1002": {
        "type": "file",
        "id": "1002",
        "name": "Logo.png",
        "size": 8812,
        "parent": {"type": "folder", "id": "0"},
    },
}
FOLDERS = {"2001": {"type": "folder", "id": "2001", "name": "Contracts"}}


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "status": status,
        "code": code,
        "message": message,
        "request_id": "weiremulator01",
    }


NOT_FOUND = _error(404, "not_found", "Could not find the specified resource")


def _entry(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": item["type"], "id": item["id"], "name": item["name"], "etag": "0", "sequence_id": "0"}


def _items(call: Call) -> dict[str, Any] | Reply:
    if call.path_params["id"] != "0":
        return Reply(404, NOT_FOUND)
    entries = [_entry(f) for f in FOLDERS.values()] + [_entry(f) for f in FILES.values()]
    offset, limit = int(str(call.query.get("offset", 0))), int(str(call.query.get("limit", 100)))
    return {
        "total_count": len(entries),
        "entries": entries[offset : offset + limit],
        "offset": offset,
        "limit": limit,
        "order": [{"by": "type", "direction": "ASC"}],
    }


def _search(call: Call) -> dict[str, Any]:
    text = str(call.query["query"]).lower()
    items = [*FILES.values(), *FOLDERS.values()]
    if "type" in call.query:
        items = [i for i in items if i["type"] == call.query["type"]]
    entries = [{**i, "modified_at": "2025-01-01T10:00:00-08:00"} for i in items if text in i["name"].lower()]
    limit = int(str(call.query.get("limit", 30)))
    return {"total_count": len(entries), "entries": entries[:limit], "limit": limit, "offset": 0}


def _file(call: Call) -> dict[str, Any] | Reply:
    found = FILES.get(call.path_params["id"])
    return {**found, "modified_at": "2025-01-01T10:00:00-08:00"} if found else Reply(404, NOT_FOUND)


def box_api() -> DocumentedAPI:
    return DocumentedAPI(
        [
            Endpoint("GET", "/folders/{id}/items", _items),
            Endpoint("GET", "/search", _search, required_query=("query",)),
            Endpoint("GET", "/files/{id}", _file),
        ],
        credentials=[bearer(TOKEN)],
        unauthorized=(401, _error(401, "unauthorized", "Unauthorized")),
        invalid=lambda missing: (
            400,
            _error(400, "bad_request", f"Missing required parameter: {missing[0]}"),
        ),
        rate_limited=_error(
            429, "rate_limit_exceeded", "Request rate limit exceeded, please try again later"
        ),
        prefix="/2.0",
    )
