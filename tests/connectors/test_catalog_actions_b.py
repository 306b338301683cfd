"""Every action of the catalog's Linear, LinkedIn Ads, Mailchimp, Mixpanel, monday.com, Notion,
OpenAI, Pipedrive, QuickBooks, Salesforce, SendGrid, Shopify, Slack, Stripe, Trello, Twilio,
Typeform, Xero, Zendesk, Zoho CRM and Zoom entries, run through ``run_action`` against an emulator
of the provider's documented endpoint.

Each case says what the provider must receive (method, path, query, JSON or form body, where the
credential went) and checks the output, which must also match the action's ``output_schema``.
A recorder in front of each emulator keeps every request exactly as it arrived.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jsonschema
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.http import ProviderAuthError, ProviderError
from server.connectors.registry import CONNECTORS
from tests.connectors.conftest import collect
from tests.emulators import (
    linear,
    linkedin_ads,
    mailchimp,
    mixpanel,
    monday,
    notion,
    openai,
    pipedrive,
    quickbooks,
    salesforce,
    sendgrid,
    shopify,
    slack,
    stripe,
    trello,
    twilio,
    typeform,
    xero,
    zendesk,
    zoho_crm,
    zoom,
)
from tests.emulators.documented import Call

INTEGRATIONS = (
    "linear linkedin_ads mailchimp mixpanel monday notion openai pipedrive quickbooks salesforce "
    "sendgrid shopify slack stripe trello twilio typeform xero zendesk zoho_crm zoom"
).split()


# -- what the emulators received ---------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str | list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def form(self) -> dict[str, str]:
        assert self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


class Recorder:
    """An ASGI app in front of an emulator that keeps every request as it arrived."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[Seen] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        query: dict[str, str | list[str]] = {}
        for name, value in parse_qsl(scope["query_string"].decode(), keep_blank_values=True):
            if name in query:
                previous = query[name]
                query[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                query[name] = value
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Seen(scope["method"], scope["path"], query, headers, body))
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def last(self) -> Seen:
        assert self.requests, "the emulator received no request"
        return self.requests[-1]


# -- the providers -----------------------------------------------------------------------------


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass(frozen=True)
class Provider:
    emulator: Callable[[], Any]
    base: str  # the path of the real base URL, served by the emulator
    credentials: dict[str, Any]
    auth: tuple[str, str, str]  # ("header" | "query", name, value) every call must carry
    parameters: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # other headers every call carries


QB_BASE = f"/v3/company/{quickbooks.REALM_ID}"
PROVIDERS: dict[str, Provider] = {
    "slack": Provider(
        slack.SlackEmulator,
        "/api",
        {"access_token": slack.TOKEN},
        ("header", "authorization", f"Bearer {slack.TOKEN}"),
    ),
    "sendgrid": Provider(
        sendgrid.SendGridEmulator,
        "",
        {"secret_text": sendgrid.KEY},
        ("header", "authorization", f"Bearer {sendgrid.KEY}"),
    ),
    "openai": Provider(
        openai.OpenAIEmulator,
        "",
        {"secret_text": openai.KEY},
        ("header", "authorization", f"Bearer {openai.KEY}"),
    ),
    "stripe": Provider(
        lambda: stripe.StripeEmulator(customers=2),
        "",
        {"secret_text": stripe.KEY},
        ("header", "authorization", f"Bearer {stripe.KEY}"),
    ),
    "twilio": Provider(
        lambda: twilio.TwilioEmulator(messages=3),
        twilio.VERSION,
        {"username": twilio.ACCOUNT_SID, "password": twilio.AUTH_TOKEN},
        ("header", "authorization", _basic(twilio.ACCOUNT_SID, twilio.AUTH_TOKEN)),
    ),
    "notion": Provider(
        lambda: notion.NotionEmulator(databases=1),
        "/v1",
        {"access_token": notion.TOKEN},
        ("header", "authorization", f"Bearer {notion.TOKEN}"),
        headers={"notion-version": "2022-06-28"},
    ),
    "linear": Provider(
        linear.LinearEmulator,
        "",
        {"access_token": linear.TOKEN},
        ("header", "authorization", f"Bearer {linear.TOKEN}"),
    ),
    "salesforce": Provider(
        lambda: salesforce.SalesforceEmulator(accounts=2),
        f"/services/data/{salesforce.VERSION}",
        {"access_token": salesforce.TOKEN},
        ("header", "authorization", f"Bearer {salesforce.TOKEN}"),
        parameters={"my_domain": "acme"},
    ),
    "zendesk": Provider(
        lambda: zendesk.ZendeskEmulator(tickets=1),
        "/api/v2",
        {"access_token": zendesk.TOKEN},
        ("header", "authorization", f"Bearer {zendesk.TOKEN}"),
        parameters={"subdomain": "acme"},
    ),
    "shopify": Provider(
        lambda: shopify.ShopifyEmulator(orders=1, products=1),
        shopify.PREFIX,
        {"access_token": shopify.TOKEN},
        ("header", "x-shopify-access-token", shopify.TOKEN),
        parameters={"shop": "acme"},
    ),
    "pipedrive": Provider(
        lambda: pipedrive.PipedriveEmulator(persons=2),
        "/api",
        {"secret_text": pipedrive.TOKEN},
        ("query", "api_token", pipedrive.TOKEN),
        parameters={"company_domain": "acme"},
    ),
    "xero": Provider(
        lambda: xero.XeroEmulator(invoices=3, contacts=1),
        xero.PREFIX,
        {"access_token": xero.TOKEN},
        ("header", "authorization", f"Bearer {xero.TOKEN}"),
        parameters={"tenant_id": xero.TENANT_ID},
        headers={"xero-tenant-id": xero.TENANT_ID},
    ),
    "mailchimp": Provider(
        mailchimp.MailchimpEmulator,
        "/3.0",
        {"api_key": mailchimp.API_KEY},
        ("header", "authorization", _basic("weir", mailchimp.API_KEY)),
        parameters={"dc": "us6"},
    ),
    "zoom": Provider(
        zoom.ZoomEmulator,
        "/v2",
        {"access_token": zoom.TOKEN},
        ("header", "authorization", f"Bearer {zoom.TOKEN}"),
    ),
    "trello": Provider(
        trello.TrelloEmulator,
        "/1",
        {"api_key": trello.API_KEY, "access_token": trello.ACCESS_TOKEN},
        ("header", "authorization", trello.AUTHORIZATION),
    ),
    "typeform": Provider(
        typeform.TypeformEmulator,
        "",
        {"access_token": typeform.TOKEN},
        ("header", "authorization", f"Bearer {typeform.TOKEN}"),
    ),
    "zoho_crm": Provider(
        zoho_crm.ZohoCRMEmulator,
        "/crm/v7",
        {"access_token": zoho_crm.TOKEN},
        ("header", "authorization", f"Zoho-oauthtoken {zoho_crm.TOKEN}"),
    ),
    "quickbooks": Provider(
        quickbooks.QuickBooksEmulator,
        QB_BASE,
        {"access_token": quickbooks.TOKEN},
        ("header", "authorization", f"Bearer {quickbooks.TOKEN}"),
        parameters={"realm_id": quickbooks.REALM_ID},
    ),
    "mixpanel": Provider(
        mixpanel.MixpanelEmulator,
        "/api",
        {"username": mixpanel.USERNAME, "password": mixpanel.SECRET},
        ("header", "authorization", _basic(mixpanel.USERNAME, mixpanel.SECRET)),
        parameters={"api_host": "mixpanel.com"},
    ),
    "linkedin_ads": Provider(
        linkedin_ads.LinkedInAdsEmulator,
        "/rest",
        {"access_token": linkedin_ads.TOKEN},
        ("header", "authorization", f"Bearer {linkedin_ads.TOKEN}"),
        headers={"linkedin-version": "202601", "x-restli-protocol-version": "2.0.0"},
    ),
    "monday": Provider(
        monday.MondayEmulator,
        "",
        {"access_token": monday.TOKEN},
        ("header", "authorization", monday.TOKEN),
    ),
}


