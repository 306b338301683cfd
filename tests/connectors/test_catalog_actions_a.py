"""Every action of the catalog entries activecampaign..klaviyo, run by the declarative engine
(``CONNECTORS[name].run_action``) against an emulator of the provider's documented endpoints:
what the provider received (method, path, query, body, where the credential went) and what the
action returned; then the provider's refusals (its own error message as ``ProviderError``, 401,
a rate limit) and the actions' schemas (valid JSON Schemas whose examples validate)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.http import ProviderAuthError, ProviderError
from server.connectors.registry import CONNECTORS
from tests.emulators import (
    activecampaign,
    airtable,
    anthropic,
    asana,
    box,
    brevo,
    calendly,
    clickup,
    close,
    dropbox,
    facebook_ads,
    freshdesk,
    freshsales,
    gitlab,
    google,
    intercom,
    jira,
    klaviyo,
)
from tests.emulators.documented import Call, DocumentedAPI

NAMES = (
    "activecampaign",
    "airtable",
    "anthropic",
    "asana",
    "box",
    "brevo",
    "calendly",
    "clickup",
    "close",
    "dropbox",
    "facebook_ads",
    "freshdesk",
    "freshsales",
    "gitlab",
    "google_ads",
    "google_analytics",
    "google_drive",
    "google_sheets",
    "intercom",
    "jira",
    "klaviyo",
)


@dataclass(frozen=True)
class Provider:
    """How to serve one integration's emulator and call it as a connection would."""

    make: Callable[[], Any]  # an emulator with ``app`` (and its DocumentedAPI), or a DocumentedAPI
    credentials: dict[str, Any]
    base: str  # appended to the emulator's URL: the definition's base URL path
    credential: str  # where the credential must arrive ("header:authorization", ...)
    parameters: dict[str, Any] = field(default_factory=dict)


def documented(emulator: Any) -> DocumentedAPI:
    if isinstance(emulator, DocumentedAPI):
        return emulator
    return getattr(emulator, "actions", None) or emulator.api


AUTHORIZATION = "header:authorization"
PROVIDERS: dict[str, Provider] = {
    "activecampaign": Provider(
        activecampaign.ActiveCampaignEmulator,
        {"secret_text": activecampaign.KEY},
        "/api/3",
        "header:api-token",
        {"account": "weir"},
    ),
    "airtable": Provider(airtable.AirtableEmulator, {"access_token": airtable.TOKEN}, "", AUTHORIZATION),
    "anthropic": Provider(anthropic.anthropic_api, {"secret_text": anthropic.KEY}, "/v1", "header:x-api-key"),
    "asana": Provider(
        asana.AsanaEmulator,
        {"access_token": asana.TOKEN},
        "/api/1.0",
        AUTHORIZATION,
        {"workspace_gid": asana.WORKSPACE},
    ),
    "box": Provider(box.box_api, {"access_token": box.TOKEN}, "/2.0", AUTHORIZATION),
    "brevo": Provider(brevo.BrevoEmulator, {"secret_text": brevo.KEY}, "/v3", "header:api-key"),
    "calendly": Provider(
        lambda: calendly.CalendlyEmulator(scheduled_events=2, event_types=2),
        {"access_token": calendly.TOKEN},
        "",
        AUTHORIZATION,
        {"organization": calendly.ORGANIZATION},
    ),
    "clickup": Provider(clickup.ClickUpEmulator, {"access_token": clickup.TOKEN}, "/api/v2", AUTHORIZATION),
    "close": Provider(lambda: close.CloseEmulator(leads=1), {"api_key": close.KEY}, "/api/v1", AUTHORIZATION),
    "dropbox": Provider(dropbox.dropbox_api, {"access_token": dropbox.TOKEN}, "/2", AUTHORIZATION),
    "facebook_ads": Provider(
        facebook_ads.facebook_api,
        {"access_token": facebook_ads.TOKEN},
        "/v23.0",
        AUTHORIZATION,
        {"ad_account_id": facebook_ads.ACCOUNT},
    ),
    "freshdesk": Provider(
        lambda: freshdesk.FreshdeskEmulator(tickets=1),
        {"api_key": freshdesk.KEY},
        "/api/v2",
        AUTHORIZATION,
        {"domain": "weir"},
    ),
    "freshsales": Provider(
        freshsales.FreshsalesEmulator,
        {"base_url": "https://acme.myfreshworks.com/crm/sales", "api_key": freshsales.KEY},
        "/crm/sales",
        AUTHORIZATION,
    ),
    "gitlab": Provider(
        lambda: gitlab.GitLabEmulator(projects=2, issues=2),
        {"access_token": gitlab.TOKEN},
        "/api/v4",
        AUTHORIZATION,
    ),
    "google_ads": Provider(
        google.ads_api,
        {"access_token": google.TOKEN},
        "/v22",
        AUTHORIZATION,
        {"developer_token": google.DEVELOPER_TOKEN},
    ),
    "google_analytics": Provider(
        google.analytics_api,
        {"access_token": google.TOKEN},
        "/v1beta",
        AUTHORIZATION,
        {"property_id": google.PROPERTY},
    ),
    "google_drive": Provider(google.drive_api, {"access_token": google.TOKEN}, "/drive/v3", AUTHORIZATION),
    "google_sheets": Provider(google.SheetsEmulator, {"access_token": google.TOKEN}, "", AUTHORIZATION),
    "intercom": Provider(intercom.IntercomEmulator, {"access_token": intercom.TOKEN}, "", AUTHORIZATION),
    "jira": Provider(
        jira.JiraEmulator,
        {"access_token": jira.TOKEN},
        # A template, as the definition's own: the engine fills {cloud_id} from the parameters.
        "/ex/jira/{cloud_id}/rest/api/3",
        AUTHORIZATION,
        {"cloud_id": jira.CLOUD_ID},
    ),
    "klaviyo": Provider(klaviyo.KlaviyoEmulator, {"secret_text": klaviyo.KEY}, "/api", AUTHORIZATION),
}


