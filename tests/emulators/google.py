"""Google's REST APIs for the catalog's actions, behind an OAuth bearer token, with Google's
``{"error": {"code", "message", "status"}}`` bodies (https://cloud.google.com/apis/design/errors):

- Drive v3: ``GET /drive/v3/files`` and ``GET /drive/v3/files/{id}`` (metadata);
- Sheets v4: ``GET``/``PUT /v4/spreadsheets/{id}/values/{range}`` and ``POST
  .../values/{range}:append`` (``valueInputOption`` required); appended rows are read back;
- Analytics Data v1beta: ``POST /v1beta/properties/{id}:runReport`` and ``:runRealtimeReport``;
- Google Ads v22: ``GET /v22/customers:listAccessibleCustomers`` and ``POST
  /v22/customers/{id}/googleAds:search`` (a ``developer-token`` header is required).
"""

from __future__ import annotations

import re
from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "ya29.WeirEmulatorGoogleAccessToken0001"
SPREADSHEET = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"
PROPERTY = "123456789"
CUSTOMER = "1234567890"
DEVELOPER_TOKEN = "WeirEmulatorDevToken01"
FILES = [
    {
        "id": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "name": "Q3 report",
        "mimeType": "application/vnd.google-apps.document",
        "modifiedTime": "2025-01-02T10:00:00.000Z",
        "parents": ["0AFolderRoot"],
        "webViewLink": "https://docs.google.com/document/d/1AbC/edit",
    },
    {
        "id": "1ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210",
        "name": "Budget",
        "mimeType": "application/vnd.google-apps.spreadsheet",
        "modifiedTime": "2025-01-01T10:00:00.000Z",
        "parents": ["0AFolderRoot"],
        "webViewLink": "https://docs.google.com/spreadsheets/d/1ZyX/edit",
    },
]