# -- the cases ---------------------------------------------------------------------------------

NO_BODY = object()
DATABASE_ID = "00000000-0000-0000-0000-00003b9aca01"  # the Notion emulator's first database
SALESFORCE_ACCOUNT = "001WEIR00000000001"
LINEAR_MUTATION = (
    "mutation IssueCreate($input: IssueCreateInput!) { issueCreate(input: $input) "
    "{ success issue { id identifier title url } } }"
)
MONDAY_MUTATION = (
    "mutation CreateItem($boardId: ID!, $itemName: String!, $groupId: String, $columnValues: JSON) "
    "{ create_item(board_id: $boardId, item_name: $itemName, group_id: $groupId, "
    "column_values: $columnValues) { id name board { id } } }"
)


@dataclass(frozen=True)
class Case:
    integration: str
    action: str
    input: dict[str, Any]
    method: str
    path: str  # after the base path
    output: Callable[[Any], bool]
    query: dict[str, Any] = field(default_factory=dict)
    json: Any = NO_BODY
    form: dict[str, str] | None = None
    setup: Callable[[Any], None] | None = None

    @property
    def id(self) -> str:
        return f"{self.integration}.{self.action}"


def _notion_page(emulator: Any) -> None:
    title = {"title": [{"text": {"content": "Ship it"}}]}
    emulator.add(
        "page", parent={"type": "database_id", "database_id": DATABASE_ID}, properties={"Name": title}
    )
    emulator.add("page", parent={"type": "database_id", "database_id": DATABASE_ID}, properties={})


def _zoho_lead(emulator: Any) -> None:
    emulator.records["Leads"].append(
        {"id": "5725767000000000001", "Last_Name": "Lovelace", "Email": "ada@example.com"}
    )


def _zoom_meeting(emulator: Any) -> None:
    emulator.create(_call({"topic": "Standup", "start_time": "2025-07-01T09:00:00Z", "duration": 15}))


def _call(body: Any) -> Call:
    return Call(method="POST", path="/", query={}, headers={}, json=body)


def _input(integration: str, action: str) -> dict[str, Any]:
    """The input of that action's case (a valid one)."""
    return next(c.input for c in CASES if (c.integration, c.action) == (integration, action))