class Served:
    """One integration's emulator, served, and the context its connection's calls use."""

    def __init__(self, name: str, emulator: Any, url: str, http: httpx.AsyncClient) -> None:
        self.name = name
        self.provider = PROVIDERS[name]
        self.emulator = emulator
        self.api = documented(emulator)
        self.url = url
        self.http = http

    def context(self, credentials: dict[str, Any] | None = None) -> ConnectorContext:
        return ConnectorContext(
            http=self.http,
            base_url=self.url + self.provider.base,
            credentials=dict(credentials or self.provider.credentials),
            parameters=dict(self.provider.parameters),
            caller="action",
        )

    async def run(self, action: str, input: dict[str, Any], credentials: dict[str, Any] | None = None) -> Any:
        return await CONNECTORS[self.name].run_action(self.context(credentials), action, input)


@pytest.fixture
async def serve(serve_emulator: Any, http: httpx.AsyncClient) -> Callable[[str], Any]:
    async def start(name: str) -> Served:
        emulator = PROVIDERS[name].make()
        return Served(name, emulator, await serve_emulator(emulator.app), http)

    return start


@dataclass(frozen=True)
class Case:
    """One action call and what the provider must receive for it."""

    integration: str
    action: str
    input: dict[str, Any]
    method: str
    path: str
    # What the output must satisfy; None when the provider refuses this call here (``refused``).
    output: Callable[[Any], bool] | None
    query: dict[str, Any] = field(default_factory=dict)
    json: Any = None  # the exact JSON body; None: no body
    # The provider's status when the call is right but there is nothing to act on yet (the
    # read-back tests run it after creating what it needs).
    refused: int | None = None

    @property
    def id(self) -> str:
        return f"{self.integration}.{self.action}"


