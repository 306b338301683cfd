"""Meta's Graph API (``/v23.0``) for the catalog's ad-account actions: ``GET /act_{id}/campaigns``
and ``GET /act_{id}/insights`` (``fields``, ``date_preset``, ``level``), records under ``data``
with ``paging``, behind an OAuth bearer token. Graph errors are ``{"error": {"message", "type",
"code", "fbtrace_id"}}``; an invalid token is code 190 with HTTP 400, not 401
(https://developers.facebook.com/docs/graph-api/guides/error-handling)."""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "EAAWeirEmulatorFacebookToken0001"
ACCOUNT = "1234567890"
CAMPAIGNS = [
    {
        "id": "120210000000000001",
        "name": "Spring sale",
        "objective": "OUTCOME_SALES",
        "status": "ACTIVE",
        "effective_status": "ACTIVE",
        "daily_budget": "5000",
    },
    {
        "id": "120210000000000002",
        "name": "Brand",
        "objective": "OUTCOME_AWARENESS",
        "status": "PAUSED",
        "effective_status": "PAUSED",
        "daily_budget": "2000",
    },
]


def _error(message: str, code: int, kind: str = "OAuthException") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AWeirEmulator01"}}


def _account(call: Call) -> Reply | None:
    if call.path_params["account"] != ACCOUNT:
        message = (
            f"Unsupported get request. Object with ID 'act_{call.path_params['account']}' does not exist"
        )
        return Reply(400, _error(message, 100, "GraphMethodException"))
    return None


def _paging() -> dict[str, Any]:
    return {"cursors": {"before": "QVFIUkWeir", "after": "QVFIUkWeir"}}


def _campaigns(call: Call) -> dict[str, Any] | Reply:
    refused = _account(call)
    if refused is not None:
        return refused
    fields = str(call.query.get("fields", "id")).split(",")
    return {"data": [{k: c[k] for k in fields if k in c} for c in CAMPAIGNS], "paging": _paging()}


def _insights(call: Call) -> dict[str, Any] | Reply:
    refused = _account(call)
    if refused is not None:
        return refused
    level = call.query.get("level", "account")
    rows = []
    for n, campaign in enumerate(CAMPAIGNS if level == "campaign" else [None], start=1):
        row: dict[str, Any] = {
            "impressions": str(1000 * n),
            "clicks": str(40 * n),
            "spend": f"{12.5 * n:.2f}",
        }
        if campaign is not None:
            row.update(campaign_id=campaign["id"], campaign_name=campaign["name"])
        row.update(date_start="2025-01-01", date_stop="2025-01-07")
        rows.append(row)
    return {"data": rows, "paging": _paging()}


def facebook_api() -> DocumentedAPI:
    return DocumentedAPI(
        [
            Endpoint("GET", "/act_{account}/campaigns", _campaigns),
            Endpoint("GET", "/act_{account}/insights", _insights),
        ],
        credentials=[bearer(TOKEN)],
        unauthorized=(400, _error("Invalid OAuth access token - Cannot parse access token", 190)),
        rate_limited=_error("(#17) User request limit reached", 17),
        prefix="/v23.0",
    )