CASES: list[Case] = [
    # Slack
    Case(
        "slack",
        "send_message",
        {"channel": "C0WEIR0001", "text": "Deploy done\nall green", "thread_ts": "1700000000.000001"},
        "POST",
        "/chat.postMessage",
        json={"channel": "C0WEIR0001", "text": "Deploy done\nall green", "thread_ts": "1700000000.000001"},
        output=lambda out: (
            out["ok"] and out["channel"] == "C0WEIR0001" and out["message"]["text"].endswith("green")
        ),
    ),
    Case(
        "slack",
        "list_channels",
        {"exclude_archived": True, "limit": 10},
        "GET",
        "/conversations.list",
        query={"exclude_archived": "true", "limit": "10"},
        output=lambda out: [c["id"] for c in out["channels"]] == ["C0WEIR0001"],
    ),
    # SendGrid
    Case(
        "sendgrid",
        "send_email",
        {
            "from": {"email": "billing@acme.test", "name": "Acme"},
            "to": [{"email": "ada@example.com"}],
            "bcc": [{"email": "archive@acme.test"}],
            "subject": "Your invoice",
            "content": [{"type": "text/plain", "value": "Hello Ada"}],
        },
        "POST",
        "/v3/mail/send",
        json={
            "personalizations": [
                {"to": [{"email": "ada@example.com"}], "bcc": [{"email": "archive@acme.test"}]}
            ],
            "from": {"email": "billing@acme.test", "name": "Acme"},
            "subject": "Your invoice",
            "content": [{"type": "text/plain", "value": "Hello Ada"}],
        },
        output=lambda out: out == {},
    ),
    Case(
        "sendgrid",
        "list_templates",
        {"generations": "dynamic", "page_size": 10},
        "GET",
        "/v3/templates",
        query={"generations": "dynamic", "page_size": "10"},
        output=lambda out: [t["name"] for t in out["result"]] == ["Welcome"],
    ),
    # OpenAI
    Case(
        "openai",
        "create_chat_completion",
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}], "temperature": 0},
        "POST",
        "/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}], "temperature": 0},
        output=lambda out: out["choices"][0]["message"]["content"] == "echo: ping",
    ),
    Case(
        "openai",
        "list_models",
        {},
        "GET",
        "/v1/models",
        output=lambda out: [m["id"] for m in out] == list(openai.MODELS),
    ),
    Case(
        "openai",
        "create_embedding",
        {"model": "text-embedding-3-small", "input": ["a", "bb"]},
        "POST",
        "/v1/embeddings",
        json={"model": "text-embedding-3-small", "input": ["a", "bb"]},
        output=lambda out: [d["index"] for d in out["data"]] == [0, 1],
    ),
    # Stripe: form-encoded writes
    Case(
        "stripe",
        "create_customer",
        {"email": "ada@example.com", "name": "Ada Lovelace", "metadata": {"plan": "pro"}},
        "POST",
        "/v1/customers",
        form={"email": "ada@example.com", "name": "Ada Lovelace", "metadata[plan]": "pro"},
        output=lambda out: out["id"].startswith("cus_") and out["metadata"] == {"plan": "pro"},
    ),
    Case(
        "stripe",
        "list_customers",
        {"email": "customer2@example.com", "limit": 5},
        "GET",
        "/v1/customers",
        query={"email": "customer2@example.com", "limit": "5"},
        output=lambda out: [c["id"] for c in out["data"]] == ["cus_00000002"] and out["has_more"] is False,
    ),
    Case(
        "stripe",
        "get_customer",
        {"customer_id": "cus_00000001"},
        "GET",
        "/v1/customers/cus_00000001",
        output=lambda out: out["email"] == "customer1@example.com",
    ),
    # Twilio: form body, the Account SID in the path
    Case(
        "twilio",
        "send_sms",
        {"to": "+15558675310", "from": "+15005550006", "body": "Your code is 123456"},
        "POST",
        f"/Accounts/{twilio.ACCOUNT_SID}/Messages.json",
        form={"To": "+15558675310", "From": "+15005550006", "Body": "Your code is 123456"},
        output=lambda out: out["sid"].startswith("SM") and out["status"] == "queued",
    ),
    Case(
        "twilio",
        "list_messages",
        {"to": "+14155550002", "page_size": 20},
        "GET",
        f"/Accounts/{twilio.ACCOUNT_SID}/Messages.json",
        query={"To": "+14155550002", "PageSize": "20"},
        output=lambda out: [m["to"] for m in out["messages"]] == ["+14155550002"],
    ),
    # Notion
    Case(
        "notion",
        "create_page",
        {"database_id": DATABASE_ID, "properties": {"Name": {"title": [{"text": {"content": "Ship it"}}]}}},
        "POST",
        "/pages",
        json={
            "parent": {"database_id": DATABASE_ID},
            "properties": {"Name": {"title": [{"text": {"content": "Ship it"}}]}},
        },
        output=lambda out: (
            out["object"] == "page" and out["properties"]["Name"]["title"][0]["text"]["content"] == "Ship it"
        ),
    ),
    Case(
        "notion",
        "query_database",
        {
            "database_id": DATABASE_ID,
            "filter": {"property": "Name", "title": {"equals": "Ship it"}},
            "page_size": 10,
        },
        "POST",
        f"/databases/{DATABASE_ID}/query",
        json={"filter": {"property": "Name", "title": {"equals": "Ship it"}}, "page_size": 10},
        setup=_notion_page,
        output=lambda out: len(out["results"]) == 1 and out["has_more"] is False,
    ),
    # Linear: GraphQL
    Case(
        "linear",
        "create_issue",
        {"team_id": "team-eng", "title": "Crash on login", "priority": 2},
        "POST",
        "/graphql",
        json={
            "query": LINEAR_MUTATION,
            "variables": {"input": {"teamId": "team-eng", "title": "Crash on login", "priority": 2}},
        },
        output=lambda out: out["success"] and out["issue"]["identifier"] == "ENG-1",
    ),
    Case(
        "linear",
        "list_teams",
        {},
        "POST",
        "/graphql",
        json={"query": "query Teams { teams(first: 250) { nodes { id key name } } }"},
        output=lambda out: out == [{"id": "team-eng", "key": "ENG", "name": "Engineering"}],
    ),
    # Salesforce
    Case(
        "salesforce",
        "create_record",
        {"sobject": "Contact", "fields": {"LastName": "Lovelace", "Email": "ada@example.com"}},
        "POST",
        "/sobjects/Contact/",
        json={"LastName": "Lovelace", "Email": "ada@example.com"},
        output=lambda out: out["success"] and out["id"].startswith("003") and out["errors"] == [],
    ),
    Case(
        "salesforce",
        "query",
        {"soql": "SELECT Id, Name FROM Account"},
        "GET",
        "/query",
        query={"q": "SELECT Id, Name FROM Account"},
        output=lambda out: out["totalSize"] == 2 and out["records"][0]["Name"] == "Account 1",
    ),
    Case(
        "salesforce",
        "get_record",
        {"sobject": "Account", "id": SALESFORCE_ACCOUNT, "fields": "Id,Name"},
        "GET",
        f"/sobjects/Account/{SALESFORCE_ACCOUNT}",
        query={"fields": "Id,Name"},
        output=lambda out: out["Name"] == "Account 1" and set(out) == {"attributes", "Id", "Name"},
    ),
    # Zendesk
    Case(
        "zendesk",
        "create_ticket",
        {
            "subject": "Printer on fire",
            "comment": "Smoke everywhere",
            "priority": "urgent",
            "requester": {"email": "ada@example.com", "name": "Ada"},
        },
        "POST",
        "/tickets.json",
        json={
            "ticket": {
                "subject": "Printer on fire",
                "comment": {"body": "Smoke everywhere"},
                "priority": "urgent",
                "requester": {"email": "ada@example.com", "name": "Ada"},
            }
        },
        output=lambda out: out["subject"] == "Printer on fire" and out["status"] == "new",
    ),
    Case(
        "zendesk",
        "get_ticket",
        {"ticket_id": 1001},
        "GET",
        "/tickets/1001.json",
        output=lambda out: out["id"] == 1001 and out["subject"] == "Ticket 1",
    ),
    Case(
        "zendesk",
        "add_comment",
        {"ticket_id": 1001, "body": "Looking into it", "public": False, "status": "pending"},
        "PUT",
        "/tickets/1001.json",
        json={"ticket": {"comment": {"body": "Looking into it", "public": False}, "status": "pending"}},
        output=lambda out: out["id"] == 1001 and out["status"] == "pending",
    ),
    # Shopify
    Case(
        "shopify",
        "create_product",
        {"title": "Blue Mug", "vendor": "Acme", "status": "draft"},
        "POST",
        "/products.json",
        json={"product": {"title": "Blue Mug", "vendor": "Acme", "status": "draft"}},
        output=lambda out: (
            out["title"] == "Blue Mug" and out["status"] == "draft" and out["handle"] == "blue-mug"
        ),
    ),
    Case(
        "shopify",
        "get_product",
        {"product_id": 450789470},
        "GET",
        "/products/450789470.json",
        output=lambda out: out["id"] == 450789470 and out["title"] == "Product 1",
    ),
    Case(
        "shopify",
        "get_order",
        {"order_id": 450789471},
        "GET",
        "/orders/450789471.json",
        output=lambda out: out["id"] == 450789471 and out["name"] == "#1001",
    ),
    # Pipedrive: the token in the query
    Case(
        "pipedrive",
        "create_deal",
        {"title": "Acme renewal", "value": 5000, "currency": "EUR", "person_id": 1},
        "POST",
        "/v2/deals",
        json={"title": "Acme renewal", "value": 5000, "currency": "EUR", "person_id": 1},
        output=lambda out: out["title"] == "Acme renewal" and out["person_id"] == 1,
    ),
    Case(
        "pipedrive",
        "create_person",
        {"name": "Ada Lovelace", "emails": [{"value": "ada@example.com", "primary": True, "label": "work"}]},
        "POST",
        "/v2/persons",
        json={
            "name": "Ada Lovelace",
            "emails": [{"value": "ada@example.com", "primary": True, "label": "work"}],
        },
        output=lambda out: out["id"] == 3 and out["emails"][0]["value"] == "ada@example.com",
    ),
    Case(
        "pipedrive",
        "search_persons",
        {"term": "person2@example", "fields": "email"},
        "GET",
        "/v2/persons/search",
        query={"term": "person2@example", "fields": "email"},
        output=lambda out: [i["item"]["id"] for i in out["items"]] == [2],
    ),
    # Xero: the tenant in a header, objects wrapped in lists
    Case(
        "xero",
        "create_contact",
        {"name": "Acme Ltd", "email": "ap@acme.test"},
        "POST",
        "/Contacts",
        json={"Contacts": [{"Name": "Acme Ltd", "EmailAddress": "ap@acme.test"}]},
        output=lambda out: out["Name"] == "Acme Ltd" and out["EmailAddress"] == "ap@acme.test",
    ),
    Case(
        "xero",
        "list_invoices",
        {"statuses": "AUTHORISED,PAID", "page": 1},
        "GET",
        "/Invoices",
        query={"Statuses": "AUTHORISED,PAID", "page": "1"},
        output=lambda out: [i["InvoiceNumber"] for i in out] == ["INV-0001", "INV-0002", "INV-0003"],
    ),
    # Mailchimp
    Case(
        "mailchimp",
        "add_list_member",
        {
            "list_id": "a1b2c3d4e1",
            "email_address": "ada@example.com",
            "status": "pending",
            "merge_fields": {"FNAME": "Ada"},
            "tags": ["vip"],
        },
        "POST",
        "/lists/a1b2c3d4e1/members",
        json={
            "email_address": "ada@example.com",
            "status": "pending",
            "merge_fields": {"FNAME": "Ada"},
            "tags": ["vip"],
        },
        output=lambda out: out["status"] == "pending" and out["list_id"] == "a1b2c3d4e1",
    ),
    Case(
        "mailchimp",
        "list_audiences",
        {"count": 2},
        "GET",
        "/lists",
        query={"count": "2"},
        output=lambda out: out["total_items"] == 3 and len(out["lists"]) == 2,
    ),
    # Mixpanel
    Case(
        "mixpanel",
        "query_insights",
        {"project_id": mixpanel.PROJECT_ID, "bookmark_id": 777},
        "GET",
        "/query/insights",
        query={"project_id": str(mixpanel.PROJECT_ID), "bookmark_id": "777"},
        output=lambda out: "Sign up" in out["series"],
    ),
    Case(
        "mixpanel",
        "list_cohorts",
        {"project_id": mixpanel.PROJECT_ID},
        "POST",
        "/query/cohorts/list",
        query={"project_id": str(mixpanel.PROJECT_ID)},
        output=lambda out: [c["name"] for c in out] == ["Power users"],
    ),
    Case(
        "mixpanel",
        "query_profiles",
        {
            "project_id": mixpanel.PROJECT_ID,
            "where": 'properties["$email"] == "user2@example.com"',
            "output_properties": '["$email"]',
        },
        "POST",
        "/query/engage",
        query={"project_id": str(mixpanel.PROJECT_ID)},
        form={"where": 'properties["$email"] == "user2@example.com"', "output_properties": '["$email"]'},
        output=lambda out: [p["$distinct_id"] for p in out["results"]] == ["user-2"],
    ),
    # monday.com: GraphQL, the token as the whole Authorization value
    Case(
        "monday",
        "create_item",
        {
            "board_id": monday.BOARD_ID,
            "item_name": "Write launch post",
            "column_values": '{"status": {"label": "Done"}}',
        },
        "POST",
        "/v2",
        json={
            "query": MONDAY_MUTATION,
            "variables": {
                "boardId": monday.BOARD_ID,
                "itemName": "Write launch post",
                "columnValues": '{"status": {"label": "Done"}}',
            },
        },
        output=lambda out: out["name"] == "Write launch post" and out["board"]["id"] == monday.BOARD_ID,
    ),
    Case(
        "monday",
        "list_boards",
        {"limit": 1},
        "POST",
        "/v2",
        json={
            "query": "query Boards($limit: Int, $page: Int) { boards(limit: $limit, page: $page) "
            "{ id name state board_kind workspace_id } }",
            "variables": {"limit": 1},
        },
        output=lambda out: [b["id"] for b in out] == [monday.BOARD_ID],
    ),
    # QuickBooks
    Case(
        "quickbooks",
        "create_customer",
        {"DisplayName": "Ada's Mugs", "PrimaryEmailAddr": {"Address": "ada@example.com"}},
        "POST",
        "/customer",
        query={"minorversion": "75"},
        json={"DisplayName": "Ada's Mugs", "PrimaryEmailAddr": {"Address": "ada@example.com"}},
        output=lambda out: out["Id"] == "1" and out["DisplayName"] == "Ada's Mugs",
    ),
    Case(
        "quickbooks",
        "query",
        {"query": "select * from Invoice"},
        "GET",
        "/query",
        query={"query": "select * from Invoice", "minorversion": "75"},
        output=lambda out: [i["DocNumber"] for i in out["Invoice"]] == ["1037"],
    ),
    Case(
        "quickbooks",
        "get_invoice",
        {"invoice_id": "130"},
        "GET",
        "/invoice/130",
        query={"minorversion": "75"},
        output=lambda out: out["DocNumber"] == "1037" and out["Balance"] == 362.07,
    ),
    # Trello: card fields in the query
    Case(
        "trello",
        "create_card",
        {"list_id": trello.LIST_ID, "name": "Fix the login", "desc": "Steps to reproduce", "pos": "top"},
        "POST",
        "/cards",
        query={"idList": trello.LIST_ID, "name": "Fix the login", "desc": "Steps to reproduce", "pos": "top"},
        output=lambda out: out["idList"] == trello.LIST_ID and out["idBoard"] == trello.BOARD_ID,
    ),
    Case(
        "trello",
        "list_boards",
        {"filter": "open"},
        "GET",
        "/members/me/boards",
        query={"filter": "open", "fields": "id,name,closed,url"},
        output=lambda out: [b["name"] for b in out] == ["Roadmap"],
    ),
    Case(
        "trello",
        "list_lists",
        {"board_id": trello.BOARD_ID},
        "GET",
        f"/boards/{trello.BOARD_ID}/lists",
        output=lambda out: [row["name"] for row in out] == ["To do", "Done"],
    ),
    # Typeform
    Case(
        "typeform",
        "list_responses",
        {"form_id": typeform.FORM_ID, "page_size": 2, "completed": True},
        "GET",
        f"/forms/{typeform.FORM_ID}/responses",
        query={"page_size": "2", "completed": "true"},
        output=lambda out: [r["token"] for r in out["items"]] == ["token0003", "token0002"],
    ),
    Case(
        "typeform",
        "list_forms",
        {"search": "survey"},
        "GET",
        "/forms",
        query={"search": "survey"},
        output=lambda out: [f["id"] for f in out["items"]] == [typeform.FORM_ID],
    ),
    # Zoho CRM
    Case(
        "zoho_crm",
        "create_record",
        {
            "module": "Leads",
            "record": {"Last_Name": "Lovelace", "Company": "Analytical Engines"},
            "trigger": [],
        },
        "POST",
        "/Leads",
        json={"data": [{"Last_Name": "Lovelace", "Company": "Analytical Engines"}], "trigger": []},
        output=lambda out: out["code"] == "SUCCESS" and out["details"]["id"],
    ),
    Case(
        "zoho_crm",
        "search_records",
        {"module": "Leads", "email": "ada@example.com"},
        "GET",
        "/Leads/search",
        query={"email": "ada@example.com"},
        setup=_zoho_lead,
        output=lambda out: [r["Last_Name"] for r in out["data"]] == ["Lovelace"],
    ),
    # Zoom
    Case(
        "zoom",
        "create_meeting",
        {
            "topic": "Kickoff",
            "start_time": "2025-07-01T15:00:00Z",
            "duration": 45,
            "timezone": "Europe/Berlin",
            "settings": {"waiting_room": True},
        },
        "POST",
        "/users/me/meetings",
        json={
            "topic": "Kickoff",
            "type": 2,
            "start_time": "2025-07-01T15:00:00Z",
            "duration": 45,
            "timezone": "Europe/Berlin",
            "settings": {"waiting_room": True},
        },
        output=lambda out: out["join_url"].startswith("https://") and out["topic"] == "Kickoff",
    ),
    Case(
        "zoom",
        "list_meetings",
        {"type": "scheduled", "page_size": 10},
        "GET",
        "/users/me/meetings",
        query={"type": "scheduled", "page_size": "10"},
        setup=_zoom_meeting,
        output=lambda out: out["total_records"] == 1 and out["meetings"][0]["topic"] == "Standup",
    ),
    # LinkedIn Ads
    Case(
        "linkedin_ads",
        "list_ad_accounts",
        {"page_size": 1},
        "GET",
        "/adAccounts",
        query={"q": "search", "pageSize": "1"},
        output=lambda out: len(out["elements"]) == 1 and out["metadata"]["nextPageToken"] == "1",
    ),
    Case(
        "linkedin_ads",
        "list_campaigns",
        {"account_id": linkedin_ads.ACCOUNT_ID},
        "GET",
        f"/adAccounts/{linkedin_ads.ACCOUNT_ID}/adCampaigns",
        query={"q": "search"},
        output=lambda out: [c["name"] for c in out["elements"]] == ["Campaign 1", "Campaign 2", "Campaign 3"],
    ),
    Case(
        "linkedin_ads",
        "get_ad_account",
        {"account_id": linkedin_ads.ACCOUNT_ID},
        "GET",
        f"/adAccounts/{linkedin_ads.ACCOUNT_ID}",
        output=lambda out: out["name"] == "Account 1" and out["currency"] == "USD",
    ),
]