SHEET = google.SPREADSHEET
ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Steps"}]}],
}
CASES = [
    Case(
        "activecampaign",
        "create_contact",
        {"email": "ada@example.com", "first_name": "Ada"},
        "POST",
        "/api/3/contacts",
        lambda out: out["id"] == "1" and out["email"] == "ada@example.com" and out["firstName"] == "Ada",
        json={"contact": {"email": "ada@example.com", "firstName": "Ada"}},
    ),
    Case(
        "activecampaign",
        "list_contacts",
        {"search": "ada", "limit": 10},
        "GET",
        "/api/3/contacts",
        lambda out: out == {"contacts": [], "meta": {"total": "0"}},
        query={"search": "ada", "limit": "10"},
    ),
    Case(
        "airtable",
        "create_record",
        {
            "base_id": airtable.BASE,
            "table": "Projects",
            "fields": {"Name": "Launch", "Estimate": 3},
            "typecast": True,
        },
        "POST",
        f"/v0/{airtable.BASE}/Projects",
        lambda out: out["id"].startswith("rec") and out["fields"] == {"Name": "Launch", "Estimate": 3},
        json={"fields": {"Name": "Launch", "Estimate": 3}, "typecast": True},
    ),
    Case(
        "airtable",
        "list_records",
        {"base_id": airtable.BASE, "table": "Projects", "view": "Grid view", "page_size": 5},
        "GET",
        f"/v0/{airtable.BASE}/Projects",
        lambda out: out == {"records": []},
        query={"view": "Grid view", "pageSize": "5"},
    ),
    Case(
        "anthropic",
        "create_message",
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 64,
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hello"}],
        },
        "POST",
        "/v1/messages",
        lambda out: out["type"] == "message" and out["content"][0]["text"] == "You said: Hello",
        json={
            "model": "claude-sonnet-4-5",
            "max_tokens": 64,
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hello"}],
        },
    ),
    Case(
        "anthropic",
        "list_models",
        {"limit": 2},
        "GET",
        "/v1/models",
        lambda out: (
            len(out["data"]) == 2 and out["has_more"] is True and out["last_id"] == out["data"][1]["id"]
        ),
        query={"limit": "2"},
    ),
    Case(
        "asana",
        "create_task",
        {"name": "Write the post", "projects": ["1200000000000101"], "due_on": "2026-12-01"},
        "POST",
        "/api/1.0/tasks",
        lambda out: (
            out["resource_type"] == "task"
            and out["name"] == "Write the post"
            and out["due_on"] == "2026-12-01"
        ),
        json={
            "data": {
                "workspace": asana.WORKSPACE,
                "name": "Write the post",
                "projects": ["1200000000000101"],
                "due_on": "2026-12-01",
            }
        },
    ),
    Case(
        "asana",
        "list_projects",
        {"archived": False, "limit": 50},
        "GET",
        "/api/1.0/projects",
        lambda out: [p["name"] for p in out["data"]] == ["Launch", "Hiring"],
        query={"workspace": asana.WORKSPACE, "archived": "false", "limit": "50"},
    ),
    Case(
        "box",
        "list_folder_items",
        {"folder_id": "0", "limit": 2, "direction": "ASC"},
        "GET",
        "/2.0/folders/0/items",
        lambda out: out["total_count"] == 3 and [e["type"] for e in out["entries"]] == ["folder", "file"],
        query={"limit": "2", "direction": "ASC"},
    ),
    Case(
        "box",
        "search",
        {"query": "report", "type": "file", "ancestor_folder_ids": "0,2001"},
        "GET",
        "/2.0/search",
        lambda out: [e["name"] for e in out["entries"]] == ["Q3 report.pdf"],
        query={"query": "report", "type": "file", "ancestor_folder_ids": "0,2001"},
    ),
    Case(
        "box",
        "get_file",
        {"file_id": "1001"},
        "GET",
        "/2.0/files/1001",
        lambda out: out["name"] == "Q3 report.pdf" and out["size"] == 52133,
    ),
    Case(
        "brevo",
        "send_transactional_email",
        {
            "sender_email": "hello@example.com",
            "to": [{"email": "ada@example.com", "name": "Ada"}],
            "subject": "Welcome",
            "html_content": "<p>Hi</p>",
        },
        "POST",
        "/v3/smtp/email",
        lambda out: out["messageId"].endswith("@smtp-relay.mailin.fr>"),
        json={
            "sender": {"email": "hello@example.com"},
            "to": [{"email": "ada@example.com", "name": "Ada"}],
            "subject": "Welcome",
            "htmlContent": "<p>Hi</p>",
        },
    ),
    Case(
        "brevo",
        "create_contact",
        {"email": "ada@example.com", "attributes": {"FIRSTNAME": "Ada"}, "list_ids": [2]},
        "POST",
        "/v3/contacts",
        lambda out: out == {"id": 21},
        json={"email": "ada@example.com", "attributes": {"FIRSTNAME": "Ada"}, "listIds": [2]},
    ),
    Case(
        "brevo",
        "get_contact",
        {"identifier": "nobody@example.com"},
        "GET",
        "/v3/contacts/nobody@example.com",
        None,
        refused=404,  # test_brevo_contact_is_read_back_and_a_duplicate_is_refused reads a created one
    ),
    Case(
        "calendly",
        "list_event_types",
        {"active": True, "count": 1},
        "GET",
        "/event_types",
        lambda out: len(out["collection"]) == 1 and out["pagination"]["next_page_token"] == "PT1",
        query={"organization": calendly.ORGANIZATION, "active": "true", "count": "1"},
    ),
    Case(
        "calendly",
        "create_scheduling_link",
        {"event_type": "https://api.calendly.com/event_types/TYPE000000000001"},
        "POST",
        "/scheduling_links",
        lambda out: (
            out["booking_url"].startswith("https://calendly.com/d/") and out["owner_type"] == "EventType"
        ),
        json={
            "max_event_count": 1,
            "owner": "https://api.calendly.com/event_types/TYPE000000000001",
            "owner_type": "EventType",
        },
    ),
    Case(
        "calendly",
        "cancel_event",
        {"event_uuid": "EVENT000000000001", "reason": "Host is ill"},
        "POST",
        "/scheduled_events/EVENT000000000001/cancellation",
        lambda out: out["reason"] == "Host is ill" and out["canceler_type"] == "host",
        json={"reason": "Host is ill"},
    ),
    Case(
        "clickup",
        "create_task",
        {
            "list_id": clickup.LIST_ID,
            "name": "Call the supplier",
            "priority": 2,
            "tags": ["ops"],
            "due_date": 1735725600000,
        },
        "POST",
        f"/api/v2/list/{clickup.LIST_ID}/task",
        lambda out: out["name"] == "Call the supplier" and out["priority"]["priority"] == "high",
        json={"name": "Call the supplier", "priority": 2, "tags": ["ops"], "due_date": 1735725600000},
    ),
    Case(
        "clickup",
        "list_tasks",
        {"list_id": clickup.LIST_ID, "page": 0, "include_closed": True},
        "GET",
        f"/api/v2/list/{clickup.LIST_ID}/task",
        lambda out: out == {"tasks": [], "last_page": True},
        query={"page": "0", "include_closed": "true"},
    ),
    Case(
        "close",
        "create_lead",
        {
            "name": "Acme",
            "contacts": [{"name": "Ada", "emails": [{"email": "ada@acme.example.com", "type": "office"}]}],
        },
        "POST",
        "/api/v1/lead/",
        lambda out: (
            out["display_name"] == "Acme"
            and out["contacts"][0]["emails"][0]["email"] == "ada@acme.example.com"
        ),
        json={
            "name": "Acme",
            "contacts": [{"name": "Ada", "emails": [{"email": "ada@acme.example.com", "type": "office"}]}],
        },
    ),
    Case(
        "close",
        "get_lead",
        {"lead_id": "lead_00000000000000000001"},
        "GET",
        "/api/v1/lead/lead_00000000000000000001/",
        lambda out: out["id"] == "lead_00000000000000000001" and out["display_name"] == "Lead 1",
    ),
    Case(
        "close",
        "create_note",
        {"lead_id": "lead_00000000000000000001", "note": "Wants a demo."},
        "POST",
        "/api/v1/activity/note/",
        lambda out: out["id"].startswith("acti_") and out["note"] == "Wants a demo.",
        json={"lead_id": "lead_00000000000000000001", "note": "Wants a demo."},
    ),
    Case(
        "dropbox",
        "list_folder",
        {"path": "", "recursive": True},
        "POST",
        "/2/files/list_folder",
        lambda out: (
            [e["name"] for e in out["entries"]] == ["Docs", "report.pdf"] and out["has_more"] is False
        ),
        json={"path": "", "recursive": True},
    ),
    Case(
        "dropbox",
        "get_metadata",
        {"path": "/Docs/report.pdf"},
        "POST",
        "/2/files/get_metadata",
        lambda out: out[".tag"] == "file" and out["size"] == 7212,
        json={"path": "/Docs/report.pdf"},
    ),
    Case(
        "dropbox",
        "search_files",
        {"query": "report", "max_results": 5},
        "POST",
        "/2/files/search_v2",
        lambda out: out["matches"][0]["metadata"]["metadata"]["name"] == "report.pdf",
        json={"query": "report", "options": {"max_results": 5}},
    ),
    Case(
        "facebook_ads",
        "list_campaigns",
        {"limit": 25},
        "GET",
        f"/v23.0/act_{facebook_ads.ACCOUNT}/campaigns",
        lambda out: [c["name"] for c in out["data"]] == ["Spring sale", "Brand"],
        query={
            "fields": "id,name,objective,status,effective_status,daily_budget,lifetime_budget,start_time,stop_time",
            "limit": "25",
        },
    ),
    Case(
        "facebook_ads",
        "get_insights",
        {"date_preset": "last_7d", "level": "campaign"},
        "GET",
        f"/v23.0/act_{facebook_ads.ACCOUNT}/insights",
        lambda out: [r["campaign_name"] for r in out["data"]] == ["Spring sale", "Brand"],
        query={
            "fields": "campaign_id,campaign_name,adset_id,adset_name,ad_id,ad_name,impressions,clicks,spend,reach,ctr,cpc",
            "date_preset": "last_7d",
            "level": "campaign",
        },
    ),
    Case(
        "freshdesk",
        "create_ticket",
        {"email": "ada@example.com", "subject": "Cannot log in", "description": "<p>Help</p>", "priority": 3},
        "POST",
        "/api/v2/tickets",
        lambda out: (
            out["id"] == 2
            and out["subject"] == "Cannot log in"
            and out["priority"] == 3
            and out["status"] == 2
        ),
        json={
            "email": "ada@example.com",
            "subject": "Cannot log in",
            "description": "<p>Help</p>",
            "priority": 3,
        },
    ),
    Case(
        "freshdesk",
        "get_ticket",
        {"ticket_id": 1},
        "GET",
        "/api/v2/tickets/1",
        lambda out: out["id"] == 1 and out["subject"] == "Ticket 1",
    ),
    Case(
        "freshdesk",
        "reply_to_ticket",
        {"ticket_id": 1, "body": "<p>Fixed</p>"},
        "POST",
        "/api/v2/tickets/1/reply",
        lambda out: out["ticket_id"] == 1 and out["body_text"] == "Fixed",
        json={"body": "<p>Fixed</p>"},
    ),
    Case(
        "freshsales",
        "create_contact",
        {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
        "POST",
        "/crm/sales/api/contacts",
        lambda out: out["id"] == 7001 and out["display_name"] == "Ada Lovelace",
        json={"contact": {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}},
    ),
    Case(
        "freshsales",
        "search",
        {"query": "ada", "include": "contact"},
        "GET",
        "/crm/sales/api/search",
        lambda out: out == [],
        query={"q": "ada", "include": "contact"},
    ),
    Case(
        "gitlab",
        "create_issue",
        {
            "project": "group/project-001",
            "title": "Login fails",
            "labels": "bug,frontend",
            "confidential": True,
        },
        "POST",
        "/api/v4/projects/group/project-001/issues",
        lambda out: out["iid"] == 2 and out["labels"] == ["bug", "frontend"] and out["confidential"] is True,
        json={"title": "Login fails", "labels": "bug,frontend", "confidential": True},
    ),
    Case(
        "gitlab",
        "list_project_issues",
        {"project": "group/project-001", "state": "opened", "per_page": 20},
        "GET",
        "/api/v4/projects/group/project-001/issues",
        lambda out: [i["iid"] for i in out] == [1],
        query={"state": "opened", "per_page": "20"},
    ),
    Case(
        "gitlab",
        "comment_on_issue",
        {"project": "group/project-001", "issue_iid": 1, "body": "Fixed in !12."},
        "POST",
        "/api/v4/projects/group/project-001/issues/1/notes",
        lambda out: out["body"] == "Fixed in !12." and out["noteable_iid"] == 1,
        json={"body": "Fixed in !12."},
    ),
    Case(
        "google_ads",
        "list_accessible_customers",
        {},
        "GET",
        "/v22/customers:listAccessibleCustomers",
        lambda out: out["resourceNames"][0] == f"customers/{google.CUSTOMER}",
    ),
    Case(
        "google_ads",
        "search",
        {
            "customer_id": google.CUSTOMER,
            "query": "SELECT campaign.id, campaign.name, metrics.clicks FROM campaign",
        },
        "POST",
        f"/v22/customers/{google.CUSTOMER}/googleAds:search",
        lambda out: out["results"][0]["campaign"]["name"] == "Spring",
        json={"query": "SELECT campaign.id, campaign.name, metrics.clicks FROM campaign"},
    ),
    Case(
        "google_analytics",
        "run_report",
        {
            "start_date": "7daysAgo",
            "end_date": "yesterday",
            "dimensions": [{"name": "date"}],
            "metrics": [{"name": "activeUsers"}],
        },
        "POST",
        f"/v1beta/properties/{google.PROPERTY}:runReport",
        lambda out: (
            out["metricHeaders"] == [{"name": "activeUsers", "type": "TYPE_INTEGER"}] and out["rowCount"] == 1
        ),
        json={
            "dateRanges": [{"startDate": "7daysAgo", "endDate": "yesterday"}],
            "dimensions": [{"name": "date"}],
            "metrics": [{"name": "activeUsers"}],
        },
    ),
    Case(
        "google_analytics",
        "run_realtime_report",
        {"metrics": [{"name": "activeUsers"}], "limit": 10},
        "POST",
        f"/v1beta/properties/{google.PROPERTY}:runRealtimeReport",
        lambda out: out["rows"][0]["metricValues"] == [{"value": "42"}],
        json={"metrics": [{"name": "activeUsers"}], "limit": 10},
    ),
    Case(
        "google_drive",
        "list_files",
        {"q": "name contains 'report' and trashed = false", "page_size": 10},
        "GET",
        "/drive/v3/files",
        lambda out: [f["name"] for f in out["files"]] == ["Q3 report"],
        query={
            "q": "name contains 'report' and trashed = false",
            "pageSize": "10",
            "fields": "nextPageToken,files(id,name,mimeType,parents,size,createdTime,modifiedTime,webViewLink,trashed)",
            "supportsAllDrives": "true",
            "includeItemsFromAllDrives": "true",
        },
    ),
    Case(
        "google_drive",
        "get_file",
        {"file_id": google.FILES[1]["id"]},
        "GET",
        f"/drive/v3/files/{google.FILES[1]['id']}",
        lambda out: out["name"] == "Budget",
        query={
            "fields": "id,name,mimeType,parents,size,createdTime,modifiedTime,webViewLink,trashed,owners(emailAddress,displayName)",
            "supportsAllDrives": "true",
        },
    ),
    Case(
        "google_sheets",
        "get_values",
        {"spreadsheet_id": SHEET, "range": "Sheet1!A1:B10", "value_render_option": "FORMATTED_VALUE"},
        "GET",
        f"/v4/spreadsheets/{SHEET}/values/Sheet1!A1:B10",
        lambda out: out["values"] == [["Name", "Age"]],
        query={"valueRenderOption": "FORMATTED_VALUE"},
    ),
    Case(
        "google_sheets",
        "append_values",
        {
            "spreadsheet_id": SHEET,
            "range": "Sheet1",
            "values": [["Ada", 36]],
            "value_input_option": "USER_ENTERED",
        },
        "POST",
        f"/v4/spreadsheets/{SHEET}/values/Sheet1:append",
        lambda out: out["updates"]["updatedRange"] == "Sheet1!A2:B2" and out["updates"]["updatedCells"] == 2,
        query={"valueInputOption": "USER_ENTERED"},
        json={"majorDimension": "ROWS", "values": [["Ada", 36]]},
    ),
    Case(
        "google_sheets",
        "update_values",
        {
            "spreadsheet_id": SHEET,
            "range": "Sheet1!A2:B2",
            "values": [["Done", 3]],
            "value_input_option": "RAW",
        },
        "PUT",
        f"/v4/spreadsheets/{SHEET}/values/Sheet1!A2:B2",
        lambda out: out["updatedCells"] == 2 and out["updatedRange"] == "Sheet1!A2:B2",
        query={"valueInputOption": "RAW"},
        json={"majorDimension": "ROWS", "values": [["Done", 3]]},
    ),
    Case(
        "intercom",
        "create_contact",
        {"role": "user", "email": "ada@example.com", "external_id": "user-42"},
        "POST",
        "/contacts",
        lambda out: out["type"] == "contact" and out["external_id"] == "user-42",
        json={"role": "user", "email": "ada@example.com", "external_id": "user-42"},
    ),
    Case(
        "intercom",
        "find_contacts_by_email",
        {"email": "ada@example.com"},
        "POST",
        "/contacts/search",
        lambda out: out["type"] == "list" and out["total_count"] == 0,
        json={"query": {"field": "email", "operator": "=", "value": "ada@example.com"}},
    ),
    Case(
        "intercom",
        "reply_to_conversation",
        {
            "conversation_id": intercom.CONVERSATION,
            "admin_id": intercom.ADMIN,
            "body": "<p>Done</p>",
            "message_type": "note",
        },
        "POST",
        f"/conversations/{intercom.CONVERSATION}/reply",
        lambda out: out["conversation_parts"]["conversation_parts"][0]["part_type"] == "note",
        json={"type": "admin", "admin_id": intercom.ADMIN, "message_type": "note", "body": "<p>Done</p>"},
    ),
    Case(
        "jira",
        "create_issue",
        {
            "project_key": "WEIR",
            "issue_type": "Bug",
            "summary": "Login fails",
            "description": ADF,
            "labels": ["web"],
        },
        "POST",
        f"/ex/jira/{jira.CLOUD_ID}/rest/api/3/issue",
        lambda out: out["key"] == "WEIR-1" and out["id"] == "10001",
        json={
            "fields": {
                "project": {"key": "WEIR"},
                "issuetype": {"name": "Bug"},
                "summary": "Login fails",
                "description": ADF,
                "labels": ["web"],
            }
        },
    ),
    Case(
        "jira",
        "search_issues",
        {"jql": "project = WEIR ORDER BY created DESC", "fields": "summary,status", "max_results": 50},
        "GET",
        f"/ex/jira/{jira.CLOUD_ID}/rest/api/3/search/jql",
        lambda out: out == {"issues": [], "isLast": True},
        query={"jql": "project = WEIR ORDER BY created DESC", "fields": "summary,status", "maxResults": "50"},
    ),
    Case(
        "jira",
        "add_comment",
        {"issue": "WEIR-1", "text": "Fixed."},
        "POST",
        f"/ex/jira/{jira.CLOUD_ID}/rest/api/3/issue/WEIR-1/comment",
        None,
        refused=404,  # test_jira_issue_is_searched_and_commented comments on a created issue
        json={
            "body": {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Fixed."}]}],
            }
        },
    ),
    Case(
        "klaviyo",
        "create_profile",
        {"email": "ada@example.com", "first_name": "Ada", "properties": {"plan": "pro"}},
        "POST",
        "/api/profiles/",
        lambda out: out["type"] == "profile" and out["attributes"]["email"] == "ada@example.com",
        json={
            "data": {
                "type": "profile",
                "attributes": {
                    "email": "ada@example.com",
                    "first_name": "Ada",
                    "properties": {"plan": "pro"},
                },
            }
        },
    ),
    Case(
        "klaviyo",
        "create_event",
        {
            "metric": "Placed Order",
            "profile": {"email": "ada@example.com"},
            "properties": {"order_id": "1001"},
            "value": 42.5,
        },
        "POST",
        "/api/events/",
        lambda out: out == {},
        json={
            "data": {
                "type": "event",
                "attributes": {
                    "properties": {"order_id": "1001"},
                    "value": 42.5,
                    "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
                    "profile": {"data": {"type": "profile", "attributes": {"email": "ada@example.com"}}},
                },
            }
        },
    ),
]


