"""LinkedIn's Marketing API (versioned REST) as the catalog entry's actions use it, as documented
endpoints (``tests/emulators/documented.py``), under ``/rest``: an OAuth bearer token, and the
``LinkedIn-Version`` (YYYYMM) and ``X-Restli-Protocol-Version: 2.0.0`` headers on every call (a
missing version is LinkedIn's 400 ``VERSION_MISSING``). ``GET /adAccounts?q=search`` and ``GET
/adAccounts/{id}/adCampaigns?q=search`` page with ``pageSize`` and ``pageToken``
(``metadata.nextPageToken``); ``GET /adAccounts/{id}`` answers one account.
"""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "AQWeirEmulatedLinkedInAccessToken0001"
ACCOUNT_ID = 508000001


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"status": status, "code": code, "message": message})


class LinkedInAdsEmulator:
    def __init__(self, campaigns: int = 3) -> None:
        self.accounts = [
            {
                "id": ACCOUNT_ID + n,
                "name": f"Account {n + 1}",
                "currency": "USD",
                "status": "ACTIVE",
                "type": "BUSINESS",
                "reference": f"urn:li:organization:{2414183 + n}",
                "test": False,
            }
            for n in range(2)
        ]
        self.campaigns = [
            {
                "id": 190000000 + n,
                "account": f"urn:li:sponsoredAccount:{ACCOUNT_ID}",
                "name": f"Campaign {n}",
                "status": "ACTIVE",
                "type": "SPONSORED_UPDATES",
                "campaignGroup": "urn:li:sponsoredCampaignGroup:600001",
                "dailyBudget": {"amount": "50", "currencyCode": "USD"},
                "runSchedule": {"start": 1735689600000},
            }
            for n in range(1, campaigns + 1)
        ]
        self.api = DocumentedAPI(
            [
                Endpoint(
                    "GET", "/adAccounts", self.search(lambda call: self.accounts), required_query=("q",)
                ),
                Endpoint("GET", "/adAccounts/{id:int}", self.get_account),
                Endpoint(
                    "GET",
                    "/adAccounts/{id:int}/adCampaigns",
                    self.search(self._campaigns),
                    required_query=("q",),
                ),
            ],
            credentials=[bearer(TOKEN)],
            unauthorized=(
                401,
                {
                    "status": 401,
                    "serviceErrorCode": 65600,
                    "code": "INVALID_ACCESS_TOKEN",
                    "message": "Invalid access token",
                },
            ),
            invalid=lambda missing: (
                400,
                {"status": 400, "code": "QUERY_PARAM_NOT_ALLOWED", "message": f"{missing[0]} is required"},
            ),
            prefix="/rest",
        )
        self.app = self.api.app

    def _versioned(self, call: Call) -> Reply | None:
        if not call.headers.get("linkedin-version"):
            return _error(
                400,
                "VERSION_MISSING",
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
            )
        if call.headers.get("x-restli-protocol-version") != "2.0.0":
            return _error(400, "ILLEGAL_ARGUMENT", "Rest.li protocol 2.0.0 is required.")
        return None

    def _campaigns(self, call: Call) -> list[dict[str, Any]]:
        urn = f"urn:li:sponsoredAccount:{call.path_params['id']}"
        return [c for c in self.campaigns if c["account"] == urn]

    def search(self, rows_of: Any) -> Any:
        def answer(call: Call) -> Any:
            refused = self._versioned(call)
            if refused is not None:
                return refused
            if call.query["q"] != "search":
                return _error(400, "ILLEGAL_ARGUMENT", "Unknown finder")
            rows = rows_of(call)
            size = int(str(call.query.get("pageSize", "100")))
            start = int(str(call.query.get("pageToken") or "0"))
            metadata: dict[str, Any] = {}
            if start + size < len(rows):
                metadata["nextPageToken"] = str(start + size)
            return {"elements": rows[start : start + size], "metadata": metadata}

        return answer

    def get_account(self, call: Call) -> Any:
        refused = self._versioned(call)
        if refused is not None:
            return refused
        found = next((a for a in self.accounts if a["id"] == call.path_params["id"]), None)
        return found if found is not None else _error(404, "NOT_FOUND", "Not found")