# -- running them ------------------------------------------------------------------------------


@dataclass
class Served:
    emulator: Any
    recorder: Recorder
    url: str


@pytest.fixture
def serve(serve_emulator: Any) -> Callable[[str], Any]:
    async def start(integration: str, emulator: Any = None) -> Served:
        emulator = emulator or PROVIDERS[integration].emulator()
        recorder = Recorder(emulator.app)
        return Served(emulator, recorder, await serve_emulator(recorder))

    return start


def context(
    http: httpx.AsyncClient,
    served: Served,
    integration: str,
    credentials: dict[str, Any] | None = None,
    **extra: Any,
) -> ConnectorContext:
    provider = PROVIDERS[integration]
    return ConnectorContext(
        http=http,
        base_url=served.url + provider.base,
        credentials=dict(provider.credentials if credentials is None else credentials),
        parameters=dict(provider.parameters),
        caller="action",
        **extra,
    )


def _validate(schema: dict[str, Any], value: Any) -> None:
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(value)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
async def test_action_sends_the_documented_request_and_returns_its_output(case: Case, http, serve):
    connector = CONNECTORS[case.integration]
    spec = connector.SPEC.action(case.action)
    assert spec is not None
    _validate(spec.input_schema, case.input)  # what the actions service checks first
    served = await serve(case.integration)
    if case.setup:
        case.setup(served.emulator)

    output = await connector.run_action(context(http, served, case.integration), case.action, case.input)

    provider = PROVIDERS[case.integration]
    seen = served.recorder.last()
    assert (seen.method, seen.path) == (case.method, provider.base + case.path)
    where, name, value = provider.auth
    query = dict(seen.query)
    if where == "header":
        assert seen.headers.get(name) == value
    else:
        assert query.pop(name) == value
        assert "authorization" not in seen.headers
    assert query == case.query
    for header, expected in provider.headers.items():
        assert seen.headers.get(header) == expected
    if case.form is not None:
        assert seen.form == case.form
    elif case.json is NO_BODY:
        assert seen.body == b""
    else:
        assert seen.headers["content-type"] == "application/json"
        assert seen.json == case.json
    assert case.output(output), output
    _validate(spec.output_schema, output)