def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def test_every_action_of_these_integrations_has_a_case_and_there_are_at_least_two_each() -> None:
    declared = {f"{name}.{a.name}" for name in NAMES for a in CONNECTORS[name].SPEC.actions}
    assert declared == {case.id for case in CASES}
    for name in NAMES:
        assert len(CONNECTORS[name].SPEC.actions) >= 2, name


@pytest.mark.parametrize("name", NAMES)
def test_schemas_are_valid_and_examples_and_cases_validate(name: str) -> None:
    for action in CONNECTORS[name].SPEC.actions:
        jsonschema.Draft202012Validator.check_schema(action.input_schema)
        jsonschema.Draft202012Validator.check_schema(action.output_schema)
        schema = action.input_schema
        assert schema["type"] == "object" and schema["additionalProperties"] is False, action.name
        assert schema.get("examples"), action.name
        for example in schema["examples"]:
            validator(schema).validate(example)
        for case in CASES:
            if case.id == f"{name}.{action.name}":
                validator(schema).validate(case.input)
        # A list, get or search changes nothing; a create, send, reply or cancel does.
        verb = action.name.split("_")[0]
        reads = {"list", "get", "search", "find", "run"}
        assert action.read_only == (verb in reads or action.name == "search"), action.name


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_action_sends_the_documented_request_and_returns_its_answer(serve: Any, case: Case) -> None:
    served = await serve(case.integration)
    if case.output is None:
        with pytest.raises(ProviderError) as refused:
            await served.run(case.action, case.input)
        assert refused.value.status == case.refused
    else:
        output = await served.run(case.action, case.input)
        assert case.output(output), output
        spec = CONNECTORS[case.integration].SPEC.action(case.action)
        validator(spec.output_schema).validate(output)

    call: Call = served.api.last()
    assert (call.method, call.path) == (case.method, case.path)
    assert call.query == case.query
    assert call.json == case.json
    assert call.credential == served.provider.credential
    if case.json is not None:
        assert "json" in call.headers["content-type"]