def error(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


UNAUTHENTICATED = error(
    401,
    "UNAUTHENTICATED",
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
)
RATE_LIMITED = error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Read requests'.")


def _invalid(missing: list[str]) -> tuple[int, Any]:
    return 400, error(400, "INVALID_ARGUMENT", f"'{missing[0]}' is required but not specified")


def _api(endpoints: list[Endpoint]) -> DocumentedAPI:
    return DocumentedAPI(
        endpoints,
        credentials=[bearer(TOKEN)],
        unauthorized=(401, UNAUTHENTICATED),
        invalid=_invalid,
        rate_limited=RATE_LIMITED,
    )


def drive_api() -> DocumentedAPI:
    def list_files(call: Call) -> dict[str, Any]:
        rows = FILES
        match = re.search(r"name contains '([^']*)'", str(call.query.get("q", "")))
        if match:
            rows = [f for f in rows if match.group(1).lower() in f["name"].lower()]
        size = int(str(call.query.get("pageSize", 100)))
        page: dict[str, Any] = {"files": rows[:size]}
        if size < len(rows):
            page["nextPageToken"] = "WeirEmulatorNextPage"
        return page

    def get_file(call: Call) -> dict[str, Any] | Reply:
        found = next((f for f in FILES if f["id"] == call.path_params["id"]), None)
        if found is None:
            return Reply(404, error(404, "NOT_FOUND", f"File not found: {call.path_params['id']}."))
        return found

    return _api(
        [Endpoint("GET", "/drive/v3/files", list_files), Endpoint("GET", "/drive/v3/files/{id}", get_file)]
    )


class SheetsEmulator:
    """One spreadsheet whose first sheet, Sheet1, holds rows that appends add to."""

    def __init__(self) -> None:
        self.rows: list[list[Any]] = [["Name", "Age"]]
        base = "/v4/spreadsheets/{id}/values/{range}"
        self.api = _api(
            [
                Endpoint("GET", base, self._get),
                Endpoint(
                    "POST",
                    base + ":append",
                    self._append,
                    required=("values",),
                    required_query=("valueInputOption",),
                ),
                Endpoint(
                    "PUT", base, self._update, required=("values",), required_query=("valueInputOption",)
                ),
            ]
        )
        self.app = self.api.app

    def _sheet(self, call: Call) -> Reply | None:
        if call.path_params["id"] != SPREADSHEET:
            return Reply(404, error(404, "NOT_FOUND", "Requested entity was not found."))
        if not call.path_params["range"].startswith("Sheet1"):
            message = f"Unable to parse range: {call.path_params['range']}"
            return Reply(400, error(400, "INVALID_ARGUMENT", message))
        return None

    def _get(self, call: Call) -> dict[str, Any] | Reply:
        refused = self._sheet(call)
        if refused is not None:
            return refused
        return {"range": f"Sheet1!A1:Z{len(self.rows)}", "majorDimension": "ROWS", "values": self.rows}

    def _append(self, call: Call) -> dict[str, Any] | Reply:
        refused = self._sheet(call)
        if refused is not None:
            return refused
        before, added = len(self.rows), call.json["values"]
        self.rows.extend(added)
        width = max(len(r) for r in added)
        last = chr(ord("A") + width - 1)
        return {
            "spreadsheetId": SPREADSHEET,
            "tableRange": f"Sheet1!A1:{last}{before}",
            "updates": {
                "spreadsheetId": SPREADSHEET,
                "updatedRange": f"Sheet1!A{before + 1}:{last}{before + len(added)}",
                "updatedRows": len(added),
                "updatedColumns": width,
                "updatedCells": sum(len(r) for r in added),
            },
        }

    def _update(self, call: Call) -> dict[str, Any] | Reply:
        refused = self._sheet(call)
        if refused is not None:
            return refused
        values = call.json["values"]
        return {
            "spreadsheetId": SPREADSHEET,
            "updatedRange": call.path_params["range"],
            "updatedRows": len(values),
            "updatedColumns": max(len(r) for r in values),
            "updatedCells": sum(len(r) for r in values),
        }


def analytics_api() -> DocumentedAPI:
    def report(call: Call) -> dict[str, Any] | Reply:
        if call.path_params["id"] != PROPERTY:
            message = "User does not have sufficient permissions for this property. To learn more about Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id."
            return Reply(403, error(403, "PERMISSION_DENIED", message))
        dimensions, metrics = call.json.get("dimensions", []), call.json["metrics"]
        row = {
            "dimensionValues": [{"value": "20250101"} for _ in dimensions],
            "metricValues": [{"value": str(42 + n)} for n, _ in enumerate(metrics)],
        }
        return {
            "dimensionHeaders": [{"name": d["name"]} for d in dimensions],
            "metricHeaders": [{"name": m["name"], "type": "TYPE_INTEGER"} for m in metrics],
            "rows": [row],
            "rowCount": 1,
            "metadata": {"currencyCode": "USD", "timeZone": "Etc/UTC"},
            "kind": "analyticsData#runReport",
        }

    return _api(
        [
            Endpoint("POST", "/v1beta/properties/{id}:runReport", report, required=("dateRanges", "metrics")),
            Endpoint("POST", "/v1beta/properties/{id}:runRealtimeReport", report, required=("metrics",)),
        ]
    )


def ads_api() -> DocumentedAPI:
    def accessible(call: Call) -> dict[str, Any] | Reply:
        return {"resourceNames": [f"customers/{CUSTOMER}", "customers/9876543210"]}

    def search(call: Call) -> dict[str, Any] | Reply:
        if call.headers.get("developer-token") != DEVELOPER_TOKEN:
            return Reply(401, error(401, "UNAUTHENTICATED", "The developer token is not valid."))
        if call.path_params["id"] != CUSTOMER:
            message = "The caller does not have permission"
            return Reply(403, error(403, "PERMISSION_DENIED", message))
        if not call.json["query"].upper().startswith("SELECT"):
            return Reply(400, error(400, "INVALID_ARGUMENT", "Request contains an invalid argument."))
        return {
            "results": [
                {
                    "campaign": {
                        "resourceName": f"customers/{CUSTOMER}/campaigns/111",
                        "id": "111",
                        "name": "Spring",
                    },
                    "metrics": {"clicks": "12"},
                }
            ],
            "fieldMask": "campaign.id,campaign.name,metrics.clicks",
            "queryResourceConsumption": "100",
        }

    return _api(
        [
            Endpoint("GET", "/v22/customers:listAccessibleCustomers", accessible),
            Endpoint("POST", "/v22/customers/{id}/googleAds:search", search, required=("query",)),
        ]
    )