def test_every_action_of_these_integrations_has_a_case():
    declared = {(name, action.name) for name in INTEGRATIONS for action in CONNECTORS[name].SPEC.actions}
    assert {(case.integration, case.action) for case in CASES} == declared
    assert all(len(CONNECTORS[name].SPEC.actions) >= 2 for name in INTEGRATIONS)


@pytest.mark.parametrize("name", INTEGRATIONS)
def test_action_schemas_are_valid_json_schemas_and_tight(name):
    for action in CONNECTORS[name].SPEC.actions:
        jsonschema.Draft202012Validator.check_schema(action.input_schema)
        jsonschema.Draft202012Validator.check_schema(action.output_schema)
        schema = action.input_schema
        assert schema["type"] == "object" and schema.get("additionalProperties") is False, action.name
        for prop, rule in schema.get("properties", {}).items():
            if rule.get("type") == "string" and not {"enum", "pattern", "format"} & set(rule):
                assert "maxLength" in rule, f"{action.name}.{prop} has no maxLength"
        # Lists, gets, searches and queries change nothing; creates, sends and adds do.
        reads = action.name.startswith(("list_", "get_", "search_", "query"))
        assert action.read_only == reads, action.name
        assert action.description and action.display_name


@pytest.mark.parametrize(
    ("integration", "action", "refused"),
    [
        ("slack", "send_message", {"channel": "C1"}),  # no text
        ("slack", "send_message", {"channel": "C1", "text": "hi", "as_user": True}),  # unknown field
        ("slack", "list_channels", {"limit": 5000}),
        ("twilio", "send_sms", {"to": "+15558675310", "body": "hi"}),  # neither from nor a service
        ("twilio", "send_sms", {"to": "0800 not a number", "from": "+15005550006", "body": "hi"}),
        ("stripe", "list_customers", {"starting_after": "../v1/charges"}),
        ("sendgrid", "send_email", {"from": {"email": "a@b.c"}, "to": [], "subject": "s", "content": []}),
        ("salesforce", "create_record", {"sobject": "Account/../../x", "fields": {"Name": "A"}}),
        ("salesforce", "query", {"soql": "DELETE FROM Account"}),
        ("zendesk", "create_ticket", {"subject": "s", "comment": "c", "priority": "whenever"}),
        ("zoho_crm", "search_records", {"module": "Leads"}),  # nothing to search for
        (
            "openai",
            "create_chat_completion",
            {"model": "gpt-4o", "messages": [{"role": "tool", "content": "x"}]},
        ),
    ],
)
def test_input_schemas_refuse_bad_input(integration, action, refused):
    spec = CONNECTORS[integration].SPEC.action(action)
    with pytest.raises(jsonschema.ValidationError):
        _validate(spec.input_schema, refused)