# -- what a host would do next: read back what it created ----------------------------------


async def test_airtable_created_record_is_listed_and_an_unknown_field_is_the_providers_error(
    serve: Any,
) -> None:
    served = await serve("airtable")
    base = {"base_id": airtable.BASE, "table": "Projects"}
    created = await served.run("create_record", {**base, "fields": {"Name": "Launch"}})
    listed = await served.run("list_records", base)
    assert listed["records"] == [created]

    with pytest.raises(ProviderError) as refused:
        await served.run("create_record", {**base, "fields": {"Owner": "Ada"}})
    assert refused.value.status == 422 and refused.value.message == 'Unknown field name: "Owner"'
    with pytest.raises(ProviderError) as refused:
        await served.run("list_records", {**base, "table": "Nope"})
    assert refused.value.status == 403 and "the requested model was not found" in refused.value.message


async def test_gitlab_created_issue_is_listed_with_a_project_id_too(serve: Any) -> None:
    served = await serve("gitlab")
    project = served.emulator.projects[1]
    created = await served.run("create_issue", {"project": str(project["id"]), "title": "Crash on save"})
    listed = await served.run(
        "list_project_issues", {"project": project["path_with_namespace"], "state": "opened"}
    )
    assert created["iid"] in [i["iid"] for i in listed] and listed[0]["title"] == "Crash on save"
    assert served.api.calls[0].path == f"/api/v4/projects/{project['id']}/issues"

    with pytest.raises(ProviderError) as refused:
        await served.run("create_issue", {"project": "group/missing", "title": "x"})
    assert refused.value.status == 404 and refused.value.message == "404 Project Not Found"


