"""Dropbox's API v2 RPC endpoints for the catalog's read-only actions: ``POST /2/files/list_folder``,
``/2/files/get_metadata`` and ``/2/files/search_v2`` (JSON bodies), behind an OAuth bearer token.
Dropbox answers a bad argument with 400 and plain text, and an endpoint-specific error with 409 and
``{"error_summary": ..., "error": {".tag": ...}}``
(https://www.dropbox.com/developers/documentation/http/documentation#error-handling)."""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "sl.WeirEmulatorDropboxToken000000000001"
ENTRIES = [
    {
        ".tag": "folder",
        "name": "Docs",
        "path_lower": "/docs",
        "path_display": "/Docs",
        "id": "id:a4ayc_80_OEAAAAAAAAAXw",
    },
    {
        ".tag": "file",
        "name": "report.pdf",
        "path_lower": "/docs/report.pdf",
        "path_display": "/Docs/report.pdf",
        "id": "id:a4ayc_80_OEAAAAAAAAAYa",
        "size": 7212,
        "server_modified": "2025-01-01T10:00:00Z",
        "client_modified": "2025-01-01T10:00:00Z",
        "rev": "a1c10ce0dd78",
    },
]


def _not_found(path: str) -> Reply:
    return Reply(
        409,
        {"error_summary": "path/not_found/..", "error": {".tag": "path", "path": {".tag": "not_found"}}},
    )


def _under(folder: str, entry: dict[str, Any], recursive: bool) -> bool:
    parent = entry["path_lower"].rsplit("/", 1)[0]
    return parent == folder.lower() or (recursive and entry["path_lower"].startswith(folder.lower() + "/"))


def _list_folder(call: Call) -> dict[str, Any] | Reply:
    path = call.json.get("path")
    if path is None:
        return Reply(
            400,
            "Error in call to API function \"files/list_folder\": request body: missing required field 'path'",
        )
    if path not in ("", "/Docs", "/docs"):
        return _not_found(path)
    entries = [e for e in ENTRIES if _under(path, e, call.json.get("recursive", False))]
    return {"entries": entries, "cursor": "AAWeirEmulatorCursor", "has_more": False}


def _get_metadata(call: Call) -> dict[str, Any] | Reply:
    wanted = call.json["path"].lower()
    found = next((e for e in ENTRIES if wanted in (e["path_lower"], e["id"].lower())), None)
    return found if found is not None else _not_found(wanted)


def _search(call: Call) -> dict[str, Any]:
    text = call.json["query"].lower()
    under = call.json.get("options", {}).get("path", "")
    hits = [e for e in ENTRIES if text in e["name"].lower() and e["path_lower"].startswith(under.lower())]
    return {
        "matches": [
            {"match_type": {".tag": "filename"}, "metadata": {".tag": "metadata", "metadata": e}}
            for e in hits
        ],
        "has_more": False,
    }


def dropbox_api() -> DocumentedAPI:
    return DocumentedAPI(
        [
            Endpoint("POST", "/files/list_folder", _list_folder),
            Endpoint("POST", "/files/get_metadata", _get_metadata, required=("path",)),
            Endpoint("POST", "/files/search_v2", _search, required=("query",)),
        ],
        credentials=[bearer(TOKEN)],
        unauthorized=(
            401,
            {"error_summary": "invalid_access_token/..", "error": {".tag": "invalid_access_token"}},
        ),
        invalid=lambda missing: (
            400,
            f"Error in call to API function: request body: missing required field '{missing[0]}'",
        ),
        rate_limited={
            "error_summary": "too_many_requests/..",
            "error": {"reason": {".tag": "too_many_requests"}},
        },
        prefix="/2",
    )