# -- a created record is there for the next call ------------------------------------------------


async def test_a_created_stripe_customer_is_listed_by_email(http, serve):
    served = await serve("stripe")
    ctx = context(http, served, "stripe")
    created = await CONNECTORS["stripe"].run_action(ctx, "create_customer", {"email": "new@example.com"})
    listed = await CONNECTORS["stripe"].run_action(ctx, "list_customers", {"email": "new@example.com"})
    assert [c["id"] for c in listed["data"]] == [created["id"]]
    fetched = await CONNECTORS["stripe"].run_action(ctx, "get_customer", {"customer_id": created["id"]})
    assert fetched["email"] == "new@example.com"


async def test_a_created_notion_page_is_found_by_querying_its_database(http, serve):
    served = await serve("notion")
    ctx = context(http, served, "notion")
    title = {"title": [{"text": {"content": "Launch"}}]}
    page = await CONNECTORS["notion"].run_action(
        ctx, "create_page", {"database_id": DATABASE_ID.replace("-", ""), "properties": {"Name": title}}
    )
    found = await CONNECTORS["notion"].run_action(
        ctx,
        "query_database",
        {"database_id": DATABASE_ID, "filter": {"property": "Name", "title": {"contains": "Laun"}}},
    )
    assert [r["id"] for r in found["results"]] == [page["id"]]


async def test_a_created_salesforce_record_is_found_by_soql(http, serve):
    served = await serve("salesforce")
    ctx = context(http, served, "salesforce")
    created = await CONNECTORS["salesforce"].run_action(
        ctx, "create_record", {"sobject": "Lead", "fields": {"LastName": "Hopper", "Company": "Navy"}}
    )
    found = await CONNECTORS["salesforce"].run_action(ctx, "query", {"soql": "SELECT Id, LastName FROM Lead"})
    assert [(r["Id"], r["LastName"]) for r in found["records"]] == [(created["id"], "Hopper")]