async def test_freshdesk_ticket_is_created_read_and_answered(serve: Any) -> None:
    served = await serve("freshdesk")
    ticket = await served.run(
        "create_ticket", {"email": "ada@example.com", "subject": "Help", "description": "<p>x</p>"}
    )
    assert (await served.run("get_ticket", {"ticket_id": ticket["id"]}))["subject"] == "Help"
    await served.run("reply_to_ticket", {"ticket_id": ticket["id"], "body": "<p>On it</p>"})
    assert served.emulator.replies[0]["ticket_id"] == ticket["id"]

    with pytest.raises(ProviderError) as refused:  # Freshdesk's "Validation failed" body
        await served.run("create_ticket", {"subject": "Help", "description": "<p>x</p>"})
    assert refused.value.status == 400 and refused.value.message.startswith(
        "Please fill at least 1 of requester_id"
    )


async def test_close_lead_and_note_and_an_unknown_lead(serve: Any) -> None:
    served = await serve("close")
    lead = await served.run("create_lead", {"name": "Acme"})
    assert (await served.run("get_lead", {"lead_id": lead["id"]}))["display_name"] == "Acme"
    with pytest.raises(ProviderError) as refused:
        await served.run("create_note", {"lead_id": "lead_0000missing", "note": "x"})
    assert refused.value.status == 400 and "Object does not exist." in refused.value.message