async def test_a_created_linear_issue_is_read_by_the_issues_stream(http, serve):
    served = await serve("linear")
    ctx = context(http, served, "linear")
    created = await CONNECTORS["linear"].run_action(
        ctx, "create_issue", {"team_id": "team-eng", "title": "Flaky test", "description": "Fails on CI"}
    )
    batches, _ = await collect(CONNECTORS["linear"], ctx, "issues")
    assert [(r["id"], r["title"]) for b in batches for r in b] == [(created["issue"]["id"], "Flaky test")]


async def test_sent_twilio_message_comes_first_in_the_list(http, serve):
    served = await serve("twilio")
    ctx = context(http, served, "twilio")
    sent = await CONNECTORS["twilio"].run_action(
        ctx, "send_sms", {"to": "+15558675310", "messaging_service_sid": "MG" + "a" * 32, "body": "hi"}
    )
    assert served.recorder.last().form == {
        "To": "+15558675310",
        "MessagingServiceSid": "MG" + "a" * 32,
        "Body": "hi",
    }
    listed = await CONNECTORS["twilio"].run_action(ctx, "list_messages", {"to": "+15558675310"})
    assert [m["sid"] for m in listed["messages"]] == [sent["sid"]]


async def test_created_zendesk_ticket_takes_comments(http, serve):
    served = await serve("zendesk")
    ctx = context(http, served, "zendesk")
    ticket = await CONNECTORS["zendesk"].run_action(
        ctx, "create_ticket", {"subject": "Refund", "comment": "Please"}
    )
    await CONNECTORS["zendesk"].run_action(
        ctx, "add_comment", {"ticket_id": ticket["id"], "body": "Done", "status": "solved"}
    )
    fetched = await CONNECTORS["zendesk"].run_action(ctx, "get_ticket", {"ticket_id": ticket["id"]})
    assert fetched["status"] == "solved"
    assert [c["body"] for c in served.emulator.comments[ticket["id"]]] == ["Please", "Done"]


async def test_created_records_are_found_by_the_next_call(http, serve):
    """Pipedrive, Shopify, Zoho, QuickBooks, Zoom and Mailchimp: create, then read it back."""
    pipedrive_ctx = context(http, await serve("pipedrive"), "pipedrive")
    person = await CONNECTORS["pipedrive"].run_action(
        pipedrive_ctx, "create_person", {"name": "Grace Hopper"}
    )
    found = await CONNECTORS["pipedrive"].run_action(pipedrive_ctx, "search_persons", {"term": "grace"})
    assert [i["item"]["id"] for i in found["items"]] == [person["id"]]

    shopify_ctx = context(http, await serve("shopify"), "shopify")
    product = await CONNECTORS["shopify"].run_action(shopify_ctx, "create_product", {"title": "Tea Pot"})
    fetched = await CONNECTORS["shopify"].run_action(
        shopify_ctx, "get_product", {"product_id": product["id"]}
    )
    assert fetched["title"] == "Tea Pot"

    zoho_ctx = context(http, await serve("zoho_crm"), "zoho_crm")
    lead = {"Last_Name": "Hopper", "Email": "grace@example.com"}
    created = await CONNECTORS["zoho_crm"].run_action(
        zoho_ctx, "create_record", {"module": "Leads", "record": lead}
    )
    searched = await CONNECTORS["zoho_crm"].run_action(
        zoho_ctx, "search_records", {"module": "Leads", "criteria": "(Last_Name:equals:Hopper)"}
    )
    assert [r["id"] for r in searched["data"]] == [created["details"]["id"]]

    qb_ctx = context(http, await serve("quickbooks"), "quickbooks")
    customer = await CONNECTORS["quickbooks"].run_action(
        qb_ctx, "create_customer", {"DisplayName": "Hopper Co"}
    )
    queried = await CONNECTORS["quickbooks"].run_action(
        qb_ctx, "query", {"query": "select * from Customer where DisplayName = 'Hopper Co'"}
    )
    assert [c["Id"] for c in queried["Customer"]] == [customer["Id"]]

    zoom_ctx = context(http, await serve("zoom"), "zoom")
    meeting = await CONNECTORS["zoom"].run_action(
        zoom_ctx, "create_meeting", {"topic": "Retro", "start_time": "2025-07-02T10:00:00Z", "duration": 30}
    )
    listed = await CONNECTORS["zoom"].run_action(zoom_ctx, "list_meetings", {})
    assert [m["id"] for m in listed["meetings"]] == [meeting["id"]]

    mailchimp_served = await serve("mailchimp")
    mc_ctx = context(http, mailchimp_served, "mailchimp")
    member = {"list_id": "a1b2c3d4e2", "email_address": "grace@example.com", "status": "subscribed"}
    await CONNECTORS["mailchimp"].run_action(mc_ctx, "add_list_member", member)
    audiences = await CONNECTORS["mailchimp"].run_action(mc_ctx, "list_audiences", {})
    assert [a["stats"]["member_count"] for a in audiences["lists"]] == [0, 1, 0]

    trello_served = await serve("trello")
    trello_ctx = context(http, trello_served, "trello")
    card = await CONNECTORS["trello"].run_action(
        trello_ctx, "create_card", {"list_id": trello.LIST_ID, "name": "Ship"}
    )
    assert trello_served.emulator.cards == [card]

    monday_served = await serve("monday")
    monday_ctx = context(http, monday_served, "monday")
    item = await CONNECTORS["monday"].run_action(
        monday_ctx, "create_item", {"board_id": monday.BOARD_ID, "item_name": "Ship"}
    )
    assert [i["id"] for i in monday_served.emulator.items] == [item["id"]]


# -- refusals ----------------------------------------------------------------------------------