async def test_freshsales_created_contact_is_found_and_a_duplicate_is_refused(serve: Any) -> None:
    served = await serve("freshsales")
    await served.run("create_contact", {"email": "ada@example.com", "first_name": "Ada"})
    found = await served.run("search", {"query": "ada"})
    assert [(hit["name"], hit["type"]) for hit in found] == [("Ada", "contact")]
    with pytest.raises(ProviderError) as refused:
        await served.run("create_contact", {"email": "ada@example.com"})
    assert refused.value.status == 400 and "Email already exists" in refused.value.message


async def test_intercom_contact_is_found_and_a_duplicate_is_a_conflict(serve: Any) -> None:
    served = await serve("intercom")
    created = await served.run("create_contact", {"role": "lead", "email": "ada@example.com"})
    found = await served.run("find_contacts_by_email", {"email": "ada@example.com"})
    assert found["data"] == [created]
    assert served.api.last().headers["intercom-version"] == "2.11"
    with pytest.raises(ProviderError) as refused:
        await served.run("create_contact", {"role": "user", "email": "ada@example.com"})
    assert refused.value.status == 409 and refused.value.message.startswith(
        "A contact matching those details"
    )


async def test_jira_issue_is_searched_and_commented(serve: Any) -> None:
    served = await serve("jira")
    created = await served.run(
        "create_issue", {"project_key": "WEIR", "issue_type": "Task", "summary": "Ship it"}
    )
    found = await served.run("search_issues", {"jql": "project = WEIR", "fields": "summary"})
    assert [(i["key"], i["fields"]["summary"]) for i in found["issues"]] == [(created["key"], "Ship it")]
    comment = await served.run("add_comment", {"issue": created["key"], "text": "Done."})
    assert comment["body"]["content"][0]["content"][0]["text"] == "Done."

    with pytest.raises(ProviderError) as refused:  # Jira's errorMessages/errors body
        await served.run("create_issue", {"project_key": "NOPE", "issue_type": "Task", "summary": "x"})
    assert (
        refused.value.status == 400 and refused.value.message == "project: Specify a valid project ID or key"
    )


async def test_google_sheets_appended_rows_are_read_back(serve: Any) -> None:
    served = await serve("google_sheets")
    rows = {"spreadsheet_id": SHEET, "range": "Sheet1", "value_input_option": "RAW"}
    await served.run("append_values", {**rows, "values": [["Ada", 36], ["Grace", 45]]})
    values = await served.run("get_values", {"spreadsheet_id": SHEET, "range": "Sheet1"})
    assert values["values"] == [["Name", "Age"], ["Ada", 36], ["Grace", 45]]
    with pytest.raises(ProviderError) as refused:
        await served.run("get_values", {"spreadsheet_id": "1" * 44, "range": "Sheet1"})
    assert refused.value.status == 404 and refused.value.message == "Requested entity was not found."


async def test_brevo_contact_is_read_back_and_a_duplicate_is_refused(serve: Any) -> None:
    served = await serve("brevo")
    created = await served.run("create_contact", {"email": "ada@example.com"})
    assert (await served.run("get_contact", {"identifier": "ada@example.com"}))["id"] == created["id"]
    with pytest.raises(ProviderError) as refused:
        await served.run("create_contact", {"email": "ada@example.com"})
    assert refused.value.status == 400 and "already associated with another Contact" in refused.value.message
    # update_enabled: Brevo updates the contact and answers 204 with no body.
    assert await served.run("create_contact", {"email": "ada@example.com", "update_enabled": True}) == {}