async def test_slack_ok_false_is_a_provider_error_with_slacks_reason(http, serve):
    served = await serve("slack")
    with pytest.raises(ProviderError) as caught:
        await CONNECTORS["slack"].run_action(
            context(http, served, "slack"), "send_message", {"channel": "C0NOPE", "text": "hi"}
        )
    assert "channel_not_found" in caught.value.message
    assert not isinstance(caught.value, ProviderAuthError)


async def test_slack_invalid_auth_is_refused_and_the_token_is_not_repeated(http, serve):
    served = await serve("slack")
    bad = "xoxb-not-a-real-token"
    with pytest.raises(ProviderError) as caught:
        await CONNECTORS["slack"].run_action(
            context(http, served, "slack", {"access_token": bad}), "list_channels", {}
        )
    assert "invalid_auth" in caught.value.message and bad not in str(caught.value)


@pytest.mark.parametrize(
    ("integration", "action", "input", "credentials"),
    [
        ("openai", "list_models", {}, {"secret_text": "sk-wrong"}),
        ("stripe", "create_customer", {"email": "a@example.com"}, {"secret_text": "sk_test_wrong"}),
        ("sendgrid", "send_email", _input("sendgrid", "send_email"), {"secret_text": "SG.wrong"}),
        ("pipedrive", "create_deal", {"title": "x"}, {"secret_text": "0" * 40}),
        (
            "twilio",
            "send_sms",
            _input("twilio", "send_sms"),
            {"username": twilio.ACCOUNT_SID, "password": "0" * 32},
        ),
        ("zoom", "list_meetings", {}, {"access_token": "expired"}),
        ("mailchimp", "list_audiences", {}, {"api_key": "f" * 32 + "-us6"}),
        ("quickbooks", "get_invoice", {"invoice_id": "130"}, {"access_token": "expired"}),
    ],
)
async def test_a_refused_credential_is_an_auth_error_with_status_401(
    http, serve, integration, action, input, credentials
):
    served = await serve(integration)
    with pytest.raises(ProviderAuthError) as caught:
        await CONNECTORS[integration].run_action(
            context(http, served, integration, credentials), action, input
        )
    assert caught.value.status == 401


async def test_a_401_refreshes_the_token_once_and_retries(http, serve):
    served = await serve("zendesk")
    refreshed: list[int] = []

    async def refresh() -> dict[str, Any]:
        refreshed.append(1)
        return {"access_token": zendesk.TOKEN}

    ctx = context(http, served, "zendesk", {"access_token": "stale"}, refresh_credentials=refresh)
    ticket = await CONNECTORS["zendesk"].run_action(ctx, "get_ticket", {"ticket_id": 1001})
    assert ticket["id"] == 1001 and refreshed == [1]
    assert [r.headers["authorization"] for r in served.recorder.requests] == [
        "Bearer stale",
        f"Bearer {zendesk.TOKEN}",
    ]


async def test_a_429_is_waited_out_and_retried(http, serve):
    served = await serve("zoom")
    served.emulator.api.controls.rate_limit_once(retry_after=0)
    listed = await CONNECTORS["zoom"].run_action(context(http, served, "zoom"), "list_meetings", {})
    assert listed["total_records"] == 0 and len(served.recorder.requests) == 2


@pytest.mark.parametrize(
    ("integration", "action", "input", "status", "reason"),
    [
        ("stripe", "get_customer", {"customer_id": "cus_missing"}, 404, "No such customer"),
        ("twilio", "send_sms", {"to": "+15558675310", "body": "hi", "from": ""}, 400, "From"),
        ("linear", "create_issue", {"team_id": "team-nope", "title": "x"}, 400, "Entity not found"),
        (
            "salesforce",
            "create_record",
            {"sobject": "Contact", "fields": {"Email": "a@b.c"}},
            400,
            "LastName",
        ),
        ("zendesk", "get_ticket", {"ticket_id": 99}, 404, "RecordNotFound"),
        ("shopify", "get_order", {"order_id": 1}, 404, "Not Found"),
        (
            "openai",
            "create_chat_completion",
            {"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]},
            404,
            "does not exist",
        ),
        (
            "notion",
            "create_page",
            {"database_id": "f" * 32, "properties": {"Name": {}}},
            404,
            "Could not find database",
        ),
        (
            "mailchimp",
            "add_list_member",
            {"list_id": "nope", "email_address": "a@b.co", "status": "subscribed"},
            404,
            "Resource Not Found",
        ),
        ("quickbooks", "query", {"query": "select * from Nothing"}, 400, "Error parsing query"),
        ("linkedin_ads", "get_ad_account", {"account_id": 1}, 404, "Not found"),
        ("trello", "create_card", {"list_id": "f" * 24, "name": "x"}, 400, "invalid value for idList"),
    ],
)
async def test_provider_refusals_are_provider_errors_with_the_providers_reason(
    http, serve, integration, action, input, status, reason
):
    served = await serve(integration)
    with pytest.raises(ProviderError) as caught:
        await CONNECTORS[integration].run_action(context(http, served, integration), action, input)
    assert caught.value.status == status
    assert reason in caught.value.message


async def test_a_duplicate_is_refused_by_the_provider(http, serve):
    served = await serve("xero")
    ctx = context(http, served, "xero")
    await CONNECTORS["xero"].run_action(ctx, "create_contact", {"name": "Acme"})
    with pytest.raises(ProviderError) as caught:
        await CONNECTORS["xero"].run_action(ctx, "create_contact", {"name": "Acme"})
    assert caught.value.status == 400


async def test_a_search_without_matches_answers_an_empty_output(http, serve):
    served = await serve("zoho_crm")  # Zoho answers 204 with no body
    output = await CONNECTORS["zoho_crm"].run_action(
        context(http, served, "zoho_crm"), "search_records", {"module": "Leads", "word": "nobody"}
    )
    assert output == {}


async def test_graphql_errors_with_http_200_are_provider_errors(http, serve):
    """api.error.errors_path: monday answers an unknown board with 200, a null item and an
    errors list; that is a failure, not an output of null."""
    served = await serve("monday")
    with pytest.raises(ProviderError) as caught:
        await CONNECTORS["monday"].run_action(
            context(http, served, "monday"), "create_item", {"board_id": "999", "item_name": "x"}
        )
    assert "Board not found: 999" in caught.value.message
    assert served.emulator.items == []