async def test_activecampaign_and_klaviyo_duplicates_carry_their_json_api_reason(serve: Any) -> None:
    served = await serve("activecampaign")
    await served.run("create_contact", {"email": "ada@example.com"})
    with pytest.raises(ProviderError) as refused:
        await served.run("create_contact", {"email": "ada@example.com"})
    assert (
        refused.value.status == 422 and refused.value.message == "Email address already exists in the system."
    )

    served = await serve("klaviyo")
    await served.run("create_profile", {"email": "ada@example.com"})
    assert served.api.last().headers["revision"] == "2024-10-15"
    assert served.api.last().headers["content-type"] == "application/vnd.api+json"
    with pytest.raises(ProviderError) as refused:
        await served.run("create_profile", {"email": "ada@example.com"})
    assert refused.value.status == 409
    assert refused.value.message == "A profile already exists with one of these identifiers."


async def test_calendly_event_is_cancelled_once(serve: Any) -> None:
    served = await serve("calendly")
    await served.run("cancel_event", {"event_uuid": "EVENT000000000002"})
    assert served.emulator.data["scheduled_events"][1]["status"] == "canceled"
    with pytest.raises(ProviderError) as refused:
        await served.run("cancel_event", {"event_uuid": "EVENT000000000002"})
    assert refused.value.status == 403 and refused.value.message == "Event is already canceled"


async def test_dropbox_missing_path_is_a_409_and_bad_input_a_text_400(serve: Any) -> None:
    served = await serve("dropbox")
    with pytest.raises(ProviderError) as refused:
        await served.run("get_metadata", {"path": "/Nope"})
    assert refused.value.status == 409
    with pytest.raises(ProviderError) as refused:
        await served.run("search_files", {})  # what the input schema would have refused
    assert refused.value.status == 400 and "missing required field 'query'" in refused.value.message


# -- credentials, headers and rate limits ----------------------------------------------------


WRONG = {
    "anthropic": ({"secret_text": "sk-ant-wrong"}, "list_models", {}, "invalid x-api-key"),
    "asana": ({"access_token": "wrong"}, "list_projects", {}, "Not Authorized"),
    "gitlab": ({"access_token": "glpat-wrong"}, "list_project_issues", {"project": "1"}, "401 Unauthorized"),
    "google_drive": ({"access_token": "ya29.wrong"}, "list_files", {}, "Request had invalid authentication"),
    "intercom": (
        {"access_token": "wrong"},
        "find_contacts_by_email",
        {"email": "a@b.c"},
        "Access Token Invalid",
    ),
    "klaviyo": (
        {"secret_text": "pk_wrong"},
        "create_event",
        {"metric": "x", "profile": {"email": "a@b.c"}, "properties": {}},
        "Missing or invalid private key.",
    ),
    "freshdesk": ({"api_key": "wrong-key-123"}, "get_ticket", {"ticket_id": 1}, "You have to be logged in"),
    "jira": ({"access_token": "wrong"}, "search_issues", {"jql": "project = WEIR"}, "Unauthorized"),
}


@pytest.mark.parametrize("name", sorted(WRONG))
async def test_a_refused_credential_is_a_provider_auth_error_with_the_providers_reason(
    serve: Any, name: str
) -> None:
    served = await serve(name)
    credentials, action, input, reason = WRONG[name]
    with pytest.raises(ProviderAuthError) as refused:
        await served.run(action, input, credentials)
    assert refused.value.status == 401 and reason in refused.value.message
    assert "wrong" not in refused.value.message


async def test_a_refused_token_is_refreshed_once_and_the_action_retried(serve: Any, refresher: Any) -> None:
    served = await serve("google_sheets")
    refresh = refresher({"access_token": google.TOKEN})
    context = served.context({"access_token": "ya29.expired"})
    context.refresh_credentials = refresh
    output = await CONNECTORS["google_sheets"].run_action(
        context, "get_values", {"spreadsheet_id": SHEET, "range": "Sheet1"}
    )
    assert output["values"] == [["Name", "Age"]] and refresh.calls == 1
    assert [c.credential for c in served.api.calls] == [AUTHORIZATION, AUTHORIZATION]


async def test_definition_headers_reach_the_provider(serve: Any) -> None:
    served = await serve("anthropic")
    await served.run("list_models", {})
    assert served.api.last().headers["anthropic-version"] == "2023-06-01"
    served = await serve("google_ads")
    await served.run("search", {"customer_id": google.CUSTOMER, "query": "SELECT campaign.id FROM campaign"})
    assert served.api.last().headers["developer-token"] == google.DEVELOPER_TOKEN


@pytest.mark.parametrize(
    "name,action,input",
    [
        ("airtable", "list_records", {"base_id": airtable.BASE, "table": "Projects"}),
        ("clickup", "list_tasks", {"list_id": clickup.LIST_ID}),
        (
            "anthropic",
            "create_message",
            {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
        ),
    ],
)
async def test_a_rate_limited_action_waits_and_is_sent_again(
    serve: Any, name: str, action: str, input: dict[str, Any]
) -> None:
    served = await serve(name)
    served.api.controls.rate_limit_once(retry_after=0)
    await served.run(action, input)
    assert len(served.api.calls) == 2 and served.api.calls[0].path == served.api.calls[1].path
